"""BM25 over `(id, text)` documents, with the shared zh/en tokenizer.

Lexical matching is what catches exact policy words, numbers and product names that
embeddings blur ("增值税专用发票", "AirPods"); it is also the cheap half of hybrid
search. bm25s keeps the index as sparse precomputed scores, so one query is a few
numpy additions even at 100k documents.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

import bm25s
import numpy as np
from numpy.typing import NDArray

from shopmate.text import tokenize

FloatArray = NDArray[np.float32]
BoolArray = NDArray[np.bool_]
Tokenizer = Callable[[str], list[str]]


class Document(NamedTuple):
    """What every index takes: a stable id and the text to match against."""

    id: str
    text: str


def as_documents(documents: Iterable[tuple[str, str]]) -> list[Document]:
    """Documents from `(id, text)` pairs; ids must be unique."""
    items = [Document(str(doc_id), str(text)) for doc_id, text in documents]
    if len({doc.id for doc in items}) != len(items):
        raise ValueError("document ids must be unique")
    return items


def top_rows(scores: FloatArray, valid: BoolArray, k: int) -> NDArray[np.intp]:
    """Rows of the k highest valid scores, best first; ties keep the lower row first
    so results are deterministic."""
    candidates = np.flatnonzero(valid)
    if k <= 0 or candidates.size == 0:
        return np.zeros(0, dtype=np.intp)
    values = scores[candidates]
    if candidates.size > k:
        # argpartition is O(n): the only full pass at 100k documents.
        keep = np.argpartition(-values, k - 1)[:k]
        candidates, values = candidates[keep], values[keep]
    order = np.lexsort((candidates, -values))
    return candidates[order]


class BM25Index:
    """Okapi BM25 (Lucene variant, k1=1.5, b=0.75) over the given documents."""

    def __init__(
        self,
        documents: Iterable[tuple[str, str]],
        tokenizer: Tokenizer = tokenize,
        *,
        k1: float = 1.5,
        b: float = 0.75,
    ) -> None:
        items = as_documents(documents)
        self.ids: tuple[str, ...] = tuple(doc.id for doc in items)
        self._tokenizer = tokenizer
        self._bm25 = bm25s.BM25(k1=k1, b=b)
        self._vocab: dict[str, int] = {}
        self._document_frequency = np.zeros(0, dtype=np.int64)
        if items:
            self._bm25.index([tokenizer(doc.text) for doc in items], show_progress=False)
            self._vocab = {t: i for t, i in self._bm25.vocab_dict.items() if t}
            # Column pointers of the sparse score matrix: a term's postings length is
            # its document frequency (every occurrence scores above zero).
            self._document_frequency = np.diff(self._bm25.scores["indptr"]).astype(np.int64)

    def __len__(self) -> int:
        return len(self.ids)

    def terms(self, text: str) -> list[str]:
        """The query terms as the index sees them (same tokenizer as the documents)."""
        return self._tokenizer(text)

    def idf(self, term: str) -> float:
        """Lucene BM25 idf of a term; a term no document holds gets the highest idf."""
        term_id = self._vocab.get(term)
        df = int(self._document_frequency[term_id]) if term_id is not None else 0
        n = len(self.ids)
        return math.log(1.0 + (n - df + 0.5) / (df + 0.5))

    def scores(self, terms: Sequence[str]) -> FloatArray:
        """BM25 score of every document for these query terms (0.0: nothing matched)."""
        known = [self._vocab[t] for t in terms if t in self._vocab]
        if not known:
            return np.zeros(len(self.ids), dtype=np.float32)
        return np.asarray(self._bm25.get_scores_from_ids(known), dtype=np.float32)

    def search(self, query: str, k: int, mask: BoolArray | None = None) -> list[tuple[int, float]]:
        """Up to k `(row, score)` with a positive score, best first; `mask` keeps rows."""
        scores = self.scores(self.terms(query))
        valid = scores > 0
        if mask is not None:
            valid &= mask
        return [(int(row), float(scores[row])) for row in top_rows(scores, valid, k)]
