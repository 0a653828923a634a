"""Chinese numerals, shared by every module that reads numbers in shoppers' text
(ordinals "第二个", prices "三百以内", amounts in generated text). No Rasa imports."""

from __future__ import annotations

from typing import Final

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
