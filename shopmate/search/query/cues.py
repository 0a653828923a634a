"""Cue phrases ("cheaper", "other colour", "in stock"), size token patterns and filler words."""

from __future__ import annotations

import re
from typing import Any, Final

from shopmate.search.query.labels import CHEAPER, IN_STOCK, OTHER_COLOR, PRICIER
from shopmate.search.query.prices import _either
from shopmate.text import STOPWORDS

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
