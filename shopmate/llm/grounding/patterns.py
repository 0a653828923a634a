"""The regular expressions that find each kind of claim: identifiers, money, dates,
times, durations, percentages and quantities."""

from __future__ import annotations

import re

from shopmate.db.vocabulary import MATERIALS
from shopmate.llm.grounding.numbers import _CN, _DIGITS, _EN

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

# Materials (shopmate/db/vocabulary.py): the output side names them by their specific
# words (棉 alone is also in 棉袄, a garment); the facts side also accepts the short
# forms a product record uses ("材质: 棉").
_MATERIALS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    m.code: (m.words, m.short) for m in MATERIALS
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
