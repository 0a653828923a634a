"""Query understanding for product search: what a shopper's message asks for.

`QueryParser.parse("有没有300以内的红色连衣裙, XL码")` gives a `ParsedQuery` with the
catalog codes to filter on (category "dresses", colour "red", size "XL", at most
30000 cents) and the free text left for BM25 / dense retrieval (`terms`: "连衣裙").

How it works
------------
* Two blank spaCy pipelines, built lazily on the first parse (no model download, no
  model at import): `zh` (jieba segmenter) for any text with Han characters, mixed
  zh/en included, and `en` for the rest. `language` is a hint: "en" text that holds
  Han characters still goes through `zh`, since the English tokenizer cannot segment
  Chinese.
* Vocabulary words (categories, synonyms, styles, brands, materials, colours, from
  `shopmate/db/vocabulary.py`) are matched as phrases (spaCy `PhraseMatcher`
  on LOWER; brands written in Latin letters on ORTH, because "Glow", "Nest" or
  "Stride" are ordinary English words in lower case; an unrecognised word still
  reaches BM25 through `terms`). Sizes use token patterns (`Matcher`); prices and the
  "cheaper / pricier / other colour / in stock" cues are regular expressions over the
  normalised text (NFKC, so full-width "３００" and "￥" work), because jieba splits
  numbers and phrases like "3百以内" unpredictably.
* Overlaps: the longest match wins ("口红" is the style lipstick, not the colour red;
  "碎花连衣裙" beats "连衣裙"); for the same words a style beats a category, then
  brand, material, colour, size ("jeans" is the style 牛仔裤 of trousers).
* Segmentation is made to agree with the vocabulary: a private `jieba.Tokenizer` (the
  global one is shared with BM25 indexing, whose tokens must not change) knows every
  vocabulary word, runs without the HMM (which glues unknown runs such as "买红"),
  splits dictionary words made only of vocabulary words and a few glue characters
  ("黑白" -> 黑 + 白, "红裙" -> 红 + 裙, "深蓝色" -> 深 + 蓝 + 色) and merges pieces that
  form a vocabulary word. Words that merely contain a colour ("网红", "白领", "粉丝",
  "蓝牙耳机") stay whole and are not colours.
* Sizes need context: "XL", "xl码", "L号", "M码的", "42码", "size 42", "size M",
  "in medium". A bare S/M/L counts only next to Chinese ("要M的") or as the whole
  message, so "I'm looking for" gives no size M. Numbers are shoe sizes only with
  码/号/size context (30-50 with 码 or size; with 号 only sizes the catalog sells).
* Prices are cents of the store currency: yuan x 100. The store prices in CNY only,
  so "$100" and "100 dollars" are read as 100 units of that currency (10000 cents),
  not converted. "300块左右" / "around 300" is +/-20 %. Bounds from several phrases
  are intersected.
* A negation right before an attribute ("不要红色", "not red", "without Lumi") drops
  that attribute from the filters (and from `terms`); it is not turned into an
  exclusion filter.
* `category`: several categories in one message ("连衣裙配什么包") are resolved by
  word order: the last one in Chinese (modifiers come first: "配裙子的包" is a bag),
  the first one in English ("shoes to go with my dress"). A style implies its
  category.
* `terms` keeps category and style words (the noun of the query, useful to BM25 and
  to embeddings, e.g. "我想买一件红色的连衣裙" -> "连衣裙") and every word not
  recognised ("夏天", "wedding"); it drops recognised colours, sizes, brands,
  materials, price and cue phrases, negations and filler ("我想买一件", "的",
  "looking for", "推荐").
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Final

from shopmate.numerals import ZH_DIGITS
from shopmate.text import STOPWORDS

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.matcher import Matcher, PhraseMatcher
    from spacy.tokens import Doc, Span, Token
    from spacy.vocab import Vocab

CATEGORY: Final = "CATEGORY"
COLOR: Final = "COLOR"
SIZE: Final = "SIZE"
BRAND: Final = "BRAND"
MATERIAL: Final = "MATERIAL"
STYLE: Final = "STYLE"
PRICE: Final = "PRICE"
CHEAPER: Final = "CHEAPER"
PRICIER: Final = "PRICIER"
OTHER_COLOR: Final = "OTHER_COLOR"
IN_STOCK: Final = "IN_STOCK"

# For the same words, the first label wins ("jeans": style before category).
_LABEL_PRIORITY: Final = {STYLE: 0, CATEGORY: 1, BRAND: 2, MATERIAL: 3, COLOR: 4, SIZE: 5}
_KEY_SEP: Final = "\x1f"

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_ALL_HAN = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+$")
_WORD = re.compile(r"\w")


# --------------------------------------------------------------------------- result


@dataclass(frozen=True)
class ParsedQuery:
    """What one message asks for. Codes are the catalog's stored values."""

    category: str | None = None
    colors: tuple[str, ...] = ()
    sizes: tuple[str, ...] = ()
    brands: tuple[str, ...] = ()
    materials: tuple[str, ...] = ()
    styles: tuple[str, ...] = ()
    price_min_cents: int | None = None
    price_max_cents: int | None = None
    cheaper: bool = False
    pricier: bool = False
    other_color: bool = False
    in_stock_only: bool = False
    terms: str = ""

    def has_filters(self) -> bool:
        """True when something can filter the catalog (attributes or price bounds)."""
        return bool(
            self.category
            or self.colors
            or self.sizes
            or self.brands
            or self.materials
            or self.styles
            or self.price_min_cents is not None
            or self.price_max_cents is not None
        )

    def is_empty(self) -> bool:
        """Nothing to search on: no filter, no cue and no free text ("推荐", "hi")."""
        return not (
            self.has_filters()
            or self.cheaper
            or self.pricier
            or self.other_color
            or self.in_stock_only
            or self.terms
        )


