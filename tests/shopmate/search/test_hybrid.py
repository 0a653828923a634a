"""Reciprocal rank fusion, filters, grouping and the raw signals on each hit."""

from __future__ import annotations

import numpy as np
import pytest

from shopmate.search import BM25Index, DenseIndex, HybridRetriever

from .fakes import ConceptEmbedder, ExplodingEmbedder

DOCS = [
    ("refund-time", "Refunds reach your card within 7 working days"),
    ("fees", "Shipping is free above 99 yuan, otherwise 8 yuan"),
    ("invoice", "An invoice can be downloaded from the order page"),
    ("refund-zh", "退款会在7个工作日内原路退回"),
]


@pytest.fixture
def retriever() -> HybridRetriever:
    return HybridRetriever.build(DOCS, ConceptEmbedder())


def test_a_paraphrase_without_shared_words_is_found_by_dense_and_hybrid_not_bm25(
    retriever: HybridRetriever,
) -> None:
    query = "when do I get my money back"
    assert "refund-time" not in [hit.id for hit in retriever.search(query, 2, mode="bm25")]
    assert retriever.search(query, 1, mode="dense")[0].id in {"refund-time", "refund-zh"}
    assert retriever.search(query, 2, mode="hybrid")[0].id in {"refund-time", "refund-zh"}


def test_fused_score_is_weighted_reciprocal_rank_with_k_60() -> None:
    embedder = ConceptEmbedder()
    retriever = HybridRetriever.build(DOCS, embedder, bm25_weight=0.5, dense_weight=2.0)
    [best, *_] = retriever.search("shipping fees", 4)
    assert best.id == "fees"
    assert (best.bm25_rank, best.dense_rank) == (1, 1)
    assert best.score == pytest.approx(0.5 / 61 + 2.0 / 61)


def test_a_document_in_one_list_only_gets_that_lists_share() -> None:
    # Each list contributes its best max(depth, k) = 2 documents. "downloaded" is no
    # concept: every cosine ties and the dense list is the first two rows.
    retriever = HybridRetriever.build(DOCS, ConceptEmbedder(), rrf_k=10, depth=1)
    hits = {hit.id: hit for hit in retriever.search("downloaded", 2)}
    invoice = hits.pop("invoice")
    assert (invoice.bm25_rank, invoice.dense_rank) == (1, None)
    assert invoice.score == pytest.approx(1 / 11)
    [(_, dense_only)] = hits.items()
    assert (dense_only.bm25_rank, dense_only.dense_rank) == (None, 1)
    assert dense_only.bm25 == 0.0
    assert dense_only.score == pytest.approx(1 / 11)


def test_hits_carry_the_raw_bm25_score_and_cosine(retriever: HybridRetriever) -> None:
    query = "refund"
    lexical = BM25Index(DOCS)
    bm25 = lexical.scores(lexical.terms(query))
    vectors = ConceptEmbedder().encode([text for _, text in DOCS], False)
    cosine = vectors @ ConceptEmbedder().encode([query], True)[0]
    for hit in retriever.search(query, 4):
        row = [doc_id for doc_id, _ in DOCS].index(hit.id)
        assert hit.bm25 == pytest.approx(float(bm25[row]))
        assert hit.cosine == pytest.approx(float(cosine[row]), abs=1e-6)
        assert -1.0 <= hit.cosine <= 1.0


@pytest.mark.parametrize(
    "allowed",
    [
        {"fees", "invoice"},
        lambda doc_id: doc_id in ("fees", "invoice"),
        np.array([False, True, True, False]),
    ],
)
def test_prefilter_by_ids_or_predicate_ranks_only_allowed_documents(
    retriever: HybridRetriever, allowed: object
) -> None:
    hits = retriever.search("refund shipping", 4, allowed=allowed)  # type: ignore[arg-type]
    assert {hit.id for hit in hits} <= {"fees", "invoice"}
    assert hits[0].id == "fees"
    assert hits[0].bm25_rank == 1  # ranks count allowed documents only


def test_a_mask_of_the_wrong_shape_is_rejected(retriever: HybridRetriever) -> None:
    with pytest.raises(ValueError, match="boolean array"):
        retriever.search("refund", 2, allowed=np.array([True, False]))


def test_groups_collapse_to_their_best_document() -> None:
    documents = [
        ("a#1", "refund policy overview"),
        ("a#2", "refund to the original card"),
        ("b#1", "shipping fees"),
    ]
    retriever = HybridRetriever.build(documents, ConceptEmbedder(), groups=["a", "a", "b"])
    hits = retriever.search("refund card", 3)
    assert hits[0].id == "a"
    assert len({hit.id for hit in hits}) == len(hits)
    best = hits[0]
    assert best.matches[0].id == "a#2"  # matches "card" too
    assert best.bm25 == max(match.bm25 for match in best.matches)
    assert best.bm25_rank == 1


def test_bm25_mode_needs_no_embedder_and_modes_are_checked() -> None:
    retriever = HybridRetriever.build(DOCS, None, mode="bm25")
    assert retriever.search("invoice", 1)[0].id == "invoice"
    assert retriever.search("invoice", 1)[0].cosine is None
    with pytest.raises(ValueError, match="embedder"):
        retriever.search("invoice", 1, mode="dense")
    with pytest.raises(ValueError, match="unknown retrieval mode"):
        retriever.search("invoice", 1, mode="fuzzy")  # type: ignore[arg-type]


def test_a_prebuilt_dense_index_is_used_without_embedding_documents() -> None:
    embedder = ConceptEmbedder()
    dense = DenseIndex.build(DOCS, embedder)
    embedder.calls.clear()
    HybridRetriever.build(DOCS, embedder, dense=dense)
    assert embedder.calls == []


def test_query_vector_given_means_no_query_embedding() -> None:
    dense = DenseIndex.build(DOCS, ConceptEmbedder())
    retriever = HybridRetriever(BM25Index(DOCS), dense, ExplodingEmbedder())
    vector = ConceptEmbedder().encode(["postage"], True)[0]
    assert retriever.search("postage", 1, query_vector=vector)[0].id == "fees"


def test_nothing_matching_gives_no_hits_in_bm25_mode(retriever: HybridRetriever) -> None:
    assert retriever.search("？！", 3, mode="bm25") == []
    assert retriever.search("refund", 0) == []


def test_index_order_must_match() -> None:
    dense = DenseIndex(["x", "y"], np.eye(2, dtype=np.float32))
    with pytest.raises(ValueError, match="same ids"):
        HybridRetriever(BM25Index([("y", "b"), ("x", "a")]), dense, ConceptEmbedder())
