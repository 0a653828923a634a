"""Helpers every action module shares."""

from __future__ import annotations

from rasa_sdk import Tracker

from shopmate.settings import get_settings

SUPPORTED_LANGUAGES = ("zh", "en")


def shopper_language(tracker: Tracker) -> str:
    """The language the shopper is writing in (set from each message by the NLU)."""
    language = tracker.get_slot("language")
    if language in SUPPORTED_LANGUAGES:
        return str(language)
    return get_settings().default_language


def latest_text(tracker: Tracker) -> str:
    return str(tracker.latest_message.get("text") or "")


def previous_user_text(tracker: Tracker) -> str | None:
    """What the shopper said before their latest message (a follow-up leans on it)."""
    user_texts = [
        str(event.get("text") or "")
        for event in tracker.events
        if event.get("event") == "user" and not str(event.get("text") or "").startswith("/")
    ]
    return user_texts[-2] if len(user_texts) >= 2 and user_texts[-2] else None
