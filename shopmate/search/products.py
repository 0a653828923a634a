"""Product search: structured filters, BM25 + embeddings fused by RRF, business ranking.

One query goes through:
1. query understanding (query.py, spaCy): colours, sizes, brands, materials, category
   and price phrases become a `ProductFilter`, merged with the conversation's filter;
2. the filter becomes a boolean mask over products (numpy arrays, microseconds at
   100k): category, colour/size of an in-stock variant, brand, material, price range;
   when nothing passes, the least important constraints are relaxed one by one
   (size, colour, material, brand) and the result says which;
3. BM25 (bm25s + the zh/en tokenizer) and the vector store (FAISS, numpy or Milvus)
   each rank the allowed products; reciprocal rank fusion merges them;
4. a business ranking on the fused top candidates: relevance first, then in stock,
   then rating, so of equally relevant products the available, well-rated one leads.

Index files (product vectors) live under var/index/products and are built by
`make index`; the embedding of each distinct product text is cached, so a catalog
update only embeds what changed. No Rasa imports.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from shopmate.catalog import ProductRecord, load_records
from shopmate.db.session import Database
from shopmate.db.vocabulary import COLOR_BY_CODE
from shopmate.search.embeddings import Embedder
from shopmate.search.hybrid import RetrievalMode, retrieval_mode
from shopmate.search.lexical import BM25Index, BoolArray, top_rows
from shopmate.search.query import ParsedQuery, QueryParser
from shopmate.search.vectors import (
    BACKENDS,
    FaissVectorStore,
    MilvusVectorStore,
    NumpyVectorStore,
    VectorStore,
)

logger = logging.getLogger(__name__)

FloatArray = NDArray[np.float32]
RRF_K = 60
DEPTH = 100
# The business ranking may reorder products whose relevance differs by less than this
# (a fraction of the best fused score): ties and near-ties, never a clear winner.
BUSINESS_WEIGHT_STOCK = 0.04
BUSINESS_WEIGHT_RATING = 0.02
CACHE_RECIPE = "product-text-v1"
# Weight of the dense list in the fusion (BM25's is 1): 0.7 measured best at 5k and 100k
# (scripts/bench_search.py; 1.0 let embeddings push exact feature matches out at 100k).
DENSE_WEIGHT = 0.7


@dataclass(frozen=True)
class ProductFilter:
    """Hard constraints of a search. Empty tuples and None mean "any"."""

    category: str | None = None
    colors: tuple[str, ...] = ()
    sizes: tuple[str, ...] = ()
    brands: tuple[str, ...] = ()
    materials: tuple[str, ...] = ()
    price_min_cents: int | None = None
    price_max_cents: int | None = None
    in_stock_only: bool = True
    exclude_ids: tuple[int, ...] = ()
    exclude_colors: tuple[str, ...] = ()

    def merged(self, parsed: ParsedQuery) -> ProductFilter:
        """This filter with what the new message says; the message wins per field."""
        return replace(
            self,
            category=parsed.category or self.category,
            colors=parsed.colors or self.colors,
            sizes=parsed.sizes or self.sizes,
            brands=parsed.brands or self.brands,
            materials=parsed.materials or self.materials,
            price_min_cents=parsed.price_min_cents
            if parsed.price_min_cents is not None
            else self.price_min_cents,
            price_max_cents=parsed.price_max_cents
            if parsed.price_max_cents is not None
            else self.price_max_cents,
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe form for a Rasa slot."""
        return {
            "category": self.category,
            "colors": list(self.colors),
            "sizes": list(self.sizes),
            "brands": list(self.brands),
            "materials": list(self.materials),
            "price_min_cents": self.price_min_cents,
            "price_max_cents": self.price_max_cents,
            "in_stock_only": self.in_stock_only,
            "exclude_ids": list(self.exclude_ids),
            "exclude_colors": list(self.exclude_colors),
        }

    @classmethod
    def from_dict(cls, data: Any) -> ProductFilter:
        """Tolerant of a slot a client may have tampered with: wrong types are ignored."""
        if not isinstance(data, dict):
            return cls()

        def strings(name: str) -> tuple[str, ...]:
            value = data.get(name)
            if not isinstance(value, list):
                return ()
            return tuple(str(v)[:64] for v in value if isinstance(v, str | int))[:20]

        def cents(name: str) -> int | None:
            value = data.get(name)
            return value if isinstance(value, int) and 0 <= value < 10**10 else None

        category = data.get("category")
        ids = data.get("exclude_ids")
        return cls(
            category=category if isinstance(category, str) and category else None,
            colors=strings("colors"),
            sizes=strings("sizes"),
            brands=strings("brands"),
            materials=strings("materials"),
            price_min_cents=cents("price_min_cents"),
            price_max_cents=cents("price_max_cents"),
            in_stock_only=data.get("in_stock_only", True) is not False,
            exclude_ids=tuple(i for i in ids if isinstance(i, int))[:200]
            if isinstance(ids, list)
            else (),
            exclude_colors=strings("exclude_colors"),
        )

    def milvus_expression(self) -> str:
        """The same constraints in Milvus's filter syntax (values are our own codes,
        quoted; anything else is left to the mask)."""
        parts: list[str] = []

        def quoted(values: Sequence[str]) -> str:
            return "[" + ", ".join('"' + v.replace('"', "") + '"' for v in values) + "]"

        if self.category:
            parts.append(f"category == {quoted([self.category])[1:-1]}")
        if self.brands:
            parts.append(f"brand in {quoted(self.brands)}")
        if self.materials:
            parts.append(f"material in {quoted(self.materials)}")
        if self.price_min_cents is not None:
            parts.append(f"price >= {int(self.price_min_cents)}")
        if self.price_max_cents is not None:
            parts.append(f"price <= {int(self.price_max_cents)}")
        if self.in_stock_only:
            parts.append("in_stock == true")
        if self.colors:
            parts.append(f"array_contains_any(colors, {quoted(self.colors)})")
        if self.sizes:
            parts.append(f"array_contains_any(sizes, {quoted(self.sizes)})")
        return " and ".join(parts)


