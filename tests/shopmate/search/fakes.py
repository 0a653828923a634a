"""A tiny deterministic embedder: texts sharing a concept land close together.

It stands in for a real model where a test is about ranking and fusion logic, not
about the model: each concept is one dimension, and any of its words (in any
language) lights it up. "money back" and "refund" then embed alike although they
share no token, which is exactly what BM25 cannot see.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from shopmate.search.embeddings import FloatArray, l2_normalise

CONCEPTS: dict[str, tuple[str, ...]] = {
    "refund": ("refund", "money back", "reimburse", "退款", "退钱"),
    "shipping": ("shipping", "delivery", "postage", "运费", "邮费", "包邮"),
    "invoice": ("invoice", "receipt", "发票"),
    "weather": ("weather", "rain", "天气", "下雨"),
    "greeting": ("hello", "你好"),
}


class ConceptEmbedder:
    """Counts concept words; a constant extra dimension keeps every vector non-zero."""

    name = "concept-fake-v1"

    def __init__(self) -> None:
        self.calls: list[tuple[tuple[str, ...], bool]] = []

    def encode(self, texts: Sequence[str], is_query: bool) -> FloatArray:
        self.calls.append((tuple(texts), is_query))
        rows = []
        for text in texts:
            lowered = text.lower()
            row = [float(sum(lowered.count(word) for word in words)) for words in CONCEPTS.values()]
            rows.append([*row, 0.1])
        return l2_normalise(np.asarray(rows, dtype=np.float32).reshape(len(texts), -1))


class ExplodingEmbedder:
    """Fails the test if anything tries to embed."""

    name = "exploding"

    def encode(self, texts: Sequence[str], is_query: bool) -> FloatArray:
        raise AssertionError("this code path must not embed anything")
