"""Which of the shown things the shopper means: "第二个", "the bag", "换成 L 码的红色".

Pure matching over the few options just shown (an order's items, a product's
variants): no model, no database, so it is exact and testable. Colours and sizes are
not read here: the caller passes what the query parser read from the same text
(`QueryParser.variant_choice`), so a colour or a size means the same thing in a
search, a cart and an exchange.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from shopmate.db.vocabulary import COLORS
from shopmate.numerals import ZH_DIGITS

# Colour names the catalog uses (stored in English) and how shoppers write them.
COLOR_NAMES = {c.code: (c.zh, c.words) for c in COLORS}
CN_NUMERALS = {word: value for word, value in ZH_DIGITS.items() if value > 0}
EN_ORDINALS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "one": 1,
    "two": 2,
    "three": 3,
    "last": -1,
}
CN_ORDINAL = re.compile(r"第\s*([一二两三四五六七八九]|\d+)\s*(?:个|件|款|项|样)?|最后一(?:个|件)")
EN_ORDINAL = re.compile(
    r"\b(?:(\d+)(?:st|nd|rd|th)|(first|second|third|fourth|fifth|last))\b", re.I
)
BARE_NUMBER = re.compile(r"^\s*(?:(?:no\.?|number|#)\s*)?(\d{1,2})\s*[.。]?\s*$", re.I)
OPTION_REFERENCE = re.compile(r"^(item|variant)-(\d+)$")


@dataclass(frozen=True)
class Option:
    """One thing shown to the shopper; `words` are what may name it."""

    id: int
    words: tuple[str, ...]
    color: str | None = None
    size: str | None = None


def color_label(color: str | None, language: str) -> str:
    if color is None:
        return ""
    if language == "zh":
        return COLOR_NAMES.get(color, (color, ()))[0]
    return color


def option_reference(kind: str, option_id: int) -> str:
    """The value a button sends for an option (so a typed "1" stays an ordinal)."""
    return f"{kind}-{option_id}"


def ordinal(text: str) -> int | None:
    """1-based position the text names ("第二个", "the 2nd", "2"), -1 for "last"."""
    if match := CN_ORDINAL.search(text):
        if match.group(0).startswith("最后"):
            return -1
        word = match.group(1)
        return CN_NUMERALS.get(word) or int(word)
    if match := EN_ORDINAL.search(text):
        if match.group(1):
            return int(match.group(1))
        return EN_ORDINALS[match.group(2).lower()]
    if match := BARE_NUMBER.match(text):
        return int(match.group(1))
    return None


def ordinals_in(text: str) -> list[int]:
    """Every position the text names, in order: "比较第一个和第三个" -> [1, 3],
    "compare 1 and 2" -> [1, 2], "前两个" / "the first two" -> [1, 2]."""
    if match := re.search(
        r"前\s*([两二三四五]|\d)\s*(?:个|件|款)?|first (two|three|\d)", text, re.I
    ):
        word = (match.group(1) or match.group(2)).lower()
        count = CN_NUMERALS.get(word) or EN_ORDINALS.get(word) or int(word)
        return list(range(1, count + 1))
    found: list[tuple[int, int]] = []
    for m in CN_ORDINAL.finditer(text):
        value = (
            -1 if m.group(0).startswith("最后") else CN_NUMERALS.get(m.group(1)) or int(m.group(1))
        )
        found.append((m.start(), value))
    for m in EN_ORDINAL.finditer(text):
        value = int(m.group(1)) if m.group(1) else EN_ORDINALS[m.group(2).lower()]
        found.append((m.start(), value))
    if not found:
        # "compare 1 and 3", "1和3": bare small numbers joined by and/和/与/vs.
        bare = re.search(r"(?<!\d)(\d)\s*(?:and|&|和|与|跟|vs\.?|,|，|、)\s*(\d)(?!\d)", text, re.I)
        if bare:
            return [int(bare.group(1)), int(bare.group(2))]
    return [value for _, value in sorted(found)]


def pick(
    text: str,
    options: Sequence[Option],
    kind: str,
    *,
    colors: Collection[str] = (),
    sizes: Collection[str] = (),
) -> Option | None:
    """The one option the text names, or None when it names none or several.

    ``colors`` and ``sizes`` are what the text names (`QueryParser.variant_choice`)."""
    text = str(text or "").strip()
    if not text or not options:
        return None
    if match := OPTION_REFERENCE.match(text):
        wanted_kind, wanted_id = match.group(1), int(match.group(2))
        return next((o for o in options if wanted_kind == kind and o.id == wanted_id), None)
    position = ordinal(text)
    if position is not None:
        if position == -1:
            return options[-1]
        return options[position - 1] if 1 <= position <= len(options) else None
    upper_sizes = {size.upper() for size in sizes}
    candidates = [
        o
        for o in options
        if (not colors or o.color in colors)
        and (not sizes or (o.size or "").upper() in upper_sizes)
    ]
    if not colors and not sizes:
        # By name: "the bag", "连衣裙那件" (a part of "真丝连衣裙").
        scores = {o.id: _name_score(text, o.words) for o in candidates}
        best = max(scores.values(), default=0)
        candidates = [o for o in candidates if best > 0 and scores[o.id] == best]
    return candidates[0] if len(candidates) == 1 else None


def _name_score(text: str, words: tuple[str, ...]) -> int:
    lowered = text.lower()
    score = 0
    for word in words:
        if word.isascii():
            score += len(word) if _contains_word(lowered, word.lower()) else 0
        else:
            # Chinese names are matched by shared character pairs, so a shortened
            # name ("连衣裙") still names the item ("真丝连衣裙"); the last character
            # is the noun ("那个包" is the "托特包").
            score += 2 * sum(1 for i in range(len(word) - 1) if word[i : i + 2] in text)
            score += 1 if word[-1] in text else 0
    return score


def _contains_word(text: str, word: str) -> bool:
    if not word:
        return False
    if word.isascii():
        return re.search(rf"\b{re.escape(word)}s?\b", text) is not None
    return word in text