# ----------------------------------------------------------------------- vocabulary


@dataclass(frozen=True)
class VocabularyTerm:
    """One way of writing one attribute value: "裙子" -> (CATEGORY, "dresses")."""

    text: str
    label: str
    value: str
    category: str | None = None  # the category a style belongs to
    exact_case: bool = False  # match the spelling as written (Latin brand names)


@dataclass(frozen=True)
class QueryVocabulary:
    """The words the parser recognises and the size codes the store sells."""

    terms: tuple[VocabularyTerm, ...]
    sizes: tuple[str, ...] = ()
    one_size: str = "one-size"

    @classmethod
    def from_catalog(cls) -> QueryVocabulary:
        """Built from shopmate/db/vocabulary.py plus a few common aliases."""
        from shopmate.db import vocabulary as v

        terms: list[VocabularyTerm] = []
        for spec in v.CATEGORY_SPECS:
            for word in (spec.zh, spec.en, *spec.synonyms):
                terms += [VocabularyTerm(w, CATEGORY, spec.code) for w in _inflections(word)]
            for zh, en in spec.styles:
                terms.append(VocabularyTerm(zh, STYLE, zh, spec.code))
                terms += [VocabularyTerm(w, STYLE, zh, spec.code) for w in _inflections(en)]
            for brand in spec.brands:
                terms.append(VocabularyTerm(brand, BRAND, brand, exact_case=not _HAN.search(brand)))
        for color in v.COLORS:
            for word in color.words:
                terms.append(VocabularyTerm(word, COLOR, color.code))
                if _ALL_HAN.match(word) and not word.endswith("色"):
                    terms.append(VocabularyTerm(word + "色", COLOR, color.code))  # 酒红色
        for zh, en in v.MATERIAL_EN.items():
            if zh == en:  # "—": no material
                continue
            terms += [VocabularyTerm(zh, MATERIAL, zh), VocabularyTerm(en, MATERIAL, zh)]
        for alias, zh in _MATERIAL_ALIASES.items():
            if zh in v.MATERIAL_EN:
                terms.append(VocabularyTerm(alias, MATERIAL, zh))
        sizes = tuple(dict.fromkeys(size for spec in v.CATEGORY_SPECS for size in spec.sizes))
        terms += [VocabularyTerm(w, SIZE, v.ONE_SIZE) for w in _ONE_SIZE_WORDS]
        return cls(tuple(dict.fromkeys(terms)), sizes, v.ONE_SIZE)


_MATERIAL_ALIASES: Final = {
    "丝绸": "真丝",
    "桑蚕丝": "真丝",
    "纯棉": "棉",
    "全棉": "棉",
    "棉质": "棉",
    "棉布": "棉",
    "麻": "亚麻",
    "牛仔": "牛仔布",
    "真皮": "皮革",
    "牛皮": "皮革",
    "皮质": "皮革",
    "皮": "皮革",
    "铝": "铝合金",
    "瓷": "陶瓷",
    "woolen": "羊毛",
    "woollen": "羊毛",
    "aluminum": "铝合金",
    "porcelain": "陶瓷",
}
_ONE_SIZE_WORDS: Final = ("均码", "one size", "one-size", "free size")


