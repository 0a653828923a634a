"""The exact inner-product index: cosine ranking, filters and .npy persistence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shopmate.search import DenseIndex
from shopmate.search.lexical import top_rows

from .fakes import ConceptEmbedder

DOCS = [("refund", "refund policy"), ("fees", "shipping fees"), ("invoice", "invoice")]


def test_vectors_are_normalised_and_scores_are_cosines() -> None:
    index = DenseIndex(["a", "b"], np.array([[3.0, 4.0], [0.0, 2.0]]))
    assert np.allclose(np.linalg.norm(index.vectors, axis=1), 1.0)
    assert index.vectors.dtype == np.float32
    assert index.scores(np.array([0.0, 1.0])) == pytest.approx([0.8, 1.0])
    assert index.search(np.array([1.0, 0.0]), 1) == [(0, pytest.approx(0.6))]


def test_search_respects_the_mask() -> None:
    index = DenseIndex.build(DOCS, ConceptEmbedder())
    query = ConceptEmbedder().encode(["refund"], True)[0]
    assert index.search(query, 1)[0][0] == 0
    mask = np.array([False, True, True])
    assert 0 not in [row for row, _ in index.search(query, 3, mask)]


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    index = DenseIndex.build(DOCS, ConceptEmbedder())
    index.save(tmp_path / "index")
    assert sorted(p.name for p in (tmp_path / "index").iterdir()) == [
        "ids.npy",
        "meta.json",
        "vectors.npy",
    ]
    for mmap in (False, True):
        loaded = DenseIndex.load(tmp_path / "index", expected_model=ConceptEmbedder.name, mmap=mmap)
        assert loaded.ids == index.ids
        assert loaded.model == ConceptEmbedder.name
        np.testing.assert_array_equal(np.asarray(loaded.vectors), index.vectors)
        query = ConceptEmbedder().encode(["postage"], True)[0]
        assert loaded.search(query, 3) == index.search(query, 3)


def test_loading_vectors_of_another_model_is_refused(tmp_path: Path) -> None:
    DenseIndex.build(DOCS, ConceptEmbedder()).save(tmp_path)
    with pytest.raises(ValueError, match="built with"):
        DenseIndex.load(tmp_path, expected_model="another-model")


def test_mismatched_or_duplicate_ids_are_rejected() -> None:
    with pytest.raises(ValueError, match="ids"):
        DenseIndex(["a"], np.eye(2))
    with pytest.raises(ValueError, match="unique"):
        DenseIndex(["a", "a"], np.eye(2))
    with pytest.raises(ValueError, match="dimensions"):
        DenseIndex(["a", "b"], np.eye(2)).scores(np.ones(3))


def test_top_rows_is_deterministic_on_ties() -> None:
    scores = np.array([0.5, 0.9, 0.5, 0.9, 0.1], dtype=np.float32)
    valid = np.array([True, True, True, True, False])
    assert top_rows(scores, valid, 3).tolist() == [1, 3, 0]
    assert top_rows(scores, valid, 10).tolist() == [1, 3, 0, 2]
    assert top_rows(scores, np.zeros(5, dtype=bool), 3).tolist() == []
