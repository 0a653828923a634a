"""Exact inner-product search over L2-normalised vectors, saved as .npy files.

With unit vectors the inner product is the cosine similarity. A brute-force matrix
product is exact and, at 384 dimensions, takes a few milliseconds for 100k documents
on two cores, so no approximate index (and no FAISS dependency) is needed below that
scale; Milvus is the scale-out path behind the same retriever.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from shopmate.search.embeddings import Embedder, l2_normalise
from shopmate.search.lexical import BoolArray, as_documents, top_rows

FloatArray = NDArray[np.float32]

VECTORS_FILE = "vectors.npy"
IDS_FILE = "ids.npy"
META_FILE = "meta.json"


class DenseIndex:
    """Document vectors in one float32 matrix, rows in the order of `ids`."""

    def __init__(self, ids: Sequence[str], vectors: NDArray[Any], model: str = "") -> None:
        matrix = np.asarray(vectors, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[0] != len(ids):
            raise ValueError(f"{len(ids)} ids but vectors of shape {matrix.shape}")
        if len(set(ids)) != len(ids):
            raise ValueError("document ids must be unique")
        self.ids: tuple[str, ...] = tuple(str(i) for i in ids)
        # Re-normalising is cheap and makes inner products cosines whatever the source.
        self.vectors: FloatArray = l2_normalise(matrix)
        self.model = model

    @classmethod
    def build(
        cls, documents: Iterable[tuple[str, str]], embedder: Embedder, batch_size: int = 256
    ) -> DenseIndex:
        """Embed the documents' texts as passages."""
        items = as_documents(documents)
        parts = [
            embedder.encode([doc.text for doc in items[start : start + batch_size]], False)
            for start in range(0, len(items), batch_size)
        ]
        vectors = np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)
        return cls([doc.id for doc in items], vectors, model=embedder.name)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def scores(self, query_vector: NDArray[Any]) -> FloatArray:
        """Cosine similarity of every document to a normalised query vector."""
        query = np.asarray(query_vector, dtype=np.float32).reshape(-1)
        if not len(self.ids):
            return np.zeros(0, dtype=np.float32)
        if query.shape[0] != self.dim:
            raise ValueError(f"query has {query.shape[0]} dimensions, index has {self.dim}")
        return self.vectors @ query

    def search(
        self, query_vector: NDArray[Any], k: int, mask: BoolArray | None = None
    ) -> list[tuple[int, float]]:
        """Up to k `(row, cosine)`, most similar first; `mask` keeps rows."""
        scores = self.scores(query_vector)
        valid = np.ones(len(scores), dtype=bool) if mask is None else mask
        return [(int(row), float(scores[row])) for row in top_rows(scores, valid, k)]

    def save(self, directory: Path) -> None:
        """Write vectors.npy, ids.npy and meta.json; each file is replaced atomically,
        so a reader never sees a half-written array."""
        directory.mkdir(parents=True, exist_ok=True)
        meta = {"model": self.model, "count": len(self.ids), "dim": self.dim}
        ids = np.asarray(self.ids, dtype=np.str_) if self.ids else np.zeros(0, dtype="<U1")
        for name, array in ((VECTORS_FILE, self.vectors), (IDS_FILE, ids)):
            partial = directory / f".{name}.{os.getpid()}.partial"
            with partial.open("wb") as handle:
                np.save(handle, array, allow_pickle=False)
            os.replace(partial, directory / name)
        partial = directory / f".{META_FILE}.{os.getpid()}.partial"
        partial.write_text(json.dumps(meta), encoding="utf-8")
        os.replace(partial, directory / META_FILE)

    @classmethod
    def load(
        cls, directory: Path, expected_model: str | None = None, mmap: bool = False
    ) -> DenseIndex:
        """Read an index written by `save`. `expected_model` guards against mixing
        vectors of one embedding model with queries of another; `mmap` leaves a large
        matrix on disk until pages are touched."""
        meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
        if expected_model is not None and meta.get("model") != expected_model:
            raise ValueError(
                f"index in {directory} was built with {meta.get('model')!r}, not {expected_model!r}"
            )
        vectors = np.load(
            directory / VECTORS_FILE, allow_pickle=False, mmap_mode="r" if mmap else None
        )
        ids = np.load(directory / IDS_FILE, allow_pickle=False)
        if vectors.shape[0] != meta.get("count") or ids.shape[0] != meta.get("count"):
            raise ValueError(f"index files in {directory} do not match each other")
        index = cls.__new__(cls)
        index.ids = tuple(str(i) for i in ids.tolist())
        index.vectors = vectors if mmap else np.ascontiguousarray(vectors, dtype=np.float32)
        index.model = str(meta.get("model", ""))
        return index
