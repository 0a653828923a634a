"""Vector stores for product search, one interface, chosen by SEARCH_BACKEND.

- ``numpy``: the exact DenseIndex matrix product (no dependency beyond numpy).
- ``faiss``: a FAISS exact inner-product index (IndexFlatIP), filtered with an
  IDSelectorBitmap so filtered-out products never take a slot in the top k; saved as
  an index file under var/.
- ``milvus``: a Milvus collection (pymilvus; milvus-lite from a local file URI in tests
  and small stores, a server URI in production). Filters go to Milvus as a boolean
  expression over scalar fields, so the server filters before it ranks.

Every store answers ``search(vector, k, mask, expression)`` with ``(row, cosine)``
pairs, most similar first: `mask` is the boolean filter over rows in index order, and
`expression` the same filter in Milvus syntax (the other stores ignore it).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from shopmate.search.dense import DenseIndex
from shopmate.search.embeddings import l2_normalise
from shopmate.search.lexical import BoolArray

logger = logging.getLogger(__name__)

FloatArray = NDArray[np.float32]
BACKENDS = ("numpy", "faiss", "milvus")


class VectorStore(Protocol):
    name: str

    def search(
        self, vector: FloatArray, k: int, mask: BoolArray | None, expression: str | None = None
    ) -> list[tuple[int, float]]: ...


class NumpyVectorStore:
    name = "numpy"

    def __init__(self, vectors: FloatArray) -> None:
        self.index = DenseIndex([str(i) for i in range(len(vectors))], vectors)

    def search(
        self, vector: FloatArray, k: int, mask: BoolArray | None, expression: str | None = None
    ) -> list[tuple[int, float]]:
        return self.index.search(vector, k, mask)


class FaissVectorStore:
    """Exact search; at 100k × 384 a flat index answers in a few milliseconds, so an
    approximate index (IVF, HNSW) would only trade recall for nothing here."""

    name = "faiss"

    def __init__(self, vectors: FloatArray, index: Any | None = None) -> None:
        import faiss

        self._faiss = faiss
        if index is None:
            index = faiss.IndexFlatIP(int(vectors.shape[1]))
            index.add(np.ascontiguousarray(l2_normalise(vectors), dtype=np.float32))
        self.index = index
        self.count = int(index.ntotal)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._faiss.write_index(self.index, str(path))

    @classmethod
    def load(cls, path: Path) -> FaissVectorStore:
        import faiss

        index = faiss.read_index(str(path))
        return cls(np.zeros((0, index.d), np.float32), index)

    def search(
        self, vector: FloatArray, k: int, mask: BoolArray | None, expression: str | None = None
    ) -> list[tuple[int, float]]:
        if self.count == 0 or k <= 0:
            return []
        query = np.ascontiguousarray(vector.reshape(1, -1), dtype=np.float32)
        params = None
        if mask is not None:
            if not mask.any():
                return []
            # One bit per row, little-endian within each byte, as FAISS expects.
            bitmap = np.packbits(mask.astype(np.uint8), bitorder="little")
            # faiss's Python wrapper takes the numpy bitmap; its stubs do not say so.
            selector = self._faiss.IDSelectorBitmap(bitmap)  # type: ignore[call-arg,arg-type]
            params = self._faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
            k = min(k, int(mask.sum()))
        scores, rows = self.index.search(query, min(k, self.count), params=params)
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0]


class MilvusVectorStore:
    """Products in a Milvus collection: id (= row), vector and the filterable fields."""

    name = "milvus"

    def __init__(self, uri: str, collection: str = "products") -> None:
        from pymilvus import MilvusClient

        self.client = MilvusClient(uri)
        self.collection = collection

    def rebuild(self, vectors: FloatArray, fields: Sequence[dict[str, Any]]) -> None:
        """Drop and fill the collection; `fields[row]` holds the row's scalar fields."""
        from pymilvus import DataType

        if self.client.has_collection(self.collection):
            self.client.drop_collection(self.collection)
        schema = self.client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=int(vectors.shape[1]))
        schema.add_field("category", DataType.VARCHAR, max_length=64)
        schema.add_field("brand", DataType.VARCHAR, max_length=64)
        schema.add_field("material", DataType.VARCHAR, max_length=64)
        schema.add_field("price", DataType.INT64)
        schema.add_field("in_stock", DataType.BOOL)
        schema.add_field(
            "colors", DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=16, max_length=32
        )
        schema.add_field(
            "sizes", DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=32, max_length=16
        )
        index_params = self.client.prepare_index_params()
        index_params.add_index("vector", index_type="FLAT", metric_type="IP")
        self.client.create_collection(self.collection, schema=schema, index_params=index_params)
        normalised = l2_normalise(vectors)
        rows = [
            {"id": row, "vector": normalised[row].tolist(), **fields[row]}
            for row in range(len(fields))
        ]
        for start in range(0, len(rows), 5000):
            self.client.insert(self.collection, rows[start : start + 5000])
        self.client.load_collection(self.collection)

    def count(self) -> int:
        if not self.client.has_collection(self.collection):
            return 0
        stats = self.client.get_collection_stats(self.collection)
        return int(stats.get("row_count", 0))

    def search(
        self, vector: FloatArray, k: int, mask: BoolArray | None, expression: str | None = None
    ) -> list[tuple[int, float]]:
        if k <= 0:
            return []
        limit = k
        if mask is not None:
            if not mask.any():
                return []
            if not expression:
                rows = np.flatnonzero(mask)
                if len(rows) <= 10_000:
                    expression = f"id in {rows.tolist()}"
            # The expression may admit a little more than the mask (a colour in the
            # catalog but not in stock): fetch more, keep the first k the mask allows.
            limit = min(4 * k, 16384)
        results = self.client.search(
            self.collection,
            data=[np.asarray(vector, dtype=np.float32).reshape(-1).tolist()],
            limit=limit,
            filter=expression or "",
            search_params={"metric_type": "IP"},
        )
        hits = [(int(hit["id"]), float(hit["distance"])) for hit in results[0]]
        if mask is not None:
            # The expression already filtered; the mask guards against any field the
            # expression cannot state (it keeps the answer identical to numpy/faiss).
            hits = [(row, score) for row, score in hits if row < len(mask) and mask[row]]
        return hits[:k]
