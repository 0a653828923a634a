"""Numbers in text, one parser with two named readings, and the numeral tables every
module that reads numbers shares (ordinals "第二个", prices "三百以内", amounts in
generated text). No Rasa imports.

- ``"spoken"``: an amount as a shopper says it: "300", "3百", "三百五" (350, the
  unit-shorthand of speech), "一千二" (1200), "1.5k", "两万五", "2w".
- ``"written"``: a number as a text writes it: "1,299.00", full-width "１２",
  "二十四", "二零二六" (digit by digit, a year), "twenty-one".
They differ where speech and writing differ: "三百五" is 350 spoken and 305 written,
"两万五" 25000 and 20005; "二零二六" is 2026 written (a year), "1,299.00" and
"twenty-one" are only written, "1.5k" only spoken.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Final, Literal

Reading = Literal["spoken", "written"]

ZH_DIGITS: Final[dict[str, int]] = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
ZH_UNITS: Final[dict[str, int]] = {"十": 10, "百": 100, "千": 1000}
ZH_BIG_UNITS: Final[dict[str, int]] = {"万": 10_000, "亿": 100_000_000}

# Units a shopper also types in Latin letters: "1.5k" (thousand), "2w" (万).
_SPOKEN_UNITS: Final = {"十": 10, "百": 100, "千": 1000, "k": 1000}
_SPOKEN_BIG_UNITS: Final = {"万": 10000, "w": 10000}
EN_SMALL = {
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
EN_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
# A number in digits, with or without thousands separators.
WRITTEN_DIGITS: Final = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"


def parse_number(text: str, reading: Reading) -> Decimal | None:
    """The value of `text` read as `reading` (see the module's docstring); None when
    it is not a number in that reading."""
    return _spoken(text) if reading == "spoken" else _written(text)


def _spoken(raw: str) -> Decimal | None:
    s = raw.replace(" ", "").lower()
    if not s:
        return None
    total = Decimal(0)
    section = Decimal(0)
    number: Decimal | None = None
    last_unit = 0
    after_unit = False  # the current number directly follows a unit: 三百五 = 350
    shorthand = False
    i = 0
    while i < len(s):
        ch = s[i]
        if ch.isascii() and (ch.isdigit() or ch == "."):
            j = i
            while j < len(s) and s[j].isascii() and (s[j].isdigit() or s[j] == "."):
                j += 1
            try:
                number = Decimal(s[i:j])
            except InvalidOperation:
                return None
            shorthand = after_unit and j - i == 1
            after_unit = False
            i = j
            continue
        if ch in ZH_DIGITS:
            if ZH_DIGITS[ch] == 0:
                number, shorthand = None, False
            else:
                number = Decimal(ZH_DIGITS[ch])
                shorthand = after_unit
            after_unit = False
        elif ch in _SPOKEN_UNITS:
            unit = _SPOKEN_UNITS[ch]
            section += (number if number is not None else Decimal(1)) * unit
            number, last_unit, after_unit, shorthand = None, unit, True, False
        elif ch in _SPOKEN_BIG_UNITS:
            unit = _SPOKEN_BIG_UNITS[ch]
            section += number if number is not None else Decimal(0)
            total += (section or Decimal(1)) * unit
            section = Decimal(0)
            number, last_unit, after_unit, shorthand = None, unit, True, False
        else:
            return None
        i += 1
    if number is not None:
        section += number * last_unit / 10 if shorthand and last_unit >= 10 else number
    return total + section


def _cn_to_int(text: str) -> int | None:
    if not text or any(
        ch not in ZH_DIGITS and ch not in ZH_UNITS and ch not in ZH_BIG_UNITS for ch in text
    ):
        return None
    if len(text) > 1 and all(ch in ZH_DIGITS for ch in text):
        # Digit by digit: 二零二六 (a year), 八五 (八五折).
        return int("".join(str(ZH_DIGITS[ch]) for ch in text))
    total = section = number = 0
    for ch in text:
        if ch in ZH_DIGITS:
            number = ZH_DIGITS[ch]
        elif ch in ZH_UNITS:
            section += (number or 1) * ZH_UNITS[ch]  # 十五: "十" alone means 10
            number = 0
        else:
            section += number
            total += (section or 1) * ZH_BIG_UNITS[ch]
            section = number = 0
    return total + section + number


def _en_to_int(text: str) -> int | None:
    parts = re.split(r"[- ]+", text.lower().strip())
    if len(parts) == 1:
        if parts[0] in EN_SMALL:
            return EN_SMALL[parts[0]]
        return EN_TENS.get(parts[0])
    if len(parts) == 2 and parts[0] in EN_TENS and parts[1] in EN_SMALL:
        return EN_TENS[parts[0]] + EN_SMALL[parts[1]]
    return None


def _written(text: str) -> Decimal | None:
    text = unicodedata.normalize("NFKC", text).strip()
    if not text:
        return None
    if re.fullmatch(WRITTEN_DIGITS, text):
        try:
            return Decimal(text.replace(",", ""))
        except InvalidOperation:  # pragma: no cover - the pattern only admits numbers
            return None
    value = _cn_to_int(text)
    if value is None:
        value = _en_to_int(text)
    return None if value is None else Decimal(value)
