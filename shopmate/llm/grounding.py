"""Is every fact in a generated text backed by the facts it was given?

A small model rephrases well enough but makes up order numbers, prices, dates and
policy periods; a shopper who is told a wrong refund amount or return window is worse
off than one who gets the plain template. So before generated text is used, every
checkable claim in it is extracted, normalised and looked up in the facts (and the
template, which the action built from the same facts):

- identifiers: order / tracking numbers (A1234567, SF1234567890), phone numbers
- money: ¥12.50, 12.5元, 300块, $30, 30 dollars (¥12.50 == 12.5元 == 12.50)
- dates (2026-11-20, 11月20日, 十一月二十日, Nov 20), relative days (明天, tomorrow,
  周五) and times (14:30, 下午3点, 3pm)
- durations (7天 == 七天 == 7 days == 一周, 48小时, 3个工作日)
- percentages and discounts (20%, 百分之二十, 8折 == 20% off)
- quantities with a unit (3件, 2双, 2 items) and measures (500ml, 1.5kg)
- any other number in digits
- product names: in quotes or title marks, runs of capitalised English words, and
  known catalog names
- materials (纯棉, cotton, 真皮), promises (包邮, free shipping) and product qualities
  (手工, luxury, 防水, breathable, 畅销)

Text is NFKC-normalised first, so full-width digits and ￥ compare equal to ASCII.
A number written without a unit in the facts ("price: 12.50", {"days": 7}) backs
the same number with any unit in the output: facts built from database columns are
often bare numbers, and refusing "12.5元" against "price: 12.50" would reject every
faithful answer. Numbers written with a unit in the facts only back that kind.

The check is deliberately strict: a false rejection costs a plainer reply (the template),
a false acceptance costs a wrong promise.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from shopmate.numerals import ZH_BIG_UNITS, ZH_DIGITS, ZH_UNITS

__all__ = [
    "Claim",
    "GroundingResult",
    "check_grounding",
    "extract_claims",
    "find_identifiers",
    "normalize_text",
    "parse_number",
]


@dataclass(frozen=True)
class Claim:
    """One checkable statement found in a text.

    ``keys`` are the normalised readings of the claim ("money:12.5"); a claim is backed
    when the facts have any of them. ``values`` are its plain numbers, which back
    bare numbers in the output.
    """

    kind: str
    text: str
    keys: frozenset[str]
    values: frozenset[str] = frozenset()


@dataclass(frozen=True)
class GroundingResult:
    ok: bool
    unsupported: tuple[Claim, ...] = ()


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


# --------------------------------------------------------------------------- patterns

_FLAGS = re.IGNORECASE
_MONTHS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "sept": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
_MONTH_NAME = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_ZH_NUM = rf"(?:\d{{1,4}}|{_CN})"

_URL_OR_EMAIL = re.compile(
    r"\b(?:https?://|www\.)[^\s<>\"'，。）)]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+", _FLAGS
)
_ID_PATTERNS = (
    # Phone numbers (mainland mobile), with or without separators.
    re.compile(r"(?<![\dA-Za-z])1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?!\d)"),
    # Order / tracking / SKU numbers: a short letter prefix and 5+ digits.
    re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{1,4}-?\d{5,}(?![A-Za-z0-9])"),
    # Long digit runs: tracking numbers, card or account numbers.
    re.compile(r"(?<![\d.,])\d{8,}(?![\d.,]?\d)"),
)

_DATE_YMD = re.compile(
    rf"(?P<y>\d{{4}}|[零〇一二三四五六七八九]{{4}})\s*(?:年\s*(?P<m1>{_ZH_NUM})\s*月\s*"
    rf"(?P<d1>{_ZH_NUM})\s*[日号]?|[-/.](?P<m2>\d{{1,2}})[-/.](?P<d2>\d{{1,2}})(?!\d))"
)
_DATE_MD_ZH = re.compile(rf"(?P<m>{_ZH_NUM})\s*月\s*(?P<d>{_ZH_NUM})\s*[日号]")
_DATE_MD_EN = re.compile(
    rf"\b(?P<mon>{_MONTH_NAME})\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(?P<y>\d{{4}}))?",
    _FLAGS,
)
_DATE_DM_EN = re.compile(
    rf"\b(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<mon>{_MONTH_NAME})(?![a-z])"
    rf"(?:,?\s+(?P<y>\d{{4}}))?",
    _FLAGS,
)
_DATE_SLASH = re.compile(r"(?<![\d/])(?P<a>\d{1,2})/(?P<b>\d{1,2})(?:/(?P<y>\d{2,4}))?(?![\d/])")
_YEAR_ZH = re.compile(r"(?P<y>\d{4}|[零〇一二三四五六七八九]{4})\s*年")
_MONTH_ZH = re.compile(r"(?P<m>\d{1,2}|[一二三四五六七八九十]{1,3})\s*月(?!份?\s*\d)")

# Relative days and weekdays: said in the output only if said in the facts.
_RELATIVE = {
    "today": ("今天", "今日", "today"),
    "tomorrow": ("明天", "明日", "tomorrow"),
    "day_after_tomorrow": ("后天", "day after tomorrow"),
    "yesterday": ("昨天", "昨日", "yesterday"),
    "this_week": ("本周", "这周", "this week"),
    "next_week": ("下周", "下个星期", "下星期", "next week"),
    "next_month": ("下个月", "下月", "next month"),
    "weekend": ("周末", "weekend"),
    "mon": ("周一", "星期一", "礼拜一", "monday"),
    "tue": ("周二", "星期二", "礼拜二", "tuesday"),
    "wed": ("周三", "星期三", "礼拜三", "wednesday"),
    "thu": ("周四", "星期四", "礼拜四", "thursday"),
    "fri": ("周五", "星期五", "礼拜五", "friday"),
    "sat": ("周六", "星期六", "礼拜六", "saturday"),
    "sun": ("周日", "周天", "星期日", "星期天", "礼拜天", "礼拜日", "sunday"),
}

_TIME_COLON = re.compile(
    r"(?P<pre>上午|早上|早晨|凌晨|中午|下午|傍晚|晚上|夜里)?\s*(?<![\d:])(?P<h>\d{1,2})\s*:\s*"
    r"(?P<m>\d{2})(?::\d{2})?(?!\d)\s*(?P<ampm>a\.?m\.?|p\.?m\.?)?",
    _FLAGS,
)
_TIME_ZH = re.compile(
    rf"(?P<pre>上午|早上|早晨|凌晨|中午|下午|傍晚|晚上|夜里)?\s*(?P<h>\d{{1,2}}|{_CN})\s*点"
    rf"(?:\s*(?P<half>半)|\s*(?P<m>\d{{1,2}}|{_CN})\s*分|(?P<zhong>钟|整))?"
)
_TIME_EN = re.compile(r"\b(?P<h>\d{1,2})\s*(?P<ampm>a\.?m\.?|p\.?m\.?|o'clock)(?![a-z])", _FLAGS)

_DURATION_ZH = re.compile(
    rf"(?P<n>{_DIGITS}|{_CN})\s*(?P<ge>个)?\s*(?P<unit>工作日|小时|钟头|分钟|天|日|星期|周|礼拜|月|年)"
)
_DURATION_HALF_ZH = re.compile(r"半(?P<unit>个?小时|年|个月)")
_DURATION_EN = re.compile(
    rf"(?P<n>{_DIGITS}|\b{_EN})\s*-?\s*(?P<biz>business|working)?\s*-?\s*"
    r"(?P<unit>minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?)\b",
    _FLAGS,
)
_DURATION_A_EN = re.compile(
    r"\b(?:within|in|for|after|under|about|over|than|around)\s+(?:a|an|one)\s+"
    r"(?P<biz>business |working )?(?P<unit>minute|hour|day|week|month|year)\b",
    _FLAGS,
)
_DURATION_HALF_EN = re.compile(r"\bhalf\s+an?\s+(?P<unit>hour|year|day)\b", _FLAGS)

_PERCENT = re.compile(
    rf"(?P<n>{_DIGITS})\s*(?:%|percent\b|per\s+cent\b)|百分之\s*(?P<cn>{_DIGITS}|{_CN})",
    _FLAGS,
)
_DISCOUNT_ZH = re.compile(rf"(?P<n>\d+(?:\.\d+)?|{_CN})\s*折(?!叠|腾|磨|射|服|返|回)")

_MONEY_PREFIX = re.compile(rf"(?P<cur>US\$|HK\$|\$|¥|€|£|RMB|CNY|USD)\s*(?P<n>{_DIGITS})", _FLAGS)
_MONEY_SUFFIX = re.compile(
    rf"(?P<n>{_DIGITS}|{_CN})\s*(?P<unit>块钱|块|元|圆|人民币|美元|美金|欧元|毛钱|毛|角|"
    r"rmb\b|yuan\b|dollars?\b|bucks?\b|usd\b|cny\b|eur\b|euros?\b)",
    _FLAGS,
)

_MEASURE_UNITS = {
    "ml": ("ml", "毫升"),
    "l": ("l", "升", "liter", "liters", "litre", "litres"),
    "g": ("g", "克", "grams", "gram"),
    "kg": ("kg", "公斤", "千克", "kilograms", "kilogram"),
    "jin": ("斤",),
    "cm": ("cm", "厘米", "公分"),
    "mm": ("mm", "毫米"),
    "m": ("m", "米", "meters", "meter", "metres", "metre"),
    "inch": ("inch", "inches", "英寸", "寸"),
    "w": ("w", "瓦", "watts", "watt"),
    "mah": ("mah", "毫安时"),
    "gb": ("gb",),
    "tb": ("tb",),
    "hz": ("hz",),
    "v": ("v", "伏"),
    "size": ("码",),
}
_MEASURE_LOOKUP = {alias: unit for unit, aliases in _MEASURE_UNITS.items() for alias in aliases}
_MEASURE = re.compile(
    rf"(?P<n>{_DIGITS})\s*(?P<unit>"
    + "|".join(
        re.escape(alias) + (r"(?![a-z])" if alias.isascii() else "")
        for alias in sorted(_MEASURE_LOOKUP, key=len, reverse=True)
    )
    + ")",
    _FLAGS,
)

_QTY_UNITS_ZH = {
    "item": "件个只台部支张本份条颗粒枚片块",
    "pair": "双对",
    "set": "套",
    "box": "盒箱",
    "bottle": "瓶罐",
    "pack": "包袋",
    "order": "单笔",
    "time": "次",
    "style": "款",
    "colour": "色",
    "person": "位",
}
_QTY_LOOKUP_ZH = {ch: unit for unit, chars in _QTY_UNITS_ZH.items() for ch in chars}
_QTY_ZH = re.compile(rf"(?P<n>{_DIGITS}|{_CN})\s*(?P<unit>[{''.join(_QTY_LOOKUP_ZH)}])")
_QTY_UNITS_EN = {
    "item": ("item", "items", "piece", "pieces", "pcs", "unit", "units", "left", "in stock"),
    "pair": ("pair", "pairs"),
    "set": ("set", "sets"),
    "box": ("box", "boxes", "case", "cases"),
    "bottle": ("bottle", "bottles", "can", "cans"),
    "pack": ("pack", "packs", "package", "packages", "bag", "bags"),
    "order": ("order", "orders"),
    "time": ("times",),
    "style": ("style", "styles", "model", "models"),
    "colour": ("colour", "colours", "color", "colors"),
    "person": ("people", "person", "persons"),
}
_QTY_LOOKUP_EN = {alias: unit for unit, aliases in _QTY_UNITS_EN.items() for alias in aliases}
_QTY_EN = re.compile(
    rf"(?P<n>{_DIGITS}|\b{_EN})\s+(?P<unit>"
    + "|".join(re.escape(a) for a in sorted(_QTY_LOOKUP_EN, key=len, reverse=True))
    + r")\b",
    _FLAGS,
)

_BARE_NUMBER = re.compile(rf"(?<![A-Za-z\d.])(?P<n>{_DIGITS})(?![\d])")
_LIST_MARKER = re.compile(r"(?m)^\s*\d{1,2}\s*[.)、:](?!\d)")

_QUOTED = re.compile(
    r"“(?P<a>[^”\n]{1,60})”|\"(?P<b>[^\"\n]{1,60})\"|「(?P<c>[^」\n]{1,60})」|"
    r"『(?P<d>[^』\n]{1,60})』|《(?P<e>[^》\n]{1,60})》|‘(?P<f>[^’\n]{1,60})’|【(?P<g>[^】\n]{1,60})】"
)

# Materials: the output-side words are specific (棉 alone is also in 棉袄, a garment);
# the facts side also accepts the short forms a product record uses ("材质: 棉").
_MATERIALS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "cotton": (("纯棉", "全棉", "棉质", "棉料", "cotton"), ("棉",)),
    "silk": (("真丝", "丝绸", "桑蚕丝", "silk"), ("丝",)),
    "wool": (("羊毛", "wool", "merino"), ()),
    "cashmere": (("羊绒", "cashmere"), ()),
    "leather": (("真皮", "牛皮", "羊皮", "皮革", "头层皮", "leather"), ("皮",)),
    "polyester": (("涤纶", "聚酯纤维", "polyester"), ("聚酯",)),
    "nylon": (("尼龙", "锦纶", "nylon"), ()),
    "linen": (("亚麻", "linen"), ("麻",)),
    "chiffon": (("雪纺", "chiffon"), ()),
    "denim": (("牛仔布", "丹宁", "denim"), ("牛仔",)),
    "modal": (("莫代尔", "modal"), ()),
    "spandex": (("氨纶", "spandex", "elastane", "lycra"), ()),
    "down": (("羽绒", "鹅绒", "鸭绒", "goose down", "duck down"), ()),
    "steel": (("不锈钢", "stainless steel"), ()),
    "ceramic": (("陶瓷", "ceramic"), ()),
    "wood": (("实木", "solid wood"), ("木",)),
    "silicone": (("硅胶", "silicone"), ()),
    "gold": (("纯金", "黄金", "18k金", "solid gold", "18k gold"), ("金",)),
    "silver": (("纯银", "925银", "sterling silver", "925 silver"), ("银",)),
}

# Promises a shopper can hold the store to.
_PROMISES: dict[str, tuple[str, ...]] = {
    "free_shipping": (
        "包邮",
        "免运费",
        "免邮",
        "免费配送",
        "免费送货",
        "free shipping",
        "free delivery",
        "ships free",
    ),
    "no_reason_return": ("无理由退", "no-reason return", "no reason return", "no questions asked"),
    "cash_on_delivery": ("货到付款", "cash on delivery"),
    "price_guarantee": (
        "价格保护",
        "保价",
        "最低价",
        "全网最低",
        "price guarantee",
        "price match",
        "lowest price",
    ),
    "genuine_guarantee": (
        "假一赔",
        "正品保证",
        "保证正品",
        "100%正品",
        "authenticity guarantee",
        "guaranteed authentic",
        "guaranteed genuine",
    ),
    "gift": ("赠品", "送礼品", "买一送一", "free gift", "buy one get one", "bogo"),
    "full_reduction": ("满减", "满送"),
    "limited_time": ("限时", "limited time", "limited-time"),
    "warranty": ("保修", "质保", "warranty", "guarantee"),
    "refund_guarantee": ("全额退款", "full refund", "money back", "money-back"),
    # Product features and qualities: a claim like any other in marketing copy.
    "handmade": ("手工", "手作", "handmade", "handcrafted", "hand-made"),
    "luxury": ("奢华", "奢侈", "高端", "luxury", "luxurious", "premium", "high-end"),
    "organic": ("有机", "organic"),
    "eco": ("环保", "可持续", "eco-friendly", "sustainable"),
    "waterproof": ("防水", "waterproof", "water-resistant"),
    "windproof": ("防风", "windproof"),
    "breathable": ("透气", "breathable"),
    "hypoallergenic": ("低敏", "防过敏", "hypoallergenic"),
    "imported": ("进口", "imported"),
    "bestseller": ("畅销", "爆款", "销量第一", "best-selling", "bestseller", "best seller"),
    "limited_edition": ("限量", "limited edition"),
    "award": ("获奖", "award-winning"),
}


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


def check_grounding(
    output: str,
    facts: Sequence[str],
    *,
    known_product_names: Iterable[str] = (),
) -> GroundingResult:
    """Accept ``output`` only if every claim in it is backed by ``facts``.

    ``facts`` are the lines the model was given (include the template: it is built from
    the same facts). ``known_product_names`` are catalog names the output may mention
    only when the facts do.
    """
    source = "\n".join(facts)
    fact_keys: set[str] = set()
    fact_values: set[str] = set()
    # Line by line: "total: 12.50" and "items: 3" on consecutive lines must not read as
    # "12.50 items".
    for claim in (c for line in source.splitlines() for c in extract_claims(line, facts_side=True)):
        fact_keys |= claim.keys
        fact_values |= claim.values
    for key in list(fact_keys):
        full_date = re.fullmatch(r"date:(\d{4})-(\d{2})-(\d{2})", key)
        if full_date:
            # A dated fact also backs the date said without its year, or the year alone.
            year, month, day = full_date.groups()
            fact_keys |= {f"date:{month}-{day}", f"year:{year}", f"month:{int(month)}"}
        elif key.startswith("date:"):
            fact_keys.add(f"month:{int(key[5:7])}")
    source_norm = normalize_text(source)

    unsupported: list[Claim] = []
    for claim in extract_claims(output):
        if claim.kind == "number":
            if not claim.values & fact_values:
                unsupported.append(claim)
            continue
        alternatives = set(claim.keys) | {
            f"num:{value}" for value in claim.values if claim.kind in _BARE_BACKED
        }
        if not alternatives & fact_keys:
            unsupported.append(claim)

    for name in _names_in(output):
        if normalize_text(name) not in source_norm and (
            normalize_text(name.replace(" ", "-")) not in source_norm
        ):
            unsupported.append(Claim("product_name", name, frozenset({f"name:{name}"})))
    output_norm = normalize_text(output)
    for name in known_product_names:
        name_norm = normalize_text(name)
        if (
            len(name_norm) >= 2
            and _word_in(name_norm, output_norm)
            and (name_norm not in source_norm)
        ):
            unsupported.append(Claim("product_name", name, frozenset({f"name:{name}"})))
    return GroundingResult(ok=not unsupported, unsupported=tuple(unsupported))
