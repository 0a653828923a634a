"""Numbers in any form a text writes them (digits, Chinese numerals, English words), normalised."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

from shopmate import numerals
from shopmate.numerals import EN_SMALL, EN_TENS, WRITTEN_DIGITS

# --------------------------------------------------------------------------- numbers

_EN_SMALL = EN_SMALL
_EN_TENS = EN_TENS

_DIGITS = WRITTEN_DIGITS
_CN = r"[零〇一二两三四五六七八九十百千万亿]+"
_EN_UNIT_WORDS = "|".join(sorted(_EN_SMALL, key=len, reverse=True))
_EN_TEN_WORDS = "|".join(_EN_TENS)
_EN = rf"(?:(?:{_EN_TEN_WORDS})(?:[- ](?:{_EN_UNIT_WORDS}))?|{_EN_UNIT_WORDS})"
# Any number: digits, Chinese numerals, English words.
_NUM = rf"(?:{_DIGITS}|{_CN}|\b{_EN}\b)"


def parse_number(text: str) -> Decimal | None:
    """A number as a text writes it ('1,299.00', '二十四', 'twenty-one'; numerals, written)."""
    return numerals.parse_number(text, "written")


def _fmt(value: Decimal) -> str:
    """Canonical text of a number: 12.50 -> '12.5', 300 -> '300'."""
    normalized = value.normalize()
    text = format(normalized, "f")
    return text


def normalize_text(text: str) -> str:
    """NFKC (full-width -> ASCII, ￥ -> ¥), case-folded, whitespace collapsed."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip().casefold()