def _inflections(word: str) -> tuple[str, ...]:
    """The word and, for English, the plural/singular of its last word."""
    head, _, last = word.rpartition(" ")
    if not re.fullmatch(r"[A-Za-z][A-Za-z-]*", last):
        return (word,)
    prefix = f"{head} " if head else ""
    forms = [last]
    if last.endswith("ies"):
        forms.append(last[:-3] + "y")
    elif re.search(r"(ss|x|ch|sh)es$", last):
        forms.append(last[:-2])
    elif last.endswith("s") and not last.endswith("ss"):
        forms.append(last[:-1])
    else:
        if re.search(r"(s|x|z|ch|sh)$", last):
            forms.append(last + "es")
        elif re.search(r"[^aeiou]y$", last):
            forms.append(last[:-1] + "ies")
        else:
            forms.append(last + "s")
    return tuple(dict.fromkeys(prefix + form for form in forms))


# --------------------------------------------------------------------- segmentation

# Characters that may sit between vocabulary words inside one jieba word ("红的",
# "深蓝色"); a jieba word made only of these and vocabulary words is split.
_GLUE_CHARS: Final = frozenset("的和与或跟配色款码号深浅淡亮暗")
# Common words that contain a vocabulary character but name no attribute: taught to
# the segmenter as whole words and never split ("包邮" is free shipping, not a bag).
_NOT_ATTRIBUTE_WORDS: Final = frozenset(
    """
    网红 红包 红利 红酒 红人 走红 爆红 红火 红薯 红枣 白领 白菜 白菜价 明白 白天 空白 白送 蓝牙 蓝图
    黑科技 黑五 黑名单 粉丝 粉底 灰心 包邮 包装 包括 包含 打包 面包 包容 承包 钱包 裤腰 鞋垫 鞋带
    """.split()  # noqa: SIM905 - a word list reads better as text
)
_MAX_MERGE: Final = 6


class _Segmenter:
    """jieba, told the vocabulary, without touching the global jieba dictionary."""

    def __init__(self, han_terms: Iterable[str]) -> None:
        import logging

        import jieba

        terms = set(han_terms)
        jieba.setLogLevel(logging.WARNING)
        self._jieba = jieba.Tokenizer()
        self._jieba.initialize()
        self.known: frozenset[str] = frozenset(term.lower() for term in terms)
        self._longest = max((len(term) for term in self.known), default=1)
        for term in sorted(self.known | terms | _NOT_ATTRIBUTE_WORDS):
            if len(term) > 1:
                self._jieba.add_word(term)

    def __call__(self, text: str) -> list[str]:
        pieces: list[str] = []
        for word in self._jieba.cut(text, HMM=False):
            if not word:
                continue
            split = None
            if len(word) > 1 and _ALL_HAN.match(word) and not self._is_known(word):
                split = None if word in _NOT_ATTRIBUTE_WORDS else self._decompose(word)
            pieces.extend(split or [word])
        return self._merge(pieces)

    def _is_known(self, word: str) -> bool:
        return word.lower() in self.known

    def _decompose(self, word: str) -> list[str] | None:
        """Fewest pieces covering `word`, each a vocabulary word or a glue character,
        at least one of them a vocabulary word; None when there is no such cover."""
        n = len(word)
        best: list[tuple[int, int, list[str]] | None] = [None] * (n + 1)
        best[0] = (0, 0, [])
        for end in range(1, n + 1):
            for start in range(max(0, end - self._longest), end):
                prev = best[start]
                piece = word[start:end]
                if prev is None:
                    continue
                if self._is_known(piece):
                    cand = (prev[0] + 1, prev[1] + 1, [*prev[2], piece])
                elif len(piece) == 1 and piece in _GLUE_CHARS:
                    cand = (prev[0] + 1, prev[1], [*prev[2], piece])
                else:
                    continue
                cur = best[end]
                if cur is None or (cand[0], -cand[1]) < (cur[0], -cur[1]):
                    best[end] = cand
        found = best[n]
        return found[2] if found is not None and found[1] > 0 else None

    def _merge(self, pieces: list[str]) -> list[str]:
        """Join neighbouring pieces that spell a vocabulary word ("小白" + "鞋")."""
        out: list[str] = []
        i = 0
        while i < len(pieces):
            taken = 1
            for j in range(min(len(pieces), i + _MAX_MERGE), i + 1, -1):
                group = pieces[i:j]
                if any(p.isspace() for p in group):
                    continue
                if self._is_known("".join(group)):
                    taken = j - i
                    break
            out.append("".join(pieces[i : i + taken]))
            i += taken
        return out


class _SegmentingTokenizer:
    """A spaCy tokenizer (text -> Doc) over a word segmenter; keeps whitespace."""

    def __init__(self, vocab: Vocab, segment: Callable[[str], list[str]]) -> None:
        self.vocab = vocab
        self.segment = segment

    def __call__(self, text: str) -> Doc:
        from spacy.tokens import Doc
        from spacy.util import get_words_and_spaces

        words, spaces = get_words_and_spaces([w for w in self.segment(text) if w], text)
        return Doc(self.vocab, words=words, spaces=spaces)


