"""Cues both languages share: emoji, repeated punctuation, shouting, questions."""

from __future__ import annotations

import re

# Weights on the lexicon scale of chinese.py (about -3 .. 3 per word).
EMOJI: dict[str, float] = {
    "😡": -3.0,
    "🤬": -3.0,
    "😠": -2.5,
    "💢": -2.0,
    "😤": -2.0,
    "👎": -2.5,
    "🙄": -2.0,
    "😒": -2.0,
    "😞": -2.0,
    "😔": -1.5,
    "😢": -2.0,
    "😭": -2.0,
    "😩": -2.0,
    "😫": -2.0,
    "🤮": -3.0,
    "💩": -3.0,
    "😓": -1.5,
    "😑": -1.5,
    "😐": -0.5,
    "🤦": -2.0,
    "👍": 2.0,
    "👏": 2.0,
    "❤": 2.5,
    "😍": 2.5,
    "🥰": 2.5,
    "😊": 2.0,
    "😄": 2.0,
    "😁": 2.0,
    "😀": 1.5,
    "🙂": 1.0,
    "😘": 2.0,
    "🎉": 2.0,
    "💯": 2.0,
    "🌟": 1.5,
    "⭐": 1.0,
    "🙏": 0.5,
    "💕": 2.0,
    "💖": 2.0,
    "🤩": 2.5,
    "👌": 0.5,
    "🔥": 1.5,
    "🥳": 2.5,
}
# Emoji that laugh: with a complaint they are sarcasm, alone a joke.
LAUGHING = ("😂", "🤣", "😅", "🙃", "😏")

REPEATED_MARKS = re.compile(r"[!！]{2,}|[?？]{2,}|[?？][!！]|[!！][?？]")
QUESTION_END = re.compile(r"(?:[?？]|[吗嘛么呢]\s*[?？]?)\s*$")
LATIN_WORD = re.compile(r"[A-Za-z]{3,}")


def emoji_score(text: str) -> float:
    """The emoji's weights, each emoji counted once (a row of 😡 is one 😡, amplified)."""
    found = [weight for emoji, weight in EMOJI.items() if emoji in text]
    return sum(found)


LAUGHING_WORDS = re.compile(r"\b(lol|lmao|haha+|hehe)\b|哈哈", re.I)


def has_laughing_emoji(text: str) -> bool:
    """😂, 🙃, "lol", "哈哈": beside a complaint they mock."""
    return any(emoji in text for emoji in LAUGHING) or LAUGHING_WORDS.search(text) is not None


def exclaims(text: str) -> bool:
    """ "!!!", "？？？", "?!": the shopper raises their voice."""
    return REPEATED_MARKS.search(text) is not None


def shouts(text: str) -> bool:
    """Two or more ALL-CAPS words of three letters or more (not order numbers)."""
    words = [w for w in LATIN_WORD.findall(text) if not w.isdigit()]
    capitals = [w for w in words if w.isupper()]
    return len(capitals) >= 2 and len(capitals) >= len(words) / 2


def is_question(text: str) -> bool:
    return QUESTION_END.search(text.strip()) is not None
