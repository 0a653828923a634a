"""BM25 over (id, text) documents with the shared zh/en tokenizer."""

from __future__ import annotations

import pytest

from shopmate.search import BM25Index

DOCS = [
    ("fees", "满99元包邮，不满收取8元运费"),
    ("invoice", "确认收货后可以下载电子发票"),
    ("refund", "Refunds go back to the original payment method"),
]


def test_finds_chinese_and_english_documents() -> None:
    index = BM25Index(DOCS)
    assert index.search("运费多少", 1)[0][0] == 0
    assert index.search("发票怎么开", 1)[0][0] == 1
    assert index.search("refund", 1)[0][0] == 2


def test_unknown_terms_score_zero_and_return_nothing() -> None:
    index = BM25Index(DOCS)
    assert index.search("火星天气", 3) == []
    assert index.scores(index.terms("火星")).tolist() == [0.0, 0.0, 0.0]


def test_mask_and_idf() -> None:
    index = BM25Index([*DOCS, ("refund-2", "refund within 7 days")])
    import numpy as np

    mask = np.array([True, True, False, True])
    assert [row for row, _ in index.search("refund", 3, mask)] == [3]
    assert index.idf("发票") > index.idf("refund")  # rarer term weighs more
    assert index.idf("never-seen") > index.idf("发票")


def test_ids_must_be_unique_and_empty_index_works() -> None:
    with pytest.raises(ValueError, match="unique"):
        BM25Index([("a", "x"), ("a", "y")])
    empty = BM25Index([])
    assert len(empty) == 0
    assert empty.search("anything", 3) == []