# -------------------------------------------------------------------------- numbers

_ZH_DIGITS: Final = ZH_DIGITS
_SMALL_UNITS: Final = {"十": 10, "百": 100, "千": 1000, "k": 1000}
_BIG_UNITS: Final = {"万": 10000, "w": 10000}


def parse_number(raw: str) -> Decimal | None:
    """ "300", "3百", "三百", "三百五" (350), "一千二" (1200), "1.5k", "两万五" -> value."""
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
        if ch in _ZH_DIGITS:
            if _ZH_DIGITS[ch] == 0:
                number, shorthand = None, False
            else:
                number = Decimal(_ZH_DIGITS[ch])
                shorthand = after_unit
            after_unit = False
        elif ch in _SMALL_UNITS:
            unit = _SMALL_UNITS[ch]
            section += (number if number is not None else Decimal(1)) * unit
            number, last_unit, after_unit, shorthand = None, unit, True, False
        elif ch in _BIG_UNITS:
            unit = _BIG_UNITS[ch]
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


# ----------------------------------------------------------------------------- cues

_CUE_PATTERNS: Final[tuple[tuple[str, re.Pattern[str]], ...]] = tuple(
    (label, re.compile(pattern))
    for label, pattern in (
        (
            CHEAPER,
            _either(
                "不要太贵 别太贵 不太贵 太贵 不贵 有点贵 好贵 便宜 实惠 划算 平价 低价 省钱 性价比",
                r"cheaper|cheapest|cheap|less expensive|more affordable|affordable|inexpensive"
                r"|too (?:expensive|pricey)|not (?:too |so )?expensive|lower[- ]priced"
                r"|budget[- ]friendly|bargain",
            ),
        ),
        (
            PRICIER,
            _either(
                "贵一点 贵一些 贵些 贵点 更贵 再贵 更好 好一点 好一些 好点的"
                " 高档 高端 上档次 档次高 品质好 质量好 轻奢 奢华",
                r"pricier|priciest|more expensive|more premium|premium|high[- ]end|higher[- ]end"
                r"|better quality|higher quality|fancier|upscale|luxury|luxurious|nicer"
                r"|top[- ]of[- ]the[- ]line",
            ),
        ),
        (
            OTHER_COLOR,
            _either(
                "(?:换|别|其他|其它|另外|另)(?:一个|一种|个|种|的|些|款)?(?:颜色|色|配色)"
                " 还有(?:什么|哪些|别的|其他|其它)颜色",
                r"(?:another|different|other|new)\s+colou?rs?|change (?:the )?colou?r",
            ),
        ),
        (
            IN_STOCK,
            _either(
                "有货 现货 有库存 库存充足 能发货",
                "in[- ]stock|available now|ready to ship|on hand",
            ),
        ),
    )
)


def find_cues(text: str) -> list[tuple[int, int, str]]:
    """(start, end, label) of the cue phrases in lower-cased, normalised text."""
    found: list[tuple[int, int, str]] = []
    for label, pattern in _CUE_PATTERNS:
        for match in pattern.finditer(text):
            start, end = match.span()
            if not any(start < e and s < end for s, e, _ in found):
                found.append((start, end, label))
    return sorted(found)


# ------------------------------------------------------------------- size patterns

_SIZE_CODES: Final = {"s": "S", "m": "M", "l": "L", "xl": "XL", "xxl": "XXL", "2xl": "XXL"}
_SIZE_WORDS: Final = {"small": "S", "medium": "M", "large": "L"}
_SIZE_AFTER: Final = ["码", "号", "size", "尺码", "码数"]
_SIZE_BEFORE_WORDS: Final = ["size", "尺码", "码数", "尺寸"]
_SIZE_LINK: Final = [":", "：", "是", "为", "选", "要", "穿"]
_TWO_DIGITS: Final = r"^\d{2}$"
_SHOE_SIZE_RANGE: Final = range(30, 51)