# Constraints given up, in this order, when nothing matches them all.
RELAXABLE = ("sizes", "colors", "materials", "brands", "price_min_cents")


@dataclass(frozen=True)
class ProductHit:
    record: ProductRecord
    score: float
    bm25_rank: int | None
    dense_rank: int | None


@dataclass(frozen=True)
class SearchResult:
    hits: tuple[ProductHit, ...]
    filter: ProductFilter
    parsed: ParsedQuery | None
    relaxed: tuple[str, ...] = ()  # constraints dropped to find anything
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def records(self) -> list[ProductRecord]:
        return [hit.record for hit in self.hits]


class ProductTable:
    """The catalog's filterable attributes as arrays, one row per product."""

    def __init__(self, records: Sequence[ProductRecord]) -> None:
        self.records = list(records)
        n = len(self.records)
        self.category = np.asarray([r.category for r in self.records], dtype=object)
        self.brand = np.asarray([r.brand.lower() for r in self.records], dtype=object)
        self.material = np.asarray([r.material or "" for r in self.records], dtype=object)
        self.price = np.asarray([r.price_cents for r in self.records], dtype=np.int64)
        self.in_stock = np.asarray([r.in_stock for r in self.records], dtype=bool)
        self.rating = np.asarray([r.rating for r in self.records], dtype=np.float32)
        self.row_of_id = {r.id: row for row, r in enumerate(self.records)}
        self.row_of_code = {r.code.upper(): row for row, r in enumerate(self.records)}
        # Per value, the rows that have it: any variant / an in-stock variant.
        self.color_any = self._rows_by(lambda r: r.colors, n)
        self.color_available = self._rows_by(lambda r: r.colors_in_stock, n)
        self.size_any = self._rows_by(lambda r: r.sizes, n)
        self.size_available = self._rows_by(lambda r: r.sizes_in_stock, n)

    def _rows_by(self, values: Any, n: int) -> dict[str, BoolArray]:
        table: dict[str, BoolArray] = {}
        for row, record in enumerate(self.records):
            for value in values(record):
                key = str(value).upper() if value else ""
                table.setdefault(key, np.zeros(n, dtype=bool))[row] = True
        return table

    def _any_of(self, table: dict[str, BoolArray], values: Sequence[str]) -> BoolArray:
        mask = np.zeros(len(self.records), dtype=bool)
        for value in values:
            found = table.get(str(value).upper())
            if found is not None:
                mask |= found
        return mask

    def mask(self, spec: ProductFilter) -> BoolArray:
        mask = np.ones(len(self.records), dtype=bool)
        if spec.category:
            mask &= self.category == spec.category
        if spec.brands:
            mask &= np.isin(self.brand, [b.lower() for b in spec.brands])
        if spec.materials:
            mask &= np.isin(self.material, list(spec.materials))
        if spec.price_min_cents is not None:
            mask &= self.price >= spec.price_min_cents
        if spec.price_max_cents is not None:
            mask &= self.price <= spec.price_max_cents
        if spec.in_stock_only:
            mask &= self.in_stock
        colors = self.color_available if spec.in_stock_only else self.color_any
        sizes = self.size_available if spec.in_stock_only else self.size_any
        if spec.colors:
            mask &= self._any_of(colors, spec.colors)
        if spec.exclude_colors:
            mask &= self._any_of(colors, [c for c in COLOR_BY_CODE if c not in spec.exclude_colors])
        if spec.sizes:
            mask &= self._any_of(sizes, spec.sizes)
        if spec.exclude_ids:
            rows = [self.row_of_id[i] for i in spec.exclude_ids if i in self.row_of_id]
            mask[rows] = False
        return mask

    def milvus_fields(self, row: int) -> dict[str, Any]:
        record = self.records[row]
        return {
            "category": record.category,
            "brand": record.brand.lower(),
            "material": record.material or "",
            "price": record.price_cents,
            "in_stock": record.in_stock,
            "colors": list(record.colors)[:16],
            "sizes": [s.upper() for s in record.sizes][:32],
        }


