"""Store policy questions answered from the knowledge base."""

from __future__ import annotations

import asyncio
import logging
from functools import lru_cache
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import latest_text, shopper_language
from actions.services.knowledge import KnowledgeBase
from actions.settings import get_settings

logger = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def default_knowledge_base() -> KnowledgeBase:
    """One knowledge base per process (its indexes load once, lazily or at warm-up)."""
    settings = get_settings()
    return KnowledgeBase(settings.knowledge_dir, settings.faq_min_score)


class ActionAnswerFaq(Action):
    """Answer with the best policy article in the shopper's language, or admit not knowing."""

    def __init__(self, knowledge_base: KnowledgeBase | None = None) -> None:
        self.knowledge_base = knowledge_base or default_knowledge_base()

    def name(self) -> str:
        return "action_answer_faq"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        language = shopper_language(tracker)
        try:
            # BM25 and jieba are CPU work: keep them off the event loop.
            article = await asyncio.to_thread(
                self.knowledge_base.best_answer, latest_text(tracker), language
            )
        except Exception as error:  # noqa: BLE001 - any failure must still get an answer
            # The question text may hold personal data: log the failure type only.
            logger.error("knowledge base unavailable: %s", type(error).__name__)
            dispatcher.utter_message(response="utter_faq_unavailable")
            return []
        if article is None:
            dispatcher.utter_message(response="utter_faq_not_found")
            return []
        dispatcher.utter_message(
            response="utter_faq_answer", answer=article.body, title=article.title
        )
        return []
