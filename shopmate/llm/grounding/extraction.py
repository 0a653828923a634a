"""Turning matches into claims with their normalised keys; materials, promises and names."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from decimal import Decimal

from shopmate.llm.grounding.claims import Claim
from shopmate.llm.grounding.numbers import _fmt, normalize_text, parse_number
from shopmate.llm.grounding.patterns import (
    _BARE_NUMBER,
    _DATE_DM_EN,
    _DATE_MD_EN,
    _DATE_MD_ZH,
    _DATE_SLASH,
    _DATE_YMD,
    _DISCOUNT_ZH,
    _DURATION_A_EN,
    _DURATION_EN,
    _DURATION_HALF_EN,
    _DURATION_HALF_ZH,
    _DURATION_ZH,
    _ID_PATTERNS,
    _LIST_MARKER,
    _MATERIALS,
    _MEASURE,
    _MEASURE_LOOKUP,
    _MONEY_PREFIX,
    _MONEY_SUFFIX,
    _MONTH_ZH,
    _MONTHS,
    _PERCENT,
    _PROMISES,
    _QTY_EN,
    _QTY_LOOKUP_EN,
    _QTY_LOOKUP_ZH,
    _QTY_ZH,
    _QUOTED,
    _RELATIVE,
    _TIME_COLON,
    _TIME_EN,
    _TIME_ZH,
    _URL_OR_EMAIL,
    _YEAR_ZH,
)

# --------------------------------------------------------------------------- extraction
# Claim kinds that a bare number in the facts can back ("price: 12.50" backs "12.5元").
_BARE_BACKED = frozenset({"money", "duration", "percent", "quantity", "measure"})


class _Scanner:
    """Finds claims pattern by pattern, blanking each match so that later, looser
    patterns (bare numbers) do not read the digits of an earlier one again."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.work = text
        self.claims: list[Claim] = []

    def take(
        self,
        pattern: re.Pattern[str],
        read: Callable[[re.Match[str]], tuple[str, set[str], set[str]] | None],
    ) -> None:
        for match in list(pattern.finditer(self.work)):
            if not match.group(0).strip():
                continue
            reading = read(match)
            if reading is None:
                continue
            kind, keys, values = reading
            start, end = match.span()
            self.claims.append(
                Claim(kind, self.text[start:end], frozenset(keys), frozenset(values))
            )
            self.work = self.work[:start] + " " * (end - start) + self.work[end:]


def _number(text: str | None) -> Decimal | None:
    return None if text is None else parse_number(text)


def _read_id(match: re.Match[str]) -> tuple[str, set[str], set[str]]:
    ident = re.sub(r"[-\s]", "", match.group(0)).upper()
    return "identifier", {f"id:{ident}"}, set()


def _read_contact(match: re.Match[str]) -> tuple[str, set[str], set[str]]:
    return "contact", {f"contact:{match.group(0).lower().rstrip('.')}"}, set()


def _date_keys(year: int | None, month: int, day: int) -> set[str] | None:
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    keys = {f"date:{month:02d}-{day:02d}"}
    if year is not None:
        keys = {f"date:{year:04d}-{month:02d}-{day:02d}"}
    return keys


def _year(text: str | None) -> int | None:
    value = _number(text)
    if value is None:
        return None
    year = int(value)
    return year + 2000 if year < 100 else year


def _read_ymd(match: re.Match[str]) -> tuple[str, set[str], set[str]] | None:
    year = _year(match.group("y"))
    month = _number(match.group("m1") or match.group("m2"))
    day = _number(match.group("d1") or match.group("d2"))
    if year is None or month is None or day is None:
        return None
    keys = _date_keys(year, int(month), int(day))
    if keys is None:
        return None
    return "date", keys, {str(year), str(int(month)), str(int(day))}


def _read_md_zh(match: re.Match[str]) -> tuple[str, set[str], set[str]] | None:
    month, day = _number(match.group("m")), _number(match.group("d"))
    if month is None or day is None:
        return None
    keys = _date_keys(None, int(month), int(day))
    return None if keys is None else ("date", keys, {str(int(month)), str(int(day))})


def _read_md_en(match: re.Match[str]) -> tuple[str, set[str], set[str]] | None:
    month = _MONTHS[match.group("mon").lower()[:3]]
    day = int(match.group("d"))
    keys = _date_keys(_year(match.group("y")), month, day)
    return None if keys is None else ("date", keys, {str(month), str(day)})


def _read_slash(match: re.Match[str]) -> tuple[str, set[str], set[str]] | None:
    a, b = int(match.group("a")), int(match.group("b"))
    year = _year(match.group("y"))
    # 11/20 (month/day) or 20/11 (day/month): either reading may be the one meant.
    keys = (_date_keys(year, a, b) or set()) | (_date_keys(year, b, a) or set())
    return ("date", keys, {str(a), str(b)}) if keys else None