class EmbeddingCache:
    """Vectors of product texts by content hash, saved under var/index/products, so
    rebuilding the index only embeds texts it has not seen (5k and 100k catalogs of
    the same generator share most titles)."""

    def __init__(self, directory: Path | None, embedder: Embedder) -> None:
        self.directory = directory
        self.embedder = embedder
        self.vectors: dict[str, FloatArray] = {}
        self._dirty = False
        if directory is not None:
            self._load()

    def _key(self, text: str) -> str:
        return hashlib.sha1(f"{CACHE_RECIPE}\n{text}".encode(), usedforsecurity=False).hexdigest()

    def _files(self) -> tuple[Path, Path]:
        if self.directory is None:
            raise ValueError("this cache has no directory")
        stem = hashlib.sha1(self.embedder.name.encode(), usedforsecurity=False).hexdigest()[:12]
        return self.directory / f"cache-{stem}-keys.npy", self.directory / f"cache-{stem}.npy"

    def _load(self) -> None:
        keys_file, vectors_file = self._files()
        if not (keys_file.exists() and vectors_file.exists()):
            return
        try:
            keys = np.load(keys_file, allow_pickle=False)
            vectors = np.load(vectors_file, allow_pickle=False)
        except (OSError, ValueError):
            logger.warning("product embedding cache unreadable; it will be rebuilt")
            return
        if len(keys) == len(vectors):
            self.vectors = {str(k): vectors[i] for i, k in enumerate(keys.tolist())}

    def save(self) -> None:
        if self.directory is None or not self._dirty or not self.vectors:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        keys_file, vectors_file = self._files()
        keys = np.asarray(list(self.vectors), dtype=np.str_)
        matrix = np.stack(list(self.vectors.values())).astype(np.float32)
        for path, array in ((keys_file, keys), (vectors_file, matrix)):
            partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
            with partial.open("wb") as handle:
                np.save(handle, array, allow_pickle=False)
            os.replace(partial, path)
        self._dirty = False

    def encode(self, texts: Sequence[str], batch_size: int = 128) -> FloatArray:
        keys = [self._key(t) for t in texts]
        missing = list(
            dict.fromkeys(t for t, k in zip(texts, keys, strict=True) if k not in self.vectors)
        )
        for start in range(0, len(missing), batch_size):
            batch = missing[start : start + batch_size]
            for text, vector in zip(batch, self.embedder.encode(batch, False), strict=True):
                self.vectors[self._key(text)] = np.asarray(vector, dtype=np.float32)
            self._dirty = True
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([self.vectors[k] for k in keys]).astype(np.float32)