def _size_patterns() -> dict[str, list[list[dict[str, Any]]]]:
    codes = list(_SIZE_CODES)
    words = list(_SIZE_WORDS)
    return {
        "SIZE_AFTER": [  # "M码", "XL号", "M size", "42码"
            [{"LOWER": {"IN": codes}}, {"LOWER": {"IN": _SIZE_AFTER}}],
            [{"TEXT": {"REGEX": _TWO_DIGITS}}, {"LOWER": {"IN": _SIZE_AFTER}}],
            [{"LOWER": {"IN": words}}, {"LOWER": "size"}],
        ],
        "SIZE_BEFORE": [  # "size M", "尺码：42", "size medium"
            [
                {"LOWER": {"IN": _SIZE_BEFORE_WORDS}},
                {"LOWER": {"IN": _SIZE_LINK}, "OP": "?"},
                {"LOWER": {"IN": codes + words}},
            ],
            [
                {"LOWER": {"IN": _SIZE_BEFORE_WORDS}},
                {"LOWER": {"IN": _SIZE_LINK}, "OP": "?"},
                {"TEXT": {"REGEX": _TWO_DIGITS}},
            ],
            [
                {"LOWER": {"IN": _SIZE_BEFORE_WORDS}, "OP": "?"},
                {"LOWER": "extra"},
                {"LOWER": "large"},
            ],
            [{"LOWER": "x"}, {"LOWER": "-"}, {"LOWER": "large"}],
        ],
        "SIZE_IN": [  # "a dress in medium", "in XL"
            [
                {"LOWER": "in"},
                {"LOWER": {"IN": ["a", "an", "size"]}, "OP": "?"},
                {"LOWER": {"IN": [*words, "xl", "xxl", "2xl"]}},
            ],
            [{"LOWER": "in"}, {"ORTH": {"IN": ["S", "M", "L"]}}],
        ],
        "SIZE_RANGE": [  # "38-40码", "size 38 to 40"
            [
                {"TEXT": {"REGEX": _TWO_DIGITS}},
                {"LOWER": {"IN": ["-", "~", "到", "至", "—", "–", "to"]}},
                {"TEXT": {"REGEX": _TWO_DIGITS}},
                {"LOWER": {"IN": _SIZE_AFTER}},
            ],
            [
                {"LOWER": {"IN": _SIZE_BEFORE_WORDS}},
                {"LOWER": {"IN": _SIZE_LINK}, "OP": "?"},
                {"TEXT": {"REGEX": _TWO_DIGITS}},
                {"LOWER": {"IN": ["-", "~", "到", "至", "—", "–", "to"]}},
                {"TEXT": {"REGEX": _TWO_DIGITS}},
            ],
        ],
        "SIZE_CODE": [[{"LOWER": {"IN": ["xl", "xxl", "2xl"]}}]],  # unambiguous alone
        "SIZE_LETTER": [[{"ORTH": {"IN": ["S", "M", "L"]}}]],  # needs Chinese around it
    }


# -------------------------------------------------------------------------- filler

_FILLER: Final = STOPWORDS | frozenset(
    """
    想要 想买 买 购买 找 找找 看看 看 看一下 推荐 推荐一下 有没有 没有 还有 一件 一条 一双
    一个 一款 一套 一只 一下 一点 一些 点 些 件 条 双 款 只 套 给我 帮 帮我 来 来个 来一 还 再
    哪些 哪个 哪款 怎么样 如何 不能 需要 求 价格 价位 价钱 预算 元 块 钱 颜色 尺码 码 号 尺寸
    和 或 或者 跟 以及 呀 哦 嗯 不要 不想要 别 不是 除了 不含 更 比较 稍微
    i'm im 'm 'd 's 're n't looking look want wanna need show find get buy some any something
    anything pls got recommend recommendation recommendations suggest suggestion like me one ones
    item items price prices budget cost costs colour color colours colors size sizes dollars yuan
    bucks rmb no not without except don't dont just also maybe hi hello hey thanks
    m d s t ll ve re
    """.split()  # noqa: SIM905 - a word list reads better as text
)
_COLOR_MODIFIERS: Final = frozenset(
    "深 浅 淡 亮 暗 纯 dark light pale bright deep".split()  # noqa: SIM905
)
_CONJUNCTIONS: Final = frozenset("和 或 或者 与 跟 及 、 / & and or nor".split())  # noqa: SIM905
_NEGATIONS: Final = frozenset(
    "不要 不想要 别 不是 非 除了 不含 no not without except n't don't dont never".split()  # noqa: SIM905
)
# An English category word followed by one of these is an adjective ("top-rated").
_NOT_A_NOUN_BEFORE: Final = frozenset(
    "rated quality notch seller sellers selling brand brands pick picks choice".split()  # noqa: SIM905
)


# ---------------------------------------------------------------------------- parser


@dataclass
class _Pipeline:
    nlp: Language
    phrases: PhraseMatcher
    exact: PhraseMatcher
    sizes: Matcher
    chinese: bool


@dataclass(frozen=True)
class _Entity:
    start: int  # token indices
    end: int
    label: str
    values: tuple[str, ...]  # one value, or the sizes of a size range ("38-40码")
    category: str | None
    chars: int


