"""BM25 and dense retrieval fused by reciprocal rank fusion (RRF).

BM25 scores and cosine similarities live on scales that cannot be added, and their
spread depends on the query; RRF only uses each list's ranks
(score = sum of weight / (k + rank), k = 60 as in Cormack et al. 2009), so it needs no
per-corpus calibration and one strong list cannot drown the other. Because ranks say
nothing about whether the best hit is any good, every hit also carries its raw BM25
score and cosine similarity: callers turn those into a confidence of their own.

Documents may be grouped (chunks of one article, variants of one product): each list
is then ranked by the best document of every group before fusion, so a group is
neither counted twice nor pushed out of the top k by its own siblings.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, cast, get_args

import numpy as np
from numpy.typing import NDArray

from shopmate.search.dense import DenseIndex
from shopmate.search.embeddings import Embedder
from shopmate.search.lexical import (
    BM25Index,
    BoolArray,
    FloatArray,
    Tokenizer,
    as_documents,
    top_rows,
)
from shopmate.text import tokenize

RetrievalMode = Literal["hybrid", "bm25", "dense"]
MODES: tuple[str, ...] = get_args(RetrievalMode)

# A pre-filter: a set of allowed document ids, a predicate on a document id, or a
# boolean mask over the documents in index order (the fast way at 100k documents:
# turning a large id set into rows costs tens of milliseconds per query).
Allowed = Collection[str] | Callable[[str], bool] | NDArray[np.bool_]


def retrieval_mode(value: str) -> RetrievalMode:
    """Validate a mode name from configuration."""
    mode = value.strip().lower()
    if mode not in MODES:
        raise ValueError(f"unknown retrieval mode {value!r}; expected one of {', '.join(MODES)}")
    return cast(RetrievalMode, mode)


@dataclass(frozen=True)
class DocMatch:
    """One matching document of a hit (a chunk of an article, a variant of a product)."""

    id: str
    bm25: float
    cosine: float | None


@dataclass(frozen=True)
class Hit:
    """One ranked result: a document, or a group of documents when grouping is on.

    `score` is the fused RRF score (in "bm25"/"dense" mode the RRF of that one list),
    good for ordering only. `bm25` (0.0 when no query term matched) and `cosine`
    (None without a dense index) are the raw similarities of the group's best
    document in each list: the signals a confidence threshold can be built on.
    """

    id: str
    score: float
    bm25: float
    cosine: float | None
    bm25_rank: int | None
    dense_rank: int | None
    matches: tuple[DocMatch, ...]


class HybridRetriever:
    """Ranks documents for a query by BM25, by embeddings, or by both fused."""

    def __init__(
        self,
        lexical: BM25Index,
        dense: DenseIndex | None = None,
        embedder: Embedder | None = None,
        *,
        groups: Sequence[str] | None = None,
        mode: RetrievalMode = "hybrid",
        rrf_k: int = 60,
        bm25_weight: float = 1.0,
        dense_weight: float = 1.0,
        depth: int = 100,
    ) -> None:
        if dense is not None and dense.ids != lexical.ids:
            raise ValueError("the BM25 and dense indexes must hold the same ids in one order")
        if (dense is None) != (embedder is None):
            raise ValueError("a dense index needs the embedder that built it, and vice versa")
        if groups is not None and len(groups) != len(lexical.ids):
            raise ValueError("one group key per document is needed")
        self.lexical = lexical
        self.dense = dense
        self.embedder = embedder
        self.default_mode = retrieval_mode(mode)
        self.rrf_k = rrf_k
        self.weights = {"bm25": bm25_weight, "dense": dense_weight}
        self.depth = depth
        self._row_of = {doc_id: row for row, doc_id in enumerate(lexical.ids)}
        # Group keys in first-seen order, each document's group number, each group's rows.
        keys = list(lexical.ids) if groups is None else [str(g) for g in groups]
        self._group_keys: list[str] = list(dict.fromkeys(keys))
        number = {key: i for i, key in enumerate(self._group_keys)}
        self._group_of = np.asarray([number[key] for key in keys], dtype=np.intp)
        self._grouped = groups is not None
        self._group_rows: list[list[int]] = [[] for _ in self._group_keys]
        for row, group in enumerate(self._group_of):
            self._group_rows[group].append(row)

    @classmethod
    def build(
        cls,
        documents: Iterable[tuple[str, str]],
        embedder: Embedder | None = None,
        *,
        tokenizer: Tokenizer = tokenize,
        dense: DenseIndex | None = None,
        groups: Sequence[str] | None = None,
        mode: RetrievalMode = "hybrid",
        rrf_k: int = 60,
        bm25_weight: float = 1.0,
        dense_weight: float = 1.0,
        depth: int = 100,
    ) -> HybridRetriever:
        """Index documents; without an embedder only "bm25" mode is available. A
        prebuilt `dense` index (e.g. loaded from disk) skips embedding the documents."""
        items = as_documents(documents)
        lexical = BM25Index(items, tokenizer)
        if embedder is not None and dense is None:
            dense = DenseIndex.build(items, embedder)
        return cls(
            lexical,
            dense if embedder is not None else None,
            embedder,
            groups=groups,
            mode=mode,
            rrf_k=rrf_k,
            bm25_weight=bm25_weight,
            dense_weight=dense_weight,
            depth=depth,
        )

    @property
    def ids(self) -> tuple[str, ...]:
        return self.lexical.ids

    def _mask(self, allowed: Allowed | None) -> BoolArray | None:
        if allowed is None:
            return None
        if isinstance(allowed, np.ndarray):
            if allowed.dtype != np.bool_ or allowed.shape != (len(self.ids),):
                raise ValueError(
                    "a mask filter must be a boolean array with one entry per document"
                )
            return allowed
        mask = np.zeros(len(self.ids), dtype=bool)
        if callable(allowed):
            mask[[row for row, doc_id in enumerate(self.ids) if allowed(doc_id)]] = True
        else:
            rows = [self._row_of[doc_id] for doc_id in allowed if doc_id in self._row_of]
            mask[rows] = True
        return mask

    def _per_group(self, scores: FloatArray, valid: BoolArray) -> tuple[FloatArray, BoolArray]:
        """Each group's best valid document score (and whether it has one)."""
        if not self._grouped:
            return scores, valid
        best = np.full(len(self._group_keys), -np.inf, dtype=np.float32)
        np.maximum.at(best, self._group_of[valid], scores[valid])
        return best, np.isfinite(best)

    def _ranks(self, scores: FloatArray, valid: BoolArray, depth: int) -> NDArray[np.int64]:
        """1-based rank of each unit among the top `depth`; 0 = not in the list."""
        ranks = np.zeros(len(scores), dtype=np.int64)
        top = top_rows(scores, valid, depth)
        ranks[top] = np.arange(1, len(top) + 1)
        return ranks

    def search(
        self,
        query: str,
        k: int = 10,
        *,
        mode: RetrievalMode | None = None,
        allowed: Allowed | None = None,
        query_vector: FloatArray | None = None,
    ) -> list[Hit]:
        """The k best documents (or groups) for the query, best first.

        `allowed` pre-filters documents (ids or predicate) before ranking, so filtered
        out documents neither appear nor take a rank. `query_vector` lets a caller that
        searches several indexes embed the query once.
        """
        mode = retrieval_mode(mode or self.default_mode)
        use_dense = mode in ("hybrid", "dense")
        if use_dense and (self.dense is None or self.embedder is None):
            raise ValueError(f"{mode!r} retrieval needs an embedder")
        if k <= 0 or not self.ids:
            return []
        mask = self._mask(allowed)
        allowed_rows = np.ones(len(self.ids), dtype=bool) if mask is None else mask
        depth = max(self.depth, k)

        bm25 = self.lexical.scores(self.lexical.terms(query))
        bm25_valid = (bm25 > 0) & allowed_rows
        group_bm25, group_bm25_valid = self._per_group(bm25, bm25_valid)
        group_bm25 = np.where(group_bm25_valid, group_bm25, 0.0).astype(np.float32)
        fused = np.zeros(len(self._group_keys), dtype=np.float64)
        bm25_ranks = np.zeros(len(self._group_keys), dtype=np.int64)
        if mode in ("hybrid", "bm25"):
            bm25_ranks = self._ranks(group_bm25, group_bm25_valid, depth)
            fused += np.where(bm25_ranks > 0, self.weights["bm25"] / (self.rrf_k + bm25_ranks), 0)

        cosine: FloatArray | None = None
        group_cosine: FloatArray | None = None
        dense_ranks = np.zeros(len(self._group_keys), dtype=np.int64)
        if (
            self.dense is not None
            and self.embedder is not None
            and (use_dense or query_vector is not None)
        ):
            vector = (
                query_vector if query_vector is not None else self.embedder.encode([query], True)[0]
            )
            cosine = self.dense.scores(vector)
            group_cosine, group_cosine_valid = self._per_group(cosine, allowed_rows)
            if use_dense:
                dense_ranks = self._ranks(group_cosine, group_cosine_valid, depth)
                fused += np.where(
                    dense_ranks > 0, self.weights["dense"] / (self.rrf_k + dense_ranks), 0
                )

        candidates = np.flatnonzero(fused > 0)
        if candidates.size == 0:
            return []
        # Ties (equal RRF) go to the higher cosine, then BM25, then index order.
        tie_cosine = (
            group_cosine[candidates] if group_cosine is not None else np.zeros(candidates.size)
        )
        order = np.lexsort((candidates, -group_bm25[candidates], -tie_cosine, -fused[candidates]))
        hits = []
        for group in candidates[order][:k]:
            hits.append(
                Hit(
                    id=self._group_keys[group],
                    score=float(fused[group]),
                    bm25=float(group_bm25[group]),
                    cosine=float(group_cosine[group]) if group_cosine is not None else None,
                    bm25_rank=int(bm25_ranks[group]) or None,
                    dense_rank=int(dense_ranks[group]) or None,
                    matches=self._matches(group, mode, bm25, bm25_valid, cosine, allowed_rows),
                )
            )
        return hits

    def _matches(
        self,
        group: int,
        mode: RetrievalMode,
        bm25: FloatArray,
        bm25_valid: BoolArray,
        cosine: FloatArray | None,
        allowed_rows: BoolArray,
    ) -> tuple[DocMatch, ...]:
        """The group's matching documents, ordered by their own document-level RRF."""
        rows = [row for row in self._group_rows[group] if allowed_rows[row]]
        if not self._grouped:
            # One document per "group": nothing to order, skip the rank passes.
            return tuple(
                DocMatch(
                    self.ids[row], float(bm25[row]), None if cosine is None else float(cosine[row])
                )
                for row in rows
            )
        ranked: list[tuple[float, int]] = []
        for row in rows:
            score = 0.0
            if mode in ("hybrid", "bm25") and bm25_valid[row]:
                rank = 1 + int(np.count_nonzero(bm25_valid & (bm25 > bm25[row])))
                score += self.weights["bm25"] / (self.rrf_k + rank)
            if mode in ("hybrid", "dense") and cosine is not None:
                rank = 1 + int(np.count_nonzero(allowed_rows & (cosine > cosine[row])))
                score += self.weights["dense"] / (self.rrf_k + rank)
            if score > 0:
                ranked.append((score, row))
        ranked.sort(key=lambda item: (-item[0], item[1]))
        return tuple(
            DocMatch(
                id=self.ids[row],
                bm25=float(bm25[row]),
                cosine=float(cosine[row]) if cosine is not None else None,
            )
            for _, row in ranked
        )
