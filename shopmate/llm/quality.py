"""Cheap checks that generated text is a usable reply at all.

A 135M model often answers a different question ("I'm an AI assistant designed to help
with mathematics"), loops ("黑色, 黑色, 白色, 白色"), or stops mid-word at max_new_tokens.
None of that is unsafe or ungrounded, but none of it should reach a shopper either.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

__all__ = ["echoes_shopper", "is_degenerate", "is_on_topic"]

_STOPWORDS = frozenset(
    """
    a an the and or but if of to in on at for with by from as is are was were be been being
    am do does did have has had it its this that these those you your yours we our us i me
    my he she they them their his her not no yes can could would should will shall may might
    must so than then there here what which who whom when where why how all any some each
    very just also too more most such only own same into over under about after before
    please thank thanks sorry hi hello dear i'm you're we're it's don't can't
    """.split()  # noqa: SIM905 - a word list reads better as text
)
_WORD = re.compile(r"[a-z][a-z'-]+")
_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")
_ID_OR_NUMBER = re.compile(r"[a-z]*\d[\d.,:-]*")
_CLAUSE = re.compile(r"[，,。.!！?？;；、\n]+")


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _terms(text: str) -> set[str]:
    """Content words, Chinese character bigrams, and identifiers/numbers."""
    text = unicodedata.normalize("NFKC", text).casefold()
    terms = {_stem(w.strip("'-")) for w in _WORD.findall(text)} - _STOPWORDS
    for run in _HAN_RUN.findall(text):
        terms |= {run[i : i + 2] for i in range(len(run) - 1)}
    terms |= {m.rstrip(".,:-") for m in _ID_OR_NUMBER.findall(text)}
    return {t for t in terms if len(t) >= 2}


def is_on_topic(text: str, sources: Sequence[str], minimum: int = 2) -> bool:
    """The reply shares at least ``minimum`` terms with the facts and the template: a
    reply about the shopper's order names the order, the product, the amount..."""
    return len(_terms(text) & _terms("\n".join(sources))) >= minimum


def _fold(text: str) -> str:
    return re.sub(r"[\s\"'“”「」]+", " ", unicodedata.normalize("NFKC", text)).casefold().strip()


def echoes_shopper(text: str, user_text: str) -> bool:
    """The reply repeats the shopper's message back (a small model's favourite move)."""
    quoted = _fold(user_text).rstrip("?？!！.。")
    return len(quoted) >= 4 and quoted in _fold(text)


def is_degenerate(text: str) -> bool:
    """Garbled bytes, or a clause, word run or word that repeats: the model is looping."""
    if "\ufffd" in text:
        return True
    content = [w for w in _WORD.findall(text.casefold()) if len(w) >= 4 and w not in _STOPWORDS]
    if any(content.count(word) >= 3 for word in set(content)):
        return True
    clauses = [c.strip().casefold() for c in _CLAUSE.split(text)]
    clauses = [c for c in clauses if len(c) >= 2]
    if len(clauses) != len(set(clauses)):
        return True
    words = _WORD.findall(text.casefold())
    grams = [" ".join(words[i : i + 4]) for i in range(len(words) - 3)]
    if len(grams) != len(set(grams)):
        return True
    han = "".join(_HAN_RUN.findall(text))
    windows = [han[i : i + 6] for i in range(len(han) - 5)]
    return len(windows) != len(set(windows))