@dataclass(frozen=True)
class _Analysis:
    doc: Doc
    chinese: bool
    entities: list[_Entity]
    negated: list[_Entity]
    prices: list[_PriceHit]
    cues: list[tuple[int, int, str]]


class QueryParser:
    """Parses shopper messages against a vocabulary; spaCy is loaded on first use."""

    def __init__(self, vocabulary: QueryVocabulary) -> None:
        self.vocabulary = vocabulary
        self._sizes = {size.upper() for size in vocabulary.sizes if size.isalnum()}
        self._pipelines: dict[str, _Pipeline] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_catalog_vocabulary(cls) -> QueryParser:
        return cls(QueryVocabulary.from_catalog())

    # -- building

    def _pipeline(self, name: str) -> _Pipeline:
        pipeline = self._pipelines.get(name)
        if pipeline is None:
            with self._lock:
                if not self._pipelines:
                    self._pipelines = self._build()
                pipeline = self._pipelines[name]
        return pipeline

    def warm_up(self) -> None:
        """Build both pipelines now (2-3 s with the imports) rather than on the first
        message."""
        self._pipeline("zh")

    def _build(self) -> dict[str, _Pipeline]:
        import spacy

        han_terms = [t.text for t in self.vocabulary.terms if _HAN.search(t.text)]
        zh = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
        zh.tokenizer = _SegmentingTokenizer(zh.vocab, _Segmenter(han_terms))
        en = spacy.blank("en")
        return {"zh": self._matchers(zh, chinese=True), "en": self._matchers(en, chinese=False)}

    def _matchers(self, nlp: Language, *, chinese: bool) -> _Pipeline:
        from spacy.matcher import Matcher, PhraseMatcher

        phrases = PhraseMatcher(nlp.vocab, attr="LOWER")
        exact = PhraseMatcher(nlp.vocab, attr="ORTH")
        lower: dict[str, list[Doc]] = {}
        orth: dict[str, list[Doc]] = {}
        for term in self.vocabulary.terms:
            if not chinese and _HAN.search(term.text):
                continue
            key = _KEY_SEP.join((term.label, term.value, term.category or ""))
            if term.exact_case:
                for spelling in dict.fromkeys((term.text, term.text.upper())):
                    orth.setdefault(key, []).append(nlp.make_doc(spelling))
            else:
                lower.setdefault(key, []).append(nlp.make_doc(term.text))
        for key, docs in lower.items():
            phrases.add(key, docs)
        for key, docs in orth.items():
            exact.add(key, docs)
        sizes = Matcher(nlp.vocab)
        for key, patterns in _size_patterns().items():
            sizes.add(key, patterns)
        return _Pipeline(nlp, phrases, exact, sizes, chinese)

    # -- parsing

    def pipeline_for(self, text: str, language: str | None = None) -> str:
        """ "zh" or "en": Han text always needs the Chinese segmenter."""
        if _HAN.search(text):
            return "zh"
        lang = (language or "").lower().replace("_", "-")
        return "zh" if lang.startswith("zh") else "en"

    def annotate(self, text: str, language: str | None = None) -> Doc:
        """The spaCy Doc of the normalised text, with the recognised entities set
        (labels CATEGORY, COLOR, SIZE, BRAND, MATERIAL, STYLE, PRICE and the cues;
        `kb_id_` holds the value) and `doc.spans["negated"]`; for debugging."""
        return self._analyse(text, language).doc

    def parse(self, text: str, language: str | None = None) -> ParsedQuery:
        found = self._analyse(text, language)
        entities, prices, cues = found.entities, found.prices, found.cues

        def values(label: str) -> tuple[str, ...]:
            return tuple(dict.fromkeys(v for e in entities if e.label == label for v in e.values))

        categories = [
            e.category if e.label == STYLE else e.values[0]
            for e in entities
            if e.label in (CATEGORY, STYLE)
        ]
        categories = [c for c in categories if c]
        category = (categories[-1] if found.chinese else categories[0]) if categories else None

        low: int | None = None
        high: int | None = None
        for hit in prices:
            if hit.low is not None:
                low = hit.low if low is None else max(low, hit.low)
            if hit.high is not None:
                high = hit.high if high is None else min(high, hit.high)
        if low is not None and high is not None and low > high:
            low, high = high, low

        price_cues = [label for _, _, label in cues if label in (CHEAPER, PRICIER)]
        last_price_cue = price_cues[-1] if price_cues else None
        cue_labels = {label for _, _, label in cues}

        return ParsedQuery(
            category=category,
            colors=values(COLOR),
            sizes=values(SIZE),
            brands=values(BRAND),
            materials=values(MATERIAL),
            styles=values(STYLE),
            price_min_cents=low,
            price_max_cents=high,
            cheaper=last_price_cue == CHEAPER,
            pricier=last_price_cue == PRICIER,
            other_color=OTHER_COLOR in cue_labels,
            in_stock_only=IN_STOCK in cue_labels,
            terms=self._terms(found),
        )

    def _analyse(self, text: str, language: str | None) -> _Analysis:
        from spacy.util import filter_spans

        norm = normalise(text)
        pipeline = self._pipeline(self.pipeline_for(norm, language))
        doc = pipeline.nlp.make_doc(norm)
        lowered = _lower_same_length(norm)
        prices = find_prices(lowered)
        cues = find_cues(lowered)

        blocked: set[int] = set()  # tokens inside price or cue phrases
        special: list[Span] = []
        for start, end, label in [(h.start, h.end, PRICE) for h in prices] + cues:
            span = doc.char_span(start, end, label=label, alignment_mode="expand")
            if span is not None:
                blocked.update(range(span.start, span.end))
                special.append(span)

        candidates = [
            e
            for e in self._candidates(doc, pipeline)
            if not blocked.intersection(range(e.start, e.end))
        ]
        chosen: list[_Entity] = []
        used: set[int] = set()
        for cand in sorted(
            candidates, key=lambda e: (-e.chars, e.start, _LABEL_PRIORITY.get(e.label, 9))
        ):
            if used.isdisjoint(range(cand.start, cand.end)):
                chosen.append(cand)
                used.update(range(cand.start, cand.end))
        chosen.sort(key=lambda e: e.start)

        by_token = {i: e for e in chosen for i in range(e.start, e.end)}
        negated: list[_Entity] = []
        for entity in chosen:  # in text order: "不要红色和黑色" negates both
            if _negated(doc, entity, by_token, blocked, negated):
                negated.append(entity)
        entities = [e for e in chosen if e not in negated]

        spans = [_span(doc, e) for e in entities] + special
        doc.ents = filter_spans(spans)
        doc.spans["negated"] = [_span(doc, e) for e in negated]
        return _Analysis(doc, pipeline.chinese, entities, negated, prices, cues)

    def _candidates(self, doc: Doc, pipeline: _Pipeline) -> Iterator[_Entity]:
        strings = doc.vocab.strings
        for matcher in (pipeline.phrases, pipeline.exact):
            for match_id, start, end in matcher(doc):
                label, value, category = strings[match_id].split(_KEY_SEP)
                if label == CATEGORY and not self._is_noun(doc, start, end):
                    continue
                chars = doc[end - 1].idx + len(doc[end - 1]) - doc[start].idx
                yield _Entity(start, end, label, (value,), category or None, chars)
        for match_id, start, end in pipeline.sizes(doc):
            kind = strings[match_id]
            if kind == "SIZE_LETTER" and not _letter_is_size(doc, start, pipeline.chinese):
                continue
            if kind == "SIZE_RANGE":
                sizes = self._size_range(doc[start:end])
            else:
                size = self._size_value(doc[start:end])
                sizes = (size,) if size is not None else ()
            if sizes:
                chars = doc[end - 1].idx + len(doc[end - 1]) - doc[start].idx
                yield _Entity(start, end, SIZE, sizes, None, chars)

    @staticmethod
    def _is_noun(doc: Doc, start: int, end: int) -> bool:
        """ "top" in "top-rated dresses" or "top quality" is no category."""
        if end >= len(doc) or not doc[start:end].text.isascii():
            return True
        after = doc[end]
        if after.text == "-" and not doc[end - 1].whitespace_:
            return False
        return after.lower_ not in _NOT_A_NOUN_BEFORE

    def _size_range(self, span: Span) -> tuple[str, ...]:
        """ "38-40码" -> the sizes the store sells from 38 to 40 (or the two ends)."""
        low, high = sorted(int(t.text) for t in span if re.fullmatch(r"\d{2}", t.text))
        if low not in _SHOE_SIZE_RANGE or high not in _SHOE_SIZE_RANGE:
            return ()
        sold = tuple(str(n) for n in range(low, high + 1) if str(n) in self._sizes)
        return sold or tuple(dict.fromkeys((str(low), str(high))))

    def _size_value(self, span: Span) -> str | None:
        text = span.text.lower()
        if "large" in text and ("extra" in text or "x" in [t.lower_ for t in span]):
            return "XL"
        for token in reversed(span):
            low = token.lower_
            if low in _SIZE_WORDS:
                return _SIZE_WORDS[low]
            if low in _SIZE_CODES:
                code = _SIZE_CODES[low]
                return code if code in self._sizes or not self._sizes else None
            if re.fullmatch(r"\d{2}", low):
                number = int(low)
                by_hao = any(t.text == "号" for t in span)
                if str(number) in self._sizes or (not by_hao and number in _SHOE_SIZE_RANGE):
                    return str(number)
                return None
        return None

    @staticmethod
    def _terms(found: _Analysis) -> str:
        doc = found.doc
        drop: set[int] = set()
        for e in [*found.negated, *(e for e in found.entities if e.label not in (CATEGORY, STYLE))]:
            drop.update(range(e.start, e.end))
        spans = [(h.start, h.end) for h in found.prices] + [(s, e) for s, e, _ in found.cues]
        for start, end in spans:
            span = doc.char_span(start, end, alignment_mode="expand")
            if span is not None:
                drop.update(range(span.start, span.end))
        colour_starts = {e.start for e in found.entities if e.label == COLOR}
        for token in doc:  # "深" of "深蓝色", "dark" of "dark blue"
            after = token.i + 1 + int(token.i + 1 < len(doc) and doc[token.i + 1].is_space)
            if token.lower_ in _COLOR_MODIFIERS and after in colour_starts:
                drop.add(token.i)
        nouns = {
            i for e in found.entities if e.label in (CATEGORY, STYLE) for i in range(e.start, e.end)
        }
        keep = [
            not token.is_space
            and (
                token.i in nouns  # all of "A-line dress"
                or (
                    token.i not in drop
                    and bool(_WORD.search(token.text))
                    and token.lower_ not in _FILLER
                )
            )
            for token in doc
        ]
        for token in doc:  # the hyphen inside "T-shirt" or "A-line"
            i = token.i
            if (
                token.text in {"-", "'"}
                and 0 < i < len(doc) - 1
                and keep[i - 1]
                and keep[i + 1]
                and not doc[i - 1].whitespace_
                and not token.whitespace_
            ):
                keep[i] = True
        out = ""
        prev: Token | None = None
        for token in doc:
            if not keep[token.i]:
                continue
            if prev is not None and (
                (prev.i + 1 == token.i and prev.whitespace_)
                or (
                    prev.i + 1 != token.i
                    and prev.text[-1].isascii()
                    and prev.text[-1].isalnum()
                    and token.text[0].isascii()
                )
            ):
                out += " "
            out += token.text
            prev = token
        return out


