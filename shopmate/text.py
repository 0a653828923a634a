"""Tokenisation shared by every lexical index (knowledge base, product search).

jieba segments Chinese and keeps Latin words whole, so one tokenizer serves zh, en
and mixed text. English tokens are lower-cased and lightly stemmed so that
"refunds" matches "refund".
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from typing import Any

_WORD = re.compile(r"\w", re.UNICODE)
_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]{2,}")
_LATIN = re.compile(r"^[a-z]+$")

STOPWORDS = frozenset(
    """
    a an the is are was were be been am do does did to of in on at for with by from and or
    i me my we our you your it its this that these those what which how when where who can
    could would should will shall may might please there here have has had if so as about
    的 了 吗 呢 吧 啊 呀 么 嘛 是 我 你 您 他 她 它 们 这 那 个
    有 在 和 与 就 都 也 要 想 请问 请 一下 怎么 什么 多少 可以 能 会 亲 上 给 把 被 让
    """.split()  # noqa: SIM905 - a word list reads better as text
)

# Single-character function words: a bigram containing one (的天, 上的) is noise.
_FUNCTION_CHARS = frozenset(word for word in STOPWORDS if len(word) == 1 and not word.isascii())

_jieba_lock = threading.Lock()
_jieba_ready = False


def _jieba() -> Any:
    """Import jieba and build its dictionary once (about a second), thread-safely."""
    global _jieba_ready
    import jieba

    if not _jieba_ready:
        with _jieba_lock:
            if not _jieba_ready:
                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _jieba_ready = True
    return jieba


def _stem(token: str) -> str:
    if _LATIN.match(token) and len(token) > 3:
        for suffix in ("ies", "es", "s"):
            if token.endswith(suffix) and not token.endswith("ss"):
                return token[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return token


def han_bigrams(text: str) -> list[str]:
    """Overlapping pairs of Chinese characters: robust where jieba mis-segments
    (it splits 买多少钱包邮 into 钱包 "wallet" + 邮; the bigram 包邮 still matches)."""
    return [run[i : i + 2] for run in _HAN_RUN.findall(text) for i in range(len(run) - 1)]


def tokenize(text: str) -> list[str]:
    """Index terms: jieba words (lower-cased, stemmed, no stopwords) + Chinese bigrams."""
    text = text.lower()
    words = [
        _stem(word)
        for word in (w.strip() for w in _jieba().lcut_for_search(text))
        if word and _WORD.search(word) and word not in STOPWORDS
    ]
    bigrams = [
        pair
        for pair in han_bigrams(text)
        if pair not in words and pair not in STOPWORDS and not _FUNCTION_CHARS.intersection(pair)
    ]
    return words + bigrams


def tokenize_all(texts: Iterable[str]) -> list[list[str]]:
    return [tokenize(text) for text in texts]
