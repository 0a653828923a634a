"""Rasa NLU component that tags every message with its language.

It adds a ``language`` entity (value ``zh`` or ``en``) that the ``language`` slot is
mapped from, so responses switch language on the very message that switched.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    ENTITIES,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from addons.entities import whole_message_entity
from addons.language import detect_language

LANGUAGE_ENTITY = "language"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class LanguageDetector(GraphComponent):
    """Adds the detected message language as an entity."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LanguageDetector:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT)
            language = detect_language(text) if text else None
            if language is None:
                continue
            entity = whole_message_entity(LANGUAGE_ENTITY, language, text, self.__class__.__name__)
            message.set(ENTITIES, [*message.get(ENTITIES, []), entity], add_to_output=True)
        return messages
