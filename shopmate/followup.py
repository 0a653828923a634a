"""Elliptical follow-up questions: "and what about returns?", "那运费呢", "香港呢？".

A shopper asks the second question of a topic the way people do, leaning on the first.
Read alone, "and what about returns?" is mostly framing ("and what about") and one
topic word; retrieval then matches the framing and finds nothing relevant. This module
says whether a message is such a follow-up and what its topic words are, so a caller
can search with the topic alone and, if that is not enough, with the previous
question beside it.
"""

from __future__ import annotations

import re

# Framing a follow-up starts or ends with. Order matters: longer phrases first.
_EN_LEADS = (
    "and what about",
    "and how about",
    "what about",
    "how about",
    "and what if",
    "what if",
    "and for",
    "and also",
    "also",
    "and",
    "then",
    "ok and",
    "okay and",
    "same for",
    "same question for",
)
_ZH_LEADS = (
    "那如果是",
    "那要是",
    "那么",
    "那如果",
    "那",
    "还有",
    "另外",
    "再问一下",
    "再问下",
    "如果是",
    "换成",
    "要是",
)
_ZH_TAILS = ("怎么样", "怎么说", "如何", "呢", "咋样", "咋说", "嘞", "勒")
_EN_TAILS = ("then", "too", "as well")
_PUNCTUATION = " \t?？!！.。,，~～…"
# Longer than this, a message is a question of its own, whatever its first word.
_MAX_FOLLOW_UP_CHARS = {"zh": 14, "en": 48}


def _strip_punctuation(text: str) -> str:
    return text.strip(_PUNCTUATION)


def follow_up_topic(text: str, language: str) -> str | None:
    """The topic of an elliptical follow-up ("returns" of "and what about returns?"),
    or None when `text` reads as a question of its own."""
    body = _strip_punctuation(text)
    if not body or len(body) > _MAX_FOLLOW_UP_CHARS.get(language, 48):
        return None
    lowered = body.lower()
    framed = False
    if language == "en":
        for lead in _EN_LEADS:
            if lowered == lead:
                return None
            if lowered.startswith(lead + " "):
                lowered, framed = lowered[len(lead) + 1 :], True
                break
        for tail in _EN_TAILS:
            if lowered.endswith(" " + tail):
                lowered, framed = lowered[: -len(tail) - 1], True
        topic = _strip_punctuation(lowered)
    else:
        for lead in _ZH_LEADS:
            if lowered.startswith(lead) and len(lowered) > len(lead):
                lowered, framed = lowered[len(lead) :], True
                break
        for tail in _ZH_TAILS:
            if lowered.endswith(tail) and len(lowered) > len(tail):
                lowered, framed = lowered[: -len(tail)], True
                break
        topic = _strip_punctuation(lowered)
    if not framed or not topic:
        return None
    # "what about it" / "那这个呢" name no topic: the previous question is the topic.
    if re.fullmatch(r"(it|that|this|them|those)|(这个|那个|它|这|那)", topic):
        return ""
    return topic
