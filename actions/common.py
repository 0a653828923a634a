"""Helpers every action module shares."""

from __future__ import annotations

from rasa_sdk import Tracker

from actions.settings import get_settings

SUPPORTED_LANGUAGES = ("zh", "en")


def shopper_language(tracker: Tracker) -> str:
    """The language the shopper is writing in (set from each message by the NLU)."""
    language = tracker.get_slot("language")
    if language in SUPPORTED_LANGUAGES:
        return str(language)
    return get_settings().default_language


def latest_text(tracker: Tracker) -> str:
    return str(tracker.latest_message.get("text") or "")
