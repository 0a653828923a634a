"""What the shopper said, and in which language."""

from __future__ import annotations

from rasa_sdk import Tracker

from actions.support.slots import LANGUAGE_SLOT

SUPPORTED_LANGUAGES = ("zh", "en")
# The store's first language: the `language` slot's initial value (domain/core.yml),
# which a tracker without the slot stands for.
FIRST_LANGUAGE = "zh"


def shopper_language(tracker: Tracker) -> str:
    """The language the shopper is writing in (set from each message by the NLU)."""
    language = tracker.get_slot(LANGUAGE_SLOT)
    return str(language) if language in SUPPORTED_LANGUAGES else FIRST_LANGUAGE


def latest_text(tracker: Tracker) -> str:
    """The latest message as sent (a button's payload included)."""
    return str(tracker.latest_message.get("text") or "")


def message_text(tracker: Tracker) -> str:
    """The shopper's words; a button payload ("/intent{...}") carries none."""
    text = latest_text(tracker).strip()
    return "" if text.startswith("/") else text


def previous_user_text(tracker: Tracker) -> str | None:
    """What the shopper said before their latest message (a follow-up leans on it)."""
    user_texts = [
        str(event.get("text") or "")
        for event in tracker.events
        if event.get("event") == "user" and not str(event.get("text") or "").startswith("/")
    ]
    return user_texts[-2] if len(user_texts) >= 2 and user_texts[-2] else None


def entity_values(tracker: Tracker, name: str) -> list[str]:
    """The values of entity `name` in the latest message."""
    entities = tracker.latest_message.get("entities") or []
    return [str(e.get("value")) for e in entities if e.get("entity") == name and e.get("value")]
