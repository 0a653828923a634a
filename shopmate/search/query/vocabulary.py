"""The catalog's words the parser matches: categories, styles, brands, materials, colours."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from shopmate.search.query.labels import (
    _ALL_HAN,
    _HAN,
    BRAND,
    CATEGORY,
    COLOR,
    MATERIAL,
    SIZE,
    STYLE,
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
        for material in v.MATERIALS:
            if material.stored is None:  # not sold: nothing to filter on
                continue
            for word in (material.stored, material.code, *material.words, *material.short):
                terms.append(VocabularyTerm(word, MATERIAL, material.stored))
        sizes = tuple(dict.fromkeys(size for spec in v.CATEGORY_SPECS for size in spec.sizes))
        terms += [VocabularyTerm(w, SIZE, v.ONE_SIZE) for w in _ONE_SIZE_WORDS]
        return cls(tuple(dict.fromkeys(terms)), sizes, v.ONE_SIZE)


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
