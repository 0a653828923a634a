"""Decide whether a shopper's message is Chinese or English.

Pure Python (no Rasa import) so the rule can be tested in either runtime. Script
counts decide the clear cases; the lingua detector settles mixed messages where
neither script dominates. Messages that carry no language at all (an order number,
a size code, an emoji) return ``None`` so the conversation keeps its language.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Optional

ZH = "zh"
EN = "en"

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
# Tokens that say nothing about the shopper's language: URLs, e-mail addresses,
# codes with digits (A1234567, iPhone15) and short upper-case size or carrier codes.
_NEUTRAL = re.compile(
    r"https?://\S+|\S+@\S+|\b[A-Za-z]*\d[A-Za-z0-9_-]*|\b(?:XXS|XS|S|M|L|XL|XXL|XXXL|UPS|DHL|EMS)\b"
)
# Below this ratio of Han characters to Latin words (or above its inverse) one
# script clearly dominates; in between, the statistical detector decides.
_DOMINANCE = 2.0


@lru_cache(maxsize=1)
def _detector() -> Any:
    """Build the lingua detector once; limited to the two languages we answer in."""
    from lingua import Language, LanguageDetectorBuilder

    return (
        LanguageDetectorBuilder.from_languages(Language.CHINESE, Language.ENGLISH)
        .with_low_accuracy_mode()
        .build()
    )


def detect_language(text: str) -> Optional[str]:
    """Return ``"zh"``, ``"en"`` or ``None`` when the text carries no language."""
    if not text:
        return None
    content = _NEUTRAL.sub(" ", text)
    han = len(_HAN.findall(content))
    latin = len(_LATIN_WORD.findall(content))
    if han == 0 and latin == 0:
        return None
    if latin == 0 or han >= _DOMINANCE * latin:
        return ZH
    if han == 0 or latin >= _DOMINANCE * han:
        return EN
    return _detect_mixed(content)


def _detect_mixed(text: str) -> str:
    from lingua import Language

    detected = _detector().detect_language_of(text)
    return EN if detected == Language.ENGLISH else ZH
