"""Store policy questions answered from the knowledge base, phrased by the generator.

Retrieval finds the article and the chunks that match; the generator phrases an answer
from those chunks only, and its output is sent only if it passes the grounding and
safety checks (otherwise the article text itself is the answer). Every answer cites
the article's title. Low retrieval confidence → "I don't know, shall I get a person?".
A message the NLU did not understand (nlu_fallback) gets the same chance before the
bot asks to rephrase.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.support.conversation import latest_text, previous_user_text, shopper_language
from actions.support.services import Apologised, Lazy, lazy, or_apologise
from shopmate.knowledge import KnowledgeAnswer, KnowledgeBase
from shopmate.llm import GenerationRequest, Generator, TaskKind, TemplateGenerator

logger = logging.getLogger(__name__)

# The chunks the generator may use (the article's best ones), and a cap on their text.
MAX_FACT_CHUNKS = 3


class KnowledgeAnswerMixin:
    """Retrieval, then a grounded answer. The composition root gives the knowledge base
    and the configured generator; without a generator, answers are the templates."""

    def __init__(
        self,
        knowledge_base: KnowledgeBase,
        generator: Generator | Lazy[Generator] | None = None,
    ) -> None:
        self.knowledge_base = knowledge_base
        self._generator = lazy(generator) if generator is not None else Lazy(TemplateGenerator)

    @property
    def generator(self) -> Generator:
        return self._generator.get()

    def lookup(self, tracker: Tracker) -> KnowledgeAnswer:
        """Blocking (embedding and BM25 are CPU work): call it off the event loop."""
        return self.knowledge_base.answer_in_context(
            latest_text(tracker), shopper_language(tracker), previous_user_text(tracker)
        )

    async def retrieve(self, tracker: Tracker) -> KnowledgeAnswer:
        return await asyncio.to_thread(self.lookup, tracker)

    async def send_answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, found: KnowledgeAnswer
    ) -> None:
        article = found.article
        if article is None:
            return
        # Body passages only: the sample-question chunks are not facts.
        passages = [scored.chunk.text for scored in found.chunks if scored.chunk.kind == "body"]
        chunk_texts = passages[:MAX_FACT_CHUNKS]
        generation = await self.generator.generate(
            GenerationRequest(
                task=TaskKind.ANSWER_FROM_FACTS,
                language="en" if shopper_language(tracker) == "en" else "zh",
                facts=[f"{article.title}: {article.body}", *chunk_texts],
                template=article.body,
                user_text=latest_text(tracker),
            )
        )
        dispatcher.utter_message(
            response="utter_faq_answer", answer=generation.text, title=article.title
        )


class ActionAnswerFaq(KnowledgeAnswerMixin, Action):
    """Answer a policy question from the knowledge base, or admit not knowing."""

    def name(self) -> str:
        return "action_answer_faq"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        found = await or_apologise(
            dispatcher, "utter_faq_unavailable", "knowledge base", self.lookup, tracker
        )
        if isinstance(found, Apologised):
            return []
        if not found.answerable or found.article is None:
            dispatcher.utter_message(response="utter_faq_not_found")
            return []
        await self.send_answer(dispatcher, tracker, found)
        return []


class ActionAnswerFallback(KnowledgeAnswerMixin, Action):
    """A message the NLU did not understand may still be a policy question.

    Answers it when the knowledge base is confident, and says so in `kb_answered`;
    otherwise sends nothing, and the rules ask to rephrase or offer a person.
    """

    def name(self) -> str:
        return "action_answer_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        try:
            found = await self.retrieve(tracker)
        except Exception as error:  # noqa: BLE001 - fall back to asking to rephrase
            logger.error("knowledge base unavailable: %s", type(error).__name__)
            return [SlotSet("kb_answered", False)]
        if not found.answerable or found.article is None:
            return [SlotSet("kb_answered", False)]
        await self.send_answer(dispatcher, tracker, found)
        return [SlotSet("kb_answered", True)]
