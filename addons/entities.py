"""Entities that describe a whole message (its language, why it was not read)."""

from __future__ import annotations

from typing import Any

from rasa.shared.nlu.constants import (
    ENTITY_ATTRIBUTE_CONFIDENCE,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
)


def whole_message_entity(entity: str, value: str, text: str, extractor: str) -> dict[str, Any]:
    """An entity spanning the whole text, as Rasa's extractors report entities."""
    return {
        ENTITY_ATTRIBUTE_TYPE: entity,
        ENTITY_ATTRIBUTE_VALUE: value,
        ENTITY_ATTRIBUTE_START: 0,
        ENTITY_ATTRIBUTE_END: len(text),
        ENTITY_ATTRIBUTE_CONFIDENCE: 1.0,
        EXTRACTOR: extractor,
    }