def _span(doc: Doc, entity: _Entity) -> Span:
    from spacy.tokens import Span

    return Span(doc, entity.start, entity.end, label=entity.label, kb_id=",".join(entity.values))


def _letter_is_size(doc: Doc, i: int, chinese: bool) -> bool:
    """A bare S/M/L is a size only as the whole message or next to Chinese ("要M的")."""
    words = [t for t in doc if not t.is_space and not t.is_punct]
    if len(words) == 1 and words[0].i == i:
        return True
    if not chinese:
        return False
    near = [doc[j] for j in (i - 1, i + 1) if 0 <= j < len(doc)]
    return any(_HAN.search(t.text) for t in near)


def _negated(
    doc: Doc,
    entity: _Entity,
    by_token: dict[int, _Entity],
    blocked: set[int],
    negated: list[_Entity],
) -> bool:
    """A negation within the three words before the entity ("不要红色", "not red"), or
    a negated entity of the same kind joined to it by a conjunction ("不要红色和黑色")."""
    only_conjunctions = True
    steps = 0
    j = entity.start - 1
    while j >= 0 and steps < 3:
        token = doc[j]
        other = by_token.get(j)
        if other is not None:
            return only_conjunctions and other.label == entity.label and other in negated
        if j in blocked:
            return False
        if token.lower_ in _NEGATIONS:
            return True
        if token.lower_ not in _CONJUNCTIONS:
            if token.is_punct:
                return False
            only_conjunctions = False
        if not token.is_space:
            steps += 1
        j -= 1
    return False


def normalise(text: str) -> str:
    """NFKC (full-width digits, letters and ￥ become ASCII) and trimmed whitespace."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip()


def _lower_same_length(text: str) -> str:
    return "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in text)


_default: QueryParser | None = None
_default_lock = threading.Lock()


def default_query_parser() -> QueryParser:
    """One parser over the catalog vocabulary for the whole process."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = QueryParser.from_catalog_vocabulary()
    return _default


__all__ = [
    "ParsedQuery",
    "QueryParser",
    "QueryVocabulary",
    "VocabularyTerm",
    "default_query_parser",
    "find_cues",
    "find_prices",
    "normalise",
    "parse_number",
]
