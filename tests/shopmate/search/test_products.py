"""Product search: filters, relaxation, fusion and the three vector stores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shopmate.catalog import records_from_generated
from shopmate.db.catalog_seed import generate_catalog
from shopmate.search.products import (
    EmbeddingCache,
    ProductFilter,
    ProductSearch,
    ProductTable,
)
from shopmate.search.vectors import FaissVectorStore, MilvusVectorStore, NumpyVectorStore
from tests.shopmate.search.fakes import ConceptEmbedder

RECORDS = records_from_generated(generate_catalog(450))
ANY_STOCK = ProductFilter(in_stock_only=False)


@pytest.fixture(scope="module")
def search() -> ProductSearch:
    return ProductSearch.build(RECORDS, ConceptEmbedder(), backend="faiss")


@pytest.mark.parametrize(
    ("text", "check"),
    [
        ("我想买一件红色的连衣裙", lambda r: r.category == "dresses" and "red" in r.colors),
        (
            "black leather bag under 500",
            lambda r: (
                r.category == "bags"
                and r.material == "皮革"
                and "black" in r.colors
                and r.price_cents <= 50000
            ),
        ),
        ("XL码的卫衣", lambda r: r.category == "tops" and "XL" in r.sizes),
        ("Stride的跑鞋", lambda r: r.brand == "Stride" and r.category == "running_shoes"),
        ("cotton towel", lambda r: r.category == "home" and r.material == "棉"),
    ],
)
def test_every_result_satisfies_what_the_shopper_said(
    search: ProductSearch, text: str, check: object
) -> None:
    result = search.search(text, None, ANY_STOCK)
    assert result.hits
    assert result.relaxed == ()
    assert all(check(hit.record) for hit in result.hits)  # type: ignore[operator]


def test_the_title_match_ranks_first(search: ProductSearch) -> None:
    target = next(r for r in RECORDS if r.category == "dresses" and r.material == "真丝")
    hits = search.search(target.title_zh, "zh", ANY_STOCK).hits
    assert hits[0].record.title_zh == target.title_zh


def test_in_stock_only_hides_sold_out_products(search: ProductSearch) -> None:
    hits = search.search("口红", "zh", ProductFilter(), k=50).hits
    assert hits
    assert all(hit.record.in_stock for hit in hits)
    sold_out = [r for r in RECORDS if r.category == "beauty" and not r.in_stock]
    assert sold_out, "the generated catalog has sold-out products"


def test_impossible_wishes_are_relaxed_and_said_so(search: ProductSearch) -> None:
    result = search.search("XXL码的口红", "zh", ANY_STOCK)
    assert result.hits
    assert result.relaxed == ("sizes",)
    assert all(hit.record.category == "beauty" for hit in result.hits)
    strict = search.search("XXL码的口红", "zh", ANY_STOCK, relax=False)
    assert strict.hits == ()


def test_excluded_colours_and_products_stay_out(search: ProductSearch) -> None:
    first = search.search("红色连衣裙", "zh").hits
    other = search.search(
        "连衣裙",
        "zh",
        ProductFilter(exclude_colors=("red",), exclude_ids=tuple(h.record.id for h in first)),
    ).hits
    assert other
    assert not {h.record.id for h in other} & {h.record.id for h in first}
    assert all(set(h.record.colors_in_stock) - {"red"} for h in other)


def test_a_filter_read_back_from_a_tampered_slot_is_safe() -> None:
    spec = ProductFilter.from_dict(
        {
            "category": ["dresses"],
            "colors": "red",
            "price_max_cents": "1 OR 1=1",
            "exclude_ids": [1, "2"],
        }
    )
    assert spec == ProductFilter(exclude_ids=(1,))
    assert ProductFilter.from_dict(None) == ProductFilter()
    assert ProductFilter.from_dict(spec.to_dict()) == spec


def test_milvus_expression_quotes_values() -> None:
    expression = ProductFilter(
        category="bags", colors=('red"x',), price_max_cents=40000
    ).milvus_expression()
    assert expression == (
        'category == "bags" and price <= 40000 and in_stock == true'
        ' and array_contains_any(colors, ["redx"])'
    )


def test_table_masks_match_a_plain_loop() -> None:
    table = ProductTable(RECORDS)
    spec = ProductFilter(category="tops", sizes=("XL",), price_max_cents=20000)
    expected = [
        r.in_stock and r.category == "tops" and "XL" in r.sizes_in_stock and r.price_cents <= 20000
        for r in RECORDS
    ]
    assert table.mask(spec).tolist() == expected


@pytest.mark.parametrize("backend", ["faiss", "milvus"])
def test_vector_stores_agree_with_exact_search(backend: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(400, 24)).astype(np.float32)
    exact = NumpyVectorStore(vectors)
    if backend == "faiss":
        store: FaissVectorStore | MilvusVectorStore = FaissVectorStore(vectors)
        path = tmp_path / "products.faiss"
        store.save(path)
        store = FaissVectorStore.load(path)
    else:
        store = MilvusVectorStore(str(tmp_path / "milvus.db"))
        table = ProductTable(RECORDS[:400])
        store.rebuild(vectors, [table.milvus_fields(row) for row in range(400)])
        assert store.count() == 400
    mask = rng.random(400) < 0.3
    for _ in range(5):
        query = rng.normal(size=24).astype(np.float32)
        query /= np.linalg.norm(query)
        want = [row for row, _ in exact.search(query, 10, mask)]
        got = [row for row, _ in store.search(query, 10, mask)]
        assert got == want


def test_milvus_filters_on_the_server(tmp_path: Path) -> None:
    records = RECORDS[:400]
    table = ProductTable(records)
    store = MilvusVectorStore(str(tmp_path / "milvus.db"))
    vectors = np.random.default_rng(1).normal(size=(400, 8)).astype(np.float32)
    store.rebuild(vectors, [table.milvus_fields(row) for row in range(400)])
    spec = ProductFilter(category="bags", colors=("black",), in_stock_only=False)
    rows = [row for row, _ in store.search(vectors[0], 50, None, spec.milvus_expression())]
    assert rows
    assert all(records[r].category == "bags" and "black" in records[r].colors for r in rows)


def test_the_embedding_cache_embeds_each_text_once(tmp_path: Path) -> None:
    embedder = ConceptEmbedder()
    texts = [r.embedding_text() for r in RECORDS[:60]]
    first = EmbeddingCache(tmp_path, embedder)
    vectors = first.encode(texts)
    first.save()
    calls = len(embedder.calls)
    again = EmbeddingCache(tmp_path, embedder).encode(texts)
    assert len(embedder.calls) == calls  # all from the cache
    assert np.allclose(vectors, again)


def test_relaxing_gives_up_one_wish_before_several(search: ProductSearch) -> None:
    # No black leather bag costs under ¥400 here; black canvas ones do.
    result = search.search("black leather bag under 400", "en", ANY_STOCK)
    assert result.relaxed == ("materials",)
    assert all(
        h.record.category == "bags" and "black" in h.record.colors and h.record.price_cents <= 40000
        for h in result.hits
    )