def _read_year(match: re.Match[str]) -> tuple[str, set[str], set[str]] | None:
    year = _year(match.group("y"))
    if year is None or year < 1900:
        return None
    return "date", {f"year:{year}"}, {str(year)}


def _read_month(match: re.Match[str]) -> tuple[str, set[str], set[str]] | None:
    month = _number(match.group("m"))
    if month is None or not 1 <= month <= 12:
        return None
    return "date", {f"month:{int(month)}"}, {str(int(month))}


_ZH_AM = {"上午", "早上", "早晨", "凌晨"}
_ZH_PM = {"中午", "下午", "傍晚", "晚上", "夜里"}


def _time_keys(hour: int, minute: int, meridiem: str | None) -> set[str] | None:
    if not (0 <= hour <= 24 and 0 <= minute <= 59):
        return None
    if meridiem == "pm" and hour < 12:
        hours = {hour + 12}
    elif meridiem == "am" and hour == 12:
        hours = {0}
    elif meridiem is None and 1 <= hour <= 12:
        hours = {hour, (hour + 12) % 24}  # "3点" can be 03:00 or 15:00
    else:
        hours = {hour % 24}
    return {f"time:{h:02d}:{minute:02d}" for h in hours}


def _meridiem(prefix: str | None, ampm: str | None) -> str | None:
    if ampm:
        letter = ampm.lower()[0]
        if letter in "ap":
            return "am" if letter == "a" else "pm"
    if prefix in _ZH_AM:
        return "am"
    if prefix in _ZH_PM:
        return "pm"
    return None


def _read_time_colon(match: re.Match[str]) -> tuple[str, set[str], set[str]] | None:
    hour, minute = int(match.group("h")), int(match.group("m"))
    keys = _time_keys(hour, minute, _meridiem(match.group("pre"), match.group("ampm")))
    return None if keys is None else ("time", keys, set())


def _read_time_zh(match: re.Match[str]) -> tuple[str, set[str], set[str]] | None:
    hour_text = match.group("h")
    qualified = match.group("pre") or match.group("half") or match.group("m")
    if not hour_text.isdigit() and not qualified and not match.group("zhong"):
        return None  # 两点 / 三点 are also "two points" / "three points"
    hour = _number(hour_text)
    minute = 30 if match.group("half") else _number(match.group("m")) or Decimal(0)
    if hour is None:
        return None
    keys = _time_keys(int(hour), int(minute), _meridiem(match.group("pre"), None))
    return None if keys is None else ("time", keys, set())


def _read_time_en(match: re.Match[str]) -> tuple[str, set[str], set[str]] | None:
    keys = _time_keys(int(match.group("h")), 0, _meridiem(None, match.group("ampm")))
    return None if keys is None else ("time", keys, set())


_MINUTES = {"minute": 1, "hour": 60, "day": 1440, "week": 10080}


def _duration(value: Decimal, unit: str) -> tuple[str, set[str], set[str]]:
    if unit == "bday":
        return "duration", {f"dur:bday:{_fmt(value)}"}, {_fmt(value)}
    if unit in ("month", "year"):
        months = value * (12 if unit == "year" else 1)
        return "duration", {f"dur:month:{_fmt(months)}"}, {_fmt(value)}
    minutes = value * _MINUTES[unit]
    return "duration", {f"dur:min:{_fmt(minutes)}"}, {_fmt(value)}


_ZH_DURATION_UNITS = {
    "工作日": "bday",
    "小时": "hour",
    "钟头": "hour",
    "分钟": "minute",
    "天": "day",
    "日": "day",
    "星期": "week",
    "周": "week",
    "礼拜": "week",
    "月": "month",
    "年": "year",
}


def _read_duration_zh(match: re.Match[str]) -> tuple[str, set[str], set[str]] | None:
    value = _number(match.group("n"))
    unit = _ZH_DURATION_UNITS[match.group("unit")]
    if value is None:
        return None
    if unit == "month" and not match.group("ge"):
        return None  # 3月 is March; 3个月 is three months
    if unit == "year" and value >= 1900:
        return None  # 2026年 is a year, read by the date patterns
    kind, keys, values = _duration(value, unit)
    if match.group("unit") == "日" and not match.group("ge"):
        keys.add(f"day:{_fmt(value)}")  # 20日 may be "the 20th"
    return kind, keys, values


def _read_half_zh(match: re.Match[str]) -> tuple[str, set[str], set[str]]:
    unit = match.group("unit")
    if "小时" in unit:
        return _duration(Decimal(30), "minute")
    if unit == "年":
        return _duration(Decimal(6), "month")
    return _duration(Decimal(15), "day")


