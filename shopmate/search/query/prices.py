"""Numbers (Arabic and Chinese numerals) and price phrases: "300以内", "under $50", "200-400"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

from shopmate import numerals

# -------------------------------------------------------------------------- numbers


def parse_number(raw: str) -> Decimal | None:
    """A price as a shopper says it ("三百五" is 350; shopmate/numerals.py, spoken)."""
    return numerals.parse_number(raw, "spoken")


def _cents(value: Decimal) -> int:
    return int((value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


# --------------------------------------------------------------------------- prices

_ZD = "[零〇一二两三四五六七八九]"
_UNIT = "[十百千万]"
_ARABIC = r"\d+(?:\.\d+)?"
_NUM = (
    rf"(?:(?:{_ARABIC}|{_ZD})(?:{_UNIT}+(?:{_ARABIC}|{_ZD}))*{_UNIT}*|{_UNIT}(?:{_ZD}|{_UNIT})*)"
    r"(?:[kw](?![a-z]))?"
)
_CUR_PRE = r"(?:[¥$]|rmb|cny|usd)"
_CUR_SUF = r"(?:元钱|元|块钱|块|美元|美金|刀|(?:rmb|cny|yuan|dollars?|bucks|usd)(?![a-z]))"
# A number followed by one of these counts things, days or sizes, not money.
_NOT_MONEY = (
    r"(?!\s*(?:件|个|双|条|天|日|号|码|岁|年|月|周|小时|分钟|厘米|公分|米|公斤|斤|克|毫升|折|寸|"
    r"次|份|套|箱|盒|瓶|支|只|台|部|人|度|%|(?:cm|mm|kg|g|ml|l|days?|items?|pieces?|pairs?|"
    r"pcs|inch(?:es)?|size|years?|months?|weeks?|hours?|percent|off)(?![a-z])))"
)


def _amount(name: str, *, first: bool = True) -> str:
    """An amount with optional currency; a first amount does not continue a date or
    range ("2024-05-01")."""
    guard = r"(?<![\d.])(?<!\d[-/])" if first else r"(?<![\d.])"
    return rf"(?:{_CUR_PRE}\s*)?{guard}(?P<{name}>{_NUM})(?![\d.])(?:\s*{_CUR_SUF})?{_NOT_MONEY}"


_A = _amount("a")
_B = _amount("b", first=False)
_EN = r"(?<![a-z])"  # an English word starts here


def _either(zh: str, en: str = "") -> str:
    """An alternation of space-separated Chinese phrases and "|"-separated English
    phrases (whole words only). Phrases may be regular expressions."""
    options = zh.split()
    if en:
        options.append(rf"{_EN}(?:{en})(?![a-z])")
    return "(?:" + "|".join(options) + ")"


_RANGE_SEP = _either("到 至 ~ - — –", "to")
_ABOUT_BEFORE = _either("大概 大约 约 差不多 ~", r"around|about|approximately|approx\.?|roughly")
_ABOUT_AFTER = _either("左右 上下", "-?ish")
_MAX_BEFORE = _either(
    "不超过 不超 不高于 不到 低于 少于 小于 最多 最高 预算 <=? ≤",
    r"under|below|less than|cheaper than|lower than|no more than|not more than|at most"
    r"|max(?:imum)?|up to|within|budget(?:\s+(?:of|is))?",
)
_MAX_AFTER = _either(
    "以内 以下 之内 之下 内 封顶", "or less|or under|and under|and below|max|at most"
)
_MIN_BEFORE = _either(
    "超过 高于 不低于 不少于 至少 最少 最低 起码 >=? ≥",
    r"over|above|more than|at least|higher than|starting (?:at|from)|from",
)
_MIN_AFTER = _either(r"以上 之上 起 \+", "or more|and up|and above|plus|minimum|min")
_BARE = rf"(?<![\d.])(?P<a>{_NUM})(?![\d.])"

# Tried in this order; a later pattern never takes text an earlier one matched.
_PRICE_PATTERNS: Final[tuple[tuple[str, re.Pattern[str]], ...]] = tuple(
    (kind, re.compile(pattern))
    for kind, pattern in (
        ("range", rf"{_EN}between\s+{_A}\s+and\s+{_B}"),
        # not a date: "2024-05-01"
        ("range", rf"(?:从|在|{_EN}from\s+)?{_A}\s*{_RANGE_SEP}\s*{_B}(?![-/]\d)(?:\s*之间)?"),
        ("about", rf"{_ABOUT_BEFORE}\s*{_A}"),
        ("about", rf"{_A}\s*{_ABOUT_AFTER}"),
        ("max", rf"{_MAX_BEFORE}\s*{_A}"),
        ("max", rf"{_A}\s*{_MAX_AFTER}"),
        ("min", rf"{_MIN_BEFORE}\s*{_A}"),
        ("min", rf"{_A}\s*{_MIN_AFTER}"),
        ("about", rf"{_CUR_PRE}\s*{_BARE}{_NOT_MONEY}"),  # "$100", "¥300"
        ("about", rf"{_BARE}\s*{_CUR_SUF}"),  # "300元的"
    )
)
_SIZE_BEFORE = re.compile(r"(?:size|尺码|码数|尺寸|码)\s*[:：]?\s*$")
_ABOUT_RATIO: Final = Decimal("0.2")


@dataclass(frozen=True)
class _PriceHit:
    start: int
    end: int
    low: int | None
    high: int | None


def _has_number_value(raw: str) -> bool:
    """A Chinese numeral without any unit ("一", "两") counts things, not money."""
    return bool(re.search(r"\d|[十百千万kw]", raw))


def find_prices(text: str) -> list[_PriceHit]:
    """Price phrases in lower-cased, NFKC-normalised text, in text order."""
    hits: list[_PriceHit] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in _PRICE_PATTERNS:
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(start < e and s < end for s, e in taken):
                continue
            raw = [match.group(g) for g in ("a", "b") if g in match.groupdict() and match[g]]
            if not all(_has_number_value(r) for r in raw):
                continue
            # "以内/under" is never said of a size: "M码 500以内" is a budget.
            if (
                kind not in ("max", "min")
                and _SIZE_BEFORE.search(text[:start])
                and not re.search(rf"{_CUR_PRE}|{_CUR_SUF}", match.group(0))
            ):
                continue  # "size 38-40", "尺码 40"
            values = [parse_number(r) for r in raw]
            if any(v is None or v <= 0 for v in values):
                continue
            nums = sorted(v for v in values if v is not None)
            low: int | None
            high: int | None
            if kind == "range":
                low, high = _cents(nums[0]), _cents(nums[-1])
            elif kind == "about":
                low, high = (
                    _cents(nums[0] * (1 - _ABOUT_RATIO)),
                    _cents(nums[0] * (1 + _ABOUT_RATIO)),
                )
            elif kind == "max":
                low, high = None, _cents(nums[0])
            else:
                low, high = _cents(nums[0]), None
            taken.append((start, end))
            hits.append(_PriceHit(start, end, low, high))
    return sorted(hits, key=lambda h: h.start)