class ProductSearch:
    """Hybrid product search over one catalog snapshot."""

    def __init__(
        self,
        records: Sequence[ProductRecord],
        embedder: Embedder | None,
        store: VectorStore | None,
        parser: QueryParser | None = None,
        mode: RetrievalMode = "hybrid",
    ) -> None:
        if (embedder is None) != (store is None):
            raise ValueError("a vector store needs the embedder of its vectors, and vice versa")
        self.table = ProductTable(records)
        self.records = self.table.records
        self.embedder = embedder
        self.store = store
        self.parser = parser or QueryParser.from_catalog_vocabulary()
        self.mode = retrieval_mode(mode) if embedder is not None else "bm25"
        self.dense_weight = DENSE_WEIGHT
        self.lexical = BM25Index([(str(r.id), r.search_text()) for r in self.records])

    @classmethod
    def build(
        cls,
        records: Sequence[ProductRecord],
        embedder: Embedder | None,
        *,
        backend: str = "faiss",
        index_dir: Path | None = None,
        milvus_uri: str | None = None,
        parser: QueryParser | None = None,
        mode: RetrievalMode = "hybrid",
    ) -> ProductSearch:
        """Embed (through the cache) and index the records in the chosen backend."""
        if embedder is None:
            return cls(records, None, None, parser, "bm25")
        if backend not in BACKENDS:
            raise ValueError(f"unknown SEARCH_BACKEND {backend!r}; expected one of {BACKENDS}")
        cache = EmbeddingCache(index_dir / "products" if index_dir else None, embedder)
        vectors = cache.encode([r.embedding_text() for r in records])
        cache.save()
        store: VectorStore
        if backend == "numpy":
            store = NumpyVectorStore(vectors)
        elif backend == "faiss":
            store = FaissVectorStore(vectors)
        else:
            milvus = MilvusVectorStore(milvus_uri or str(Path("var/index/milvus.db")))
            search = cls(records, embedder, milvus, parser, mode)
            table = search.table
            milvus.rebuild(vectors, [table.milvus_fields(row) for row in range(len(records))])
            return search
        return cls(records, embedder, store, parser, mode)

    def __len__(self) -> int:
        return len(self.records)

    def by_code(self, code: str) -> ProductRecord | None:
        row = self.table.row_of_code.get(code.upper())
        return None if row is None else self.records[row]

    def by_id(self, product_id: int) -> ProductRecord | None:
        row = self.table.row_of_id.get(product_id)
        return None if row is None else self.records[row]

    def parse(self, text: str, language: str | None = None) -> ParsedQuery:
        return self.parser.parse(text, language)

    def cheapest(self, spec: ProductFilter) -> ProductRecord | None:
        """The cheapest product that meets `spec` apart from its price bounds: what to
        offer when nothing is within the budget ("the cheapest running shoes are ...")."""
        mask = self.table.mask(replace(spec, price_min_cents=None, price_max_cents=None))
        if not mask.any():
            return None
        rows = np.flatnonzero(mask)
        return self.records[int(rows[np.argmin(self.table.price[rows])])]

    def nearest_category(self, text: str, language: str | None = None) -> str | None:
        """The category of the products closest to a kind the catalog does not name
        ("winter jacket" → tops): the majority among the best five matches."""
        result = self.search(text, language, ProductFilter(), k=5, relax=True)
        categories = [hit.record.category for hit in result.hits]
        if not categories:
            return None
        return max(dict.fromkeys(categories), key=categories.count)

    def search(
        self,
        text: str,
        language: str | None = None,
        base: ProductFilter | None = None,
        *,
        k: int = 10,
        mode: RetrievalMode | None = None,
        parsed: ParsedQuery | None = None,
        relax: bool = True,
        query_vector: FloatArray | None = None,
    ) -> SearchResult:
        """The k best products for the text within the filter (base merged with what
        the text says)."""
        timings: dict[str, float] = {}
        start = time.perf_counter()
        if parsed is None:
            parsed = self.parser.parse(text, language)
        spec = (base or ProductFilter()).merged(parsed)
        if parsed.in_stock_only:
            spec = replace(spec, in_stock_only=True)
        timings["parse"] = (time.perf_counter() - start) * 1000
        mask = self.table.mask(spec)
        relaxed: list[str] = []
        if relax and not mask.any():
            spec, mask, relaxed = self._relax(spec)
        timings["filter"] = (time.perf_counter() - start) * 1000 - timings["parse"]
        hits = self._rank(text, spec, mask, k, mode or self.mode, timings, query_vector)
        timings["total"] = (time.perf_counter() - start) * 1000
        return SearchResult(tuple(hits), spec, parsed, tuple(relaxed), timings)

    def _relax(self, spec: ProductFilter) -> tuple[ProductFilter, BoolArray, list[str]]:
        """Give up as little as possible: one constraint (least important first), else
        more and more of them. The budget's ceiling is never given up."""

        def without(base: ProductFilter, name: str) -> ProductFilter:
            cleared: dict[str, Any] = {name: None if name == "price_min_cents" else ()}
            return replace(base, **cleared)

        present = [name for name in RELAXABLE if getattr(spec, name)]
        for name in present:
            candidate = without(spec, name)
            mask = self.table.mask(candidate)
            if mask.any():
                return candidate, mask, [name]
        relaxed: list[str] = []
        mask = self.table.mask(spec)
        for name in present:
            spec = without(spec, name)
            relaxed.append(name)
            mask = self.table.mask(spec)
            if mask.any():
                break
        return spec, mask, relaxed

    def _rank(
        self,
        text: str,
        spec: ProductFilter,
        mask: BoolArray,
        k: int,
        mode: RetrievalMode,
        timings: dict[str, float],
        query_vector: FloatArray | None,
    ) -> list[ProductHit]:
        n = len(self.records)
        if not mask.any() or k <= 0:
            return []
        fused = np.zeros(n, dtype=np.float64)
        bm25_rank = np.zeros(n, dtype=np.int64)
        dense_rank = np.zeros(n, dtype=np.int64)
        started = time.perf_counter()
        if mode in ("hybrid", "bm25"):
            scores = self.lexical.scores(self.lexical.terms(text))
            rows = top_rows(scores, mask & (scores > 0), DEPTH)
            bm25_rank[rows] = np.arange(1, len(rows) + 1)
            fused[rows] += 1.0 / (RRF_K + bm25_rank[rows])
        timings["bm25"] = (time.perf_counter() - started) * 1000
        if mode in ("hybrid", "dense") and self.store is not None and self.embedder is not None:
            started = time.perf_counter()
            vector = (
                query_vector
                if query_vector is not None
                else self.embedder.encode([text or " "], True)[0]
            )
            timings["embed"] = (time.perf_counter() - started) * 1000
            started = time.perf_counter()
            expression = spec.milvus_expression() if self.store.name == "milvus" else None
            found = self.store.search(vector, DEPTH, mask, expression)
            for rank, (row, _score) in enumerate(found, start=1):
                dense_rank[row] = rank
                fused[row] += self.dense_weight / (RRF_K + rank)
            timings["vectors"] = (time.perf_counter() - started) * 1000
        candidates = np.flatnonzero(fused > 0)
        if candidates.size == 0:
            # No text signal (e.g. only filters, or a query in words the index lacks):
            # the allowed products by business value alone.
            candidates = top_rows(
                (self.table.in_stock + self.table.rating / 10).astype(np.float32), mask, k
            )
            relevance = np.zeros(candidates.size)
        else:
            relevance = fused[candidates] / fused[candidates].max()
        business = (
            relevance
            + BUSINESS_WEIGHT_STOCK * self.table.in_stock[candidates]
            + BUSINESS_WEIGHT_RATING * (self.table.rating[candidates] - 3.0) / 2.0
        )
        order = np.lexsort((candidates, -business))[:k]
        return [
            ProductHit(
                record=self.records[candidates[i]],
                score=float(business[i]),
                bm25_rank=int(bm25_rank[candidates[i]]) or None,
                dense_rank=int(dense_rank[candidates[i]]) or None,
            )
            for i in order
        ]