def _en_duration_unit(unit: str, business: str | None) -> str:
    unit = unit.lower()
    if business and unit.startswith("day"):
        return "bday"
    for prefix, name in (
        ("min", "minute"),
        ("h", "hour"),
        ("d", "day"),
        ("w", "week"),
        ("mo", "month"),
        ("y", "year"),
    ):
        if unit.startswith(prefix):
            return name
    return "day"  # pragma: no cover - the pattern admits only the units above


def _read_duration_en(match: re.Match[str]) -> tuple[str, set[str], set[str]] | None:
    value = _number(match.group("n"))
    if value is None:
        return None
    return _duration(value, _en_duration_unit(match.group("unit"), match.group("biz")))


def _read_duration_a_en(match: re.Match[str]) -> tuple[str, set[str], set[str]]:
    return _duration(Decimal(1), _en_duration_unit(match.group("unit"), match.group("biz")))


def _read_half_en(match: re.Match[str]) -> tuple[str, set[str], set[str]]:
    unit = match.group("unit").lower()
    if unit == "hour":
        return _duration(Decimal(30), "minute")
    if unit == "year":
        return _duration(Decimal(6), "month")
    return _duration(Decimal(12), "hour")


def _read_percent(match: re.Match[str]) -> tuple[str, set[str], set[str]] | None:
    value = _number(match.group("n") or match.group("cn"))
    if value is None:
        return None
    return "percent", {f"pct:{_fmt(value)}"}, {_fmt(value)}


def _read_discount(match: re.Match[str]) -> tuple[str, set[str], set[str]] | None:
    value = _number(match.group("n"))
    if value is None or value <= 0 or value >= 100:
        return None
    pay = value * 10 if value < 10 else value  # 8折 / 8.5折 / 85折: pay 80% / 85% / 85%
    # "8折" is "pay 80%", which the facts may also state as "20% off".
    return "percent", {f"pct:{_fmt(pay)}", f"pct:{_fmt(100 - pay)}"}, {_fmt(value)}


def _read_money(match: re.Match[str]) -> tuple[str, set[str], set[str]] | None:
    unit = (match.groupdict().get("unit") or "").lower()
    if unit == "块" and match.group("n") == "一":
        return None  # 一块蛋糕: the article, not one yuan
    value = _number(match.group("n"))
    if value is None:
        return None
    if unit in ("毛", "毛钱", "角"):
        value = value / 10
    keys = {f"money:{_fmt(value)}"}
    if unit == "块":
        keys.add(f"qty:item:{_fmt(value)}")  # 3块巧克力: 块 is also a counter
    return "money", keys, {_fmt(value)}


def _read_measure(match: re.Match[str]) -> tuple[str, set[str], set[str]] | None:
    value = _number(match.group("n"))
    if value is None:
        return None
    unit = _MEASURE_LOOKUP[match.group("unit").lower()]
    return "measure", {f"meas:{unit}:{_fmt(value)}"}, {_fmt(value)}


def _read_qty_zh(match: re.Match[str]) -> tuple[str, set[str], set[str]] | None:
    if match.group("n") == "一":
        return None  # 一件/一款/一个 is mostly the article "a", not a count
    value = _number(match.group("n"))
    if value is None:
        return None
    unit = _QTY_LOOKUP_ZH[match.group("unit")]
    return "quantity", {f"qty:{unit}:{_fmt(value)}"}, {_fmt(value)}


def _read_qty_en(match: re.Match[str]) -> tuple[str, set[str], set[str]] | None:
    if match.group("n").lower() == "one":
        return None  # "one item" reads like the article
    value = _number(match.group("n"))
    if value is None:
        return None
    unit = _QTY_LOOKUP_EN[match.group("unit").lower()]
    return "quantity", {f"qty:{unit}:{_fmt(value)}"}, {_fmt(value)}


def _read_bare(match: re.Match[str]) -> tuple[str, set[str], set[str]] | None:
    value = _number(match.group("n"))
    if value is None:
        return None
    return "number", {f"num:{_fmt(value)}"}, {_fmt(value)}


def _relative_claims(text: str) -> list[Claim]:
    lowered = normalize_text(text)
    claims = []
    for name, words in _RELATIVE.items():
        for word in words:
            pattern = rf"\b{re.escape(word)}\b" if word.isascii() else re.escape(word)
            if re.search(pattern, lowered):
                claims.append(Claim("relative_date", word, frozenset({f"rel:{name}"})))
                break
    return claims


def _word_in(word: str, normalized: str) -> bool:
    if word.isascii():
        return re.search(rf"(?<![a-z]){re.escape(word)}(?![a-z])", normalized) is not None
    return word in normalized


