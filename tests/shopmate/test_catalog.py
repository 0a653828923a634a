"""Products by code or by name, and their facts, on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from shopmate.catalog import (
    CATEGORY_NAMES,
    MATERIAL_NAMES,
    ProductCatalog,
    ProductFacts,
    ProductNotFound,
    product_codes_in,
)
from shopmate.db import models as m
from shopmate.db.seed import CATEGORIES, MATERIAL_EN, SeedConfig, seed_database
from shopmate.db.session import Database
from tests.factories import add_scenario


def add_wool_top(database: Database) -> None:
    """A product as the seed writes them: code P00012, brand in the title, a material.
    Explicit ids, like add_scenario's (PostgreSQL's sequences do not see those)."""
    with database.session() as s:
        s.add(
            m.Product(
                id=12,
                code="P00012",
                category="tops",
                brand="UrbanKnit",
                title_zh="UrbanKnit 羊毛上衣",
                title_en="UrbanKnit wool top",
                material="羊毛",
                price_cents=15900,
                rating=4.6,
            )
        )
        s.flush()
        s.add_all(
            [
                m.Variant(
                    id=variant_id,
                    product_id=12,
                    sku=f"P00012-{colour[:3].upper()}-S",
                    color=colour,
                    size="S",
                    stock=0,
                    price_cents=15900,
                )
                for variant_id, colour in ((12, "white"), (13, "green"))
            ]
        )


@pytest.fixture
def catalog(database: Database) -> ProductCatalog:
    add_scenario(database)  # 1 真丝连衣裙 / Silk dress (code P1), 2 托特包 / Tote bag (P2)
    add_wool_top(database)
    return ProductCatalog(database)


def codes(found: list[ProductFacts]) -> list[str]:
    return [product.code for product in found]


# Table-driven rather than parametrized: each case would otherwise migrate a database.
BY_NAME = [
    ("帮我写一段这件真丝连衣裙的推荐文案", "zh", "P1"),
    ("连衣裙", "zh", "P1"),
    ("给托特包写个广告", "zh", "P2"),
    ("write a short ad for the silk dress", "en", "P1"),
    ("the tote bag please", "en", "P2"),
    ("帮我写个 tote bag 的文案", "zh", "P2"),
    ("UrbanKnit的羊毛上衣", "zh", "P00012"),
    ("copy for the wool top", "en", "P00012"),
]
BY_CODE = [
    ("写一段P1的文案", "P1"),
    ("P00012", "P00012"),
    ("商品编号p12", "P00012"),
    ("p2 please", "P2"),
]
NAMES_NOTHING = [
    "火星车",
    "再写一段",
    "write another one",
    "write copy for this product",
    "",
    "   ",
]


def test_finds_a_product_by_its_chinese_or_english_name(catalog: ProductCatalog) -> None:
    found = {text: codes(catalog.find(text, language))[:1] for text, language, _ in BY_NAME}
    assert found == {text: [code] for text, _, code in BY_NAME}


def test_finds_a_product_by_its_code(catalog: ProductCatalog) -> None:
    found = {text: codes(catalog.find(text, "zh")) for text, _ in BY_CODE}
    assert found == {text: [code] for text, code in BY_CODE}


def test_text_that_names_no_product_finds_nothing(catalog: ProductCatalog) -> None:
    found = {text: catalog.find(text, "zh") for text in NAMES_NOTHING}
    assert found == {text: [] for text in NAMES_NOTHING}


def test_an_unknown_code_finds_nothing_even_beside_a_known_name(catalog: ProductCatalog) -> None:
    assert catalog.find("P99999 真丝连衣裙", "zh") == []


def test_limit_caps_the_results(catalog: ProductCatalog) -> None:
    assert len(catalog.find("连衣裙 托特包 上衣", "zh", limit=3)) == 3
    assert len(catalog.find("连衣裙 托特包 上衣", "zh", limit=1)) == 1
    assert catalog.find("连衣裙", "zh", limit=0) == []


def test_facts_come_from_the_product_and_its_variants(catalog: ProductCatalog) -> None:
    dress = catalog.facts(1)
    assert dress == ProductFacts(
        id=1,
        code="P1",
        title_zh="真丝连衣裙",
        title_en="Silk dress",
        brand="Lumi",
        category="dresses",
        material=None,
        price_cents=10000,
        colours=("red", "blue"),
        sizes=("M", "L"),
        in_stock=True,
        rating=None,
    )
    top = catalog.facts(12)
    assert top.material == "羊毛"
    assert top.material_name("en") == "wool"
    assert top.in_stock is False  # every variant sold out
    assert top.rating == 4.6
    assert catalog.facts(2).size_names() == []  # one-size is no choice
    with pytest.raises(ProductNotFound):
        catalog.facts(999)


def test_describe_gives_fact_lines_in_each_language(catalog: ProductCatalog) -> None:
    top = catalog.facts(12)
    assert top.describe("zh") == [
        "商品: UrbanKnit 羊毛上衣",
        "品牌: UrbanKnit",
        "品类: 上衣",
        "材质: 羊毛",
        "价格: ¥159.00",
        "颜色: 白色、绿色",
        "尺码: S",
        "库存: 暂时缺货",
        "评分: 4.6",
    ]
    assert top.describe("en") == [
        "product: UrbanKnit wool top",
        "brand: UrbanKnit",
        "category: top",
        "material: wool",
        "price: ¥159.00",
        "colours: white, green",
        "sizes: S",
        "stock: out of stock",
        "rating: 4.6",
    ]
    bag = catalog.facts(2).describe("en")
    assert not any(line.startswith(("material", "sizes", "rating")) for line in bag)


def test_the_product_in_conversation_wins_when_the_text_names_nothing_else(
    catalog: ProductCatalog,
) -> None:
    with catalog.database.session() as s:
        s.add(
            m.Product(
                id=3,
                code="P3",
                category="dresses",
                brand="森屿",
                title_zh="森屿 棉连衣裙",
                title_en="森屿 cotton dress",
                material="棉",
                price_cents=25900,
            )
        )
    catalog.refresh()
    # "这件连衣裙" fits both dresses: the one being discussed stays.
    assert codes(catalog.find("再给这件连衣裙写一段", "zh", limit=1, prefer="P3")) == ["P3"]
    assert codes(catalog.find("再给这件连衣裙写一段", "zh", limit=1, prefer="P1")) == ["P1"]
    # Naming what the discussed product lacks moves on.
    assert codes(catalog.find("那个托特包呢", "zh", limit=1, prefer="P3")) == ["P2"]
    assert codes(catalog.find("the silk dress", "en", limit=1, prefer="P3")) == ["P1"]
    # A preference for a product that no longer exists changes nothing.
    assert codes(catalog.find("连衣裙", "zh", limit=1, prefer="P404")) == ["P1"]


def test_by_code_and_product_names(catalog: ProductCatalog) -> None:
    facts = catalog.by_code("p00012")
    assert facts is not None
    assert facts.id == 12
    assert catalog.by_code("P404") is None
    names = catalog.product_names()
    assert {"真丝连衣裙", "Silk dress", "托特包", "Tote bag", "Lumi", "Carryall"} <= set(names)


def test_the_name_index_is_built_once_across_threads(
    catalog: ProductCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    builds: list[int] = []
    build = catalog._build_index

    def counting_build() -> object:
        builds.append(1)
        return build()

    monkeypatch.setattr(catalog, "_build_index", counting_build)
    results: list[list[str]] = []
    threads = [
        threading.Thread(target=lambda: results.append(codes(catalog.find("托特包", "zh"))))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert builds == [1]
    assert results == [["P2"]] * 8


def test_refresh_sees_products_added_later(catalog: ProductCatalog) -> None:
    assert catalog.find("陶瓷杯", "zh") == []
    with catalog.database.session() as s:
        s.add(
            m.Product(
                id=4,
                code="P4",
                category="home",
                brand="木本",
                title_zh="木本 陶瓷杯",
                title_en="木本 ceramic mug",
                material="陶瓷",
                price_cents=5900,
            )
        )
    assert catalog.find("陶瓷杯", "zh") == []  # the index is built once...
    assert codes(catalog.find("P4", "zh")) == ["P4"]  # ...codes are read fresh
    catalog.refresh()
    assert codes(catalog.find("陶瓷杯", "zh")) == ["P4"]


def test_every_seeded_product_is_found_by_its_titles(database: Database) -> None:
    anchor = datetime(2026, 11, 23, tzinfo=UTC)
    with database.session() as s:
        seed_database(s, SeedConfig(customers=3, orders=3, products=45, seed=7, anchor=anchor))
    catalog = ProductCatalog(database)
    with database.session() as s:
        products = s.query(m.Product).all()
        titles = [(p.code, p.title_zh, p.title_en) for p in products]
    for code, title_zh, title_en in titles:
        for title in (title_zh, title_en):
            found = catalog.find(f"帮我写一段{title}的文案", "zh", limit=1)
            assert found, title
            # Seeded titles repeat (brand + material + noun): any product so titled will do.
            assert title in (found[0].title_zh, found[0].title_en), (code, title)
        assert codes(catalog.find(code, "en")) == [code]


def test_category_and_material_names_match_the_seed() -> None:
    for category, (noun_zh, noun_en, *_rest) in CATEGORIES.items():
        zh, en, _ = CATEGORY_NAMES[category]
        assert zh == noun_zh
        assert en in noun_en  # "beauty" of "beauty product": the generic word is dropped
    assert {k: v for k, v in MATERIAL_EN.items() if k != "—"} == MATERIAL_NAMES
    assert ProductFacts(1, "P1", "t", "t", "b", "beauty", None, 1).material_name("en") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("P00012", ["P00012"]),
        ("p12", ["P12", "P00012"]),
        ("商品P1的文案", ["P1", "P00001"]),
        ("订单A1000001", []),
        ("SP123", []),
        ("size P", []),
    ],
)
def test_product_codes_in_text(text: str, expected: list[str]) -> None:
    assert product_codes_in(text) == expected