def build_product_search(
    database: Database,
    embedder: Embedder | None,
    *,
    backend: str = "faiss",
    index_dir: Path | None = None,
    milvus_uri: str | None = None,
    mode: str = "hybrid",
    parser: QueryParser | None = None,
) -> ProductSearch:
    """The search over every product of the catalog database (blocking: reads the
    catalog, embeds through the vector cache, builds the index)."""
    records = load_records(database)
    search = ProductSearch.build(
        records,
        embedder,
        backend=backend,
        index_dir=index_dir,
        milvus_uri=milvus_uri,
        mode=retrieval_mode(mode),
        parser=parser,
    )
    logger.info("product search ready: %d products, backend %s", len(records), backend)
    return search


def main() -> None:
    """`python -m shopmate.search.products` (part of `make index`): embed the
    catalog's product texts into the vector cache under var/index/products, and fill
    the Milvus collection when SEARCH_BACKEND=milvus, so the action server starts
    ready."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    from shopmate.search.embeddings import embedder_from_settings
    from shopmate.settings import get_settings

    settings = get_settings()
    started = time.perf_counter()
    search = build_product_search(
        Database(settings.database_url),
        embedder_from_settings(settings.embedding_backend, settings.embedding_model_path),
        backend=settings.search_backend,
        index_dir=settings.index_dir,
        milvus_uri=settings.milvus_uri,
        mode=settings.search_mode,
    )
    print(
        f"product search index: {len(search)} products, backend "
        f"{search.store.name if search.store else 'bm25 only'}, "
        f"{time.perf_counter() - started:.1f}s"
    )


if __name__ == "__main__":
    main()