def _material_claims(text: str, *, facts_side: bool) -> list[Claim]:
    normalized = normalize_text(text)
    claims = []
    for name, (specific, short) in _MATERIALS.items():
        words = specific + short if facts_side else specific
        hit = next((w for w in words if _word_in(w, normalized)), None)
        if hit is not None:
            claims.append(Claim("material", hit, frozenset({f"mat:{name}"})))
    return claims


def _promise_claims(text: str) -> list[Claim]:
    normalized = normalize_text(text)
    claims = []
    for name, words in _PROMISES.items():
        hit = next((w for w in words if _word_in(w, normalized)), None)
        if hit is not None:
            claims.append(Claim("promise", hit, frozenset({f"promise:{name}"})))
    return claims


def extract_claims(text: str, *, facts_side: bool = False) -> list[Claim]:
    """Every checkable claim in ``text``, in a fixed order of patterns (specific first)."""
    normalized = unicodedata.normalize("NFKC", text)
    scanner = _Scanner(normalized)
    scanner.take(_URL_OR_EMAIL, _read_contact)
    for pattern in _ID_PATTERNS:
        scanner.take(pattern, _read_id)
    scanner.take(_DATE_YMD, _read_ymd)
    scanner.take(_DATE_MD_ZH, _read_md_zh)
    scanner.take(_DATE_MD_EN, _read_md_en)
    scanner.take(_DATE_DM_EN, _read_md_en)
    scanner.take(_TIME_COLON, _read_time_colon)
    scanner.take(_DATE_SLASH, _read_slash)
    scanner.take(_TIME_ZH, _read_time_zh)
    scanner.take(_TIME_EN, _read_time_en)
    scanner.take(_PERCENT, _read_percent)
    scanner.take(_DISCOUNT_ZH, _read_discount)
    scanner.take(_DURATION_HALF_ZH, _read_half_zh)
    scanner.take(_DURATION_ZH, _read_duration_zh)
    scanner.take(_DURATION_HALF_EN, _read_half_en)
    scanner.take(_DURATION_A_EN, _read_duration_a_en)
    scanner.take(_DURATION_EN, _read_duration_en)
    scanner.take(_YEAR_ZH, _read_year)
    scanner.take(_MONTH_ZH, _read_month)
    scanner.take(_MONEY_PREFIX, _read_money)
    scanner.take(_MONEY_SUFFIX, _read_money)
    scanner.take(_MEASURE, _read_measure)
    scanner.take(_QTY_ZH, _read_qty_zh)
    scanner.take(_QTY_EN, _read_qty_en)
    if not facts_side:
        # "1. ..." list markers are layout, not claims.
        scanner.work = _LIST_MARKER.sub(lambda m: " " * len(m.group(0)), scanner.work)
    scanner.take(_BARE_NUMBER, _read_bare)
    return (
        scanner.claims
        + _relative_claims(normalized)
        + _material_claims(normalized, facts_side=facts_side)
        + _promise_claims(normalized)
    )


def find_identifiers(text: str) -> set[str]:
    """Order/tracking/phone numbers, e-mail addresses and URLs in ``text``, normalised."""
    scanner = _Scanner(unicodedata.normalize("NFKC", text))
    scanner.take(_URL_OR_EMAIL, _read_contact)
    for pattern in _ID_PATTERNS:
        scanner.take(pattern, _read_id)
    return {key for claim in scanner.claims for key in claim.keys}


_TITLE_PHRASE = re.compile(
    r"(?<![\w-])(?:[A-Z][a-z]+|[A-Z]{2,})(?:[ -](?:[A-Z][a-z]+|[A-Z]{2,}))+(?![\w-])"
)
# Capitalised only because they open a sentence: "Meet Swift Runner" names Swift Runner.
_SENTENCE_STARTERS = frozenset(
    re.findall(
        r"\S+",
        "the this that these your our my hi hello dear thank thanks great good sorry please "
        "we you it with for get try meet new sure yes no yours discover introducing enjoy",
    )
)


def _names_in(text: str) -> list[str]:
    """Quoted or title-marked names, and runs of capitalised English words (Swift Runner,
    SF Express): how a product, brand or carrier name shows in text."""
    text = unicodedata.normalize("NFKC", text)
    names = [
        next(group for group in match.groups() if group is not None).strip()
        for match in _QUOTED.finditer(text)
    ]
    for match in _TITLE_PHRASE.finditer(text):
        words = re.split(r"[ -]", match.group(0))
        if words[0].casefold() in _SENTENCE_STARTERS:
            words = words[1:]
        if len(words) >= 2:
            names.append(" ".join(words))
    return names
