"""Numbers in any form a text writes them (digits, Chinese numerals, English words), normalised."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

from shopmate.numerals import ZH_BIG_UNITS, ZH_DIGITS, ZH_UNITS

# --------------------------------------------------------------------------- numbers

_CN_DIGITS = ZH_DIGITS
_CN_UNITS = ZH_UNITS
_CN_BIG = ZH_BIG_UNITS
_EN_SMALL = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
_EN_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}

_DIGITS = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
_CN = r"[零〇一二两三四五六七八九十百千万亿]+"
_EN_UNIT_WORDS = "|".join(sorted(_EN_SMALL, key=len, reverse=True))
_EN_TEN_WORDS = "|".join(_EN_TENS)
_EN = rf"(?:(?:{_EN_TEN_WORDS})(?:[- ](?:{_EN_UNIT_WORDS}))?|{_EN_UNIT_WORDS})"
# Any number: digits, Chinese numerals, English words.
_NUM = rf"(?:{_DIGITS}|{_CN}|\b{_EN}\b)"


def _cn_to_int(text: str) -> int | None:
    if not text or any(
        ch not in _CN_DIGITS and ch not in _CN_UNITS and ch not in _CN_BIG for ch in text
    ):
        return None
    if len(text) > 1 and all(ch in _CN_DIGITS for ch in text):
        # Digit by digit: 二零二六 (a year), 八五 (八五折).
        return int("".join(str(_CN_DIGITS[ch]) for ch in text))
    total = section = number = 0
    for ch in text:
        if ch in _CN_DIGITS:
            number = _CN_DIGITS[ch]
        elif ch in _CN_UNITS:
            section += (number or 1) * _CN_UNITS[ch]  # 十五: "十" alone means 10
            number = 0
        else:
            section += number
            total += (section or 1) * _CN_BIG[ch]
            section = number = 0
    return total + section + number


def _en_to_int(text: str) -> int | None:
    parts = re.split(r"[- ]+", text.lower().strip())
    if len(parts) == 1:
        if parts[0] in _EN_SMALL:
            return _EN_SMALL[parts[0]]
        return _EN_TENS.get(parts[0])
    if len(parts) == 2 and parts[0] in _EN_TENS and parts[1] in _EN_SMALL:
        return _EN_TENS[parts[0]] + _EN_SMALL[parts[1]]
    return None


def parse_number(text: str) -> Decimal | None:
    """'1,299.00', '１２', '七', '二十四', 'twenty-one' -> Decimal; None if not a number."""
    text = unicodedata.normalize("NFKC", text).strip()
    if not text:
        return None
    if re.fullmatch(_DIGITS, text):
        try:
            return Decimal(text.replace(",", ""))
        except InvalidOperation:  # pragma: no cover - the pattern only admits numbers
            return None
    value = _cn_to_int(text)
    if value is None:
        value = _en_to_int(text)
    return None if value is None else Decimal(value)


def _fmt(value: Decimal) -> str:
    """Canonical text of a number: 12.50 -> '12.5', 300 -> '300'."""
    normalized = value.normalize()
    text = format(normalized, "f")
    return text


def normalize_text(text: str) -> str:
    """NFKC (full-width -> ASCII, ￥ -> ¥), case-folded, whitespace collapsed."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip().casefold()
