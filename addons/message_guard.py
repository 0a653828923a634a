"""Rasa NLU component that catches messages the bot should not try to understand.

A message longer than ``max_chars`` (default 1000, the widget's own limit) is not
classified: it becomes ``nlu_fallback`` with an ``input_problem: too_long`` entity, and
a rule answers with a polite request for a shorter message in the shopper's language.
It runs last in the pipeline so it overrides whatever the classifiers guessed.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    ENTITIES,
    EXTRACTOR,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from addons.entities import whole_message_entity

FALLBACK_INTENT = "nlu_fallback"
INPUT_PROBLEM_ENTITY = "input_problem"
TOO_LONG = "too_long"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class MessageGuard(GraphComponent):
    """Turns over-long messages into a fallback with a reason."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.max_chars = int(config["max_chars"])

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"max_chars": 1000}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> MessageGuard:
        return cls(config)

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if len(text) <= self.max_chars:
                continue
            intent = {INTENT_NAME_KEY: FALLBACK_INTENT, PREDICTED_CONFIDENCE_KEY: 1.0}
            message.set(INTENT, intent, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [intent], add_to_output=True)
            entity = whole_message_entity(
                INPUT_PROBLEM_ENTITY, TOO_LONG, text, self.__class__.__name__
            )
            # Keep only the language tag: entities guessed from an unreadable text
            # must not fill slots.
            kept = [e for e in message.get(ENTITIES, []) if e.get(EXTRACTOR) == "LanguageDetector"]
            message.set(ENTITIES, [*kept, entity], add_to_output=True)
        return messages
