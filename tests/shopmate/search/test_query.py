"""Query understanding for product search: zh, en and mixed messages -> ParsedQuery."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest

from shopmate.search.query import (
    ParsedQuery,
    QueryParser,
    QueryVocabulary,
    VocabularyTerm,
    default_query_parser,
    find_prices,
    parse_number,
)


@pytest.fixture(scope="module")
def parser() -> QueryParser:
    return QueryParser.from_catalog_vocabulary()


# Every field not named in a case must keep its default: "口红" must not bring a
# colour, "I'm looking for" must not bring a size. `terms` is checked when named.
CASES: list[tuple[str, str | None, dict[str, Any]]] = [
    # --- Chinese: categories, colours, styles
    (
        "我想买一件红色的连衣裙",
        None,
        {"category": "dresses", "colors": ("red",), "terms": "连衣裙"},
    ),
    ("红色连衣裙", "zh", {"category": "dresses", "colors": ("red",), "terms": "连衣裙"}),
    ("买红裙子", None, {"category": "dresses", "colors": ("red",), "terms": "裙子"}),
    ("有红的吗", None, {"colors": ("red",), "terms": ""}),
    ("口红", None, {"category": "beauty", "styles": ("口红",), "terms": "口红"}),
    ("粉底液", None, {"category": "beauty", "styles": ("粉底液",)}),
    ("网红连衣裙", None, {"category": "dresses", "terms": "网红连衣裙"}),
    ("蓝牙耳机", None, {"category": "electronics_accessories", "styles": ("蓝牙耳机",)}),
    ("小白鞋", None, {"category": "casual_shoes", "styles": ("小白鞋",)}),
    (
        "黑白条纹T恤",
        None,
        {"category": "tops", "colors": ("black", "white"), "styles": ("T恤",), "terms": "条纹T恤"},
    ),
    (
        "深蓝色的牛仔裤",
        None,
        {"category": "trousers", "colors": ("blue",), "styles": ("牛仔裤",), "terms": "牛仔裤"},
    ),
    ("红色或者粉色的裙子", None, {"category": "dresses", "colors": ("red", "pink")}),
    ("碎花连衣裙", None, {"category": "dresses", "styles": ("碎花连衣裙",), "terms": "碎花连衣裙"}),
    ("真丝连衣裙", None, {"category": "dresses", "materials": ("真丝",), "terms": "连衣裙"}),
    ("棉麻衬衫", None, {"category": "tops", "materials": ("棉", "亚麻"), "styles": ("衬衫",)}),
    ("帆布包", None, {"category": "bags", "materials": ("帆布",), "terms": "包"}),
    (
        "绿联充电器",
        None,
        {
            "category": "electronics_accessories",
            "brands": ("绿联",),
            "styles": ("充电器",),
            "terms": "充电器",
        },
    ),
    ("包邮吗", None, {"terms": "包邮"}),
    ("有红包吗", None, {"terms": "红包"}),
    ("推荐", None, {"terms": ""}),
    ("推荐一下", "zh", {"terms": ""}),
    ("米色风衣", None, {"colors": ("beige",), "terms": "风衣"}),
    ("连衣裙配什么包", None, {"category": "bags", "terms": "连衣裙配包"}),  # zh: head noun last
    # --- Chinese: sizes
    ("XL码", None, {"sizes": ("XL",)}),
    ("xl码的T恤", None, {"category": "tops", "sizes": ("XL",), "styles": ("T恤",), "terms": "T恤"}),
    ("L号", None, {"sizes": ("L",)}),
    ("M码的", None, {"sizes": ("M",), "terms": ""}),
    ("要M的", None, {"sizes": ("M",), "terms": ""}),
    ("这款有S吗", None, {"sizes": ("S",)}),
    ("42码的跑鞋", None, {"category": "running_shoes", "sizes": ("42",), "terms": "跑鞋"}),
    ("38-40码", None, {"sizes": ("38", "39", "40")}),
    ("XXL码的卫衣", None, {"category": "tops", "sizes": ("XXL",), "styles": ("卫衣",)}),
    ("运动鞋 42", None, {"category": "running_shoes", "terms": "运动鞋 42"}),  # no 码: no size
    # --- Chinese: prices
    ("300以内", None, {"price_max_cents": 30000}),
    ("300元以下", None, {"price_max_cents": 30000}),
    ("不超过300", None, {"price_max_cents": 30000}),
    ("300块左右", None, {"price_min_cents": 24000, "price_max_cents": 36000}),
    ("200到400", None, {"price_min_cents": 20000, "price_max_cents": 40000}),
    ("200-400元", None, {"price_min_cents": 20000, "price_max_cents": 40000}),
    ("¥300以下", None, {"price_max_cents": 30000}),
    ("￥３００以下", None, {"price_max_cents": 30000}),  # full-width
    ("3百以内", None, {"price_max_cents": 30000}),
    ("三百以内", None, {"price_max_cents": 30000}),
    ("两千以内的包", None, {"category": "bags", "price_max_cents": 200000, "terms": "包"}),
    ("一千五左右", None, {"price_min_cents": 120000, "price_max_cents": 180000}),
    ("100元以上", None, {"price_min_cents": 10000}),
    ("预算500", None, {"price_max_cents": 50000}),
    ("2-3天能到吗", None, {"terms": "2-3天到"}),  # days, not a price
    # --- Chinese: cues
    ("便宜一点", None, {"cheaper": True, "terms": ""}),
    ("更便宜", None, {"cheaper": True, "terms": ""}),
    ("口红有没有便宜一点的", None, {"category": "beauty", "styles": ("口红",), "cheaper": True}),
    ("贵一点", None, {"pricier": True}),
    ("更好一点的", None, {"pricier": True, "terms": ""}),
    ("换个颜色", None, {"other_color": True, "terms": ""}),
    ("别的颜色", None, {"other_color": True}),
    (
        "有没有其他颜色的连衣裙",
        None,
        {"category": "dresses", "other_color": True, "terms": "连衣裙"},
    ),
    ("有货的", None, {"in_stock_only": True, "terms": ""}),
    # --- Chinese: negation
    ("不要红色的", None, {"terms": ""}),
    ("不要红色和黑色", None, {}),
    ("不要红色的，要黑色", None, {"colors": ("black",)}),
    # --- English
    ("I'm looking for a dress", None, {"category": "dresses", "terms": "dress"}),
    ("I'm looking for a dress", "zh", {"category": "dresses", "terms": "dress"}),
    ("size M", None, {"sizes": ("M",)}),
    ("size 42 running shoes", "en", {"category": "running_shoes", "sizes": ("42",)}),
    ("jeans in medium", None, {"category": "trousers", "sizes": ("M",), "styles": ("牛仔裤",)}),
    ("Do you have this in L?", None, {"sizes": ("L",)}),
    ("M", None, {"sizes": ("M",)}),  # the whole message answers "which size?"
    ("I M looking", "zh", {}),
    (
        "I'd like a pink sweater, size S",
        None,
        {
            "category": "tops",
            "colors": ("pink",),
            "sizes": ("S",),
            "styles": ("毛衣",),
            "terms": "sweater",
        },
    ),
    (
        "UrbanKnit hoodie 2XL",
        None,
        {"category": "tops", "sizes": ("XXL",), "brands": ("UrbanKnit",), "styles": ("卫衣",)},
    ),
    (
        "floral dress",
        None,
        {"category": "dresses", "styles": ("碎花连衣裙",), "terms": "floral dress"},
    ),
    (
        "A-line dresses",
        None,
        {"category": "dresses", "styles": ("A字连衣裙",), "terms": "A-line dresses"},
    ),
    ("cotton t-shirts", None, {"category": "tops", "materials": ("棉",), "styles": ("T恤",)}),
    ("Glow serum", None, {"category": "beauty", "brands": ("Glow",), "styles": ("精华液",)}),
    ("a glow serum", None, {"category": "beauty", "styles": ("精华液",), "terms": "glow serum"}),
    ("top-rated dresses", None, {"category": "dresses"}),  # "top" is no category here
    ("shoes to go with my dress", None, {"category": "casual_shoes"}),  # en: head noun first
    ("under $100", None, {"price_max_cents": 10000}),
    ("below 100", None, {"price_max_cents": 10000}),
    ("less than 300 yuan", None, {"price_max_cents": 30000}),
    ("between 100 and 200", None, {"price_min_cents": 10000, "price_max_cents": 20000}),
    ("100-200", None, {"price_min_cents": 10000, "price_max_cents": 20000}),
    ("$50-$100", None, {"price_min_cents": 5000, "price_max_cents": 10000}),
    ("over $50", None, {"price_min_cents": 5000}),
    ("around 300", None, {"price_min_cents": 24000, "price_max_cents": 36000}),
    (
        "silk dress under $100",
        None,
        {"category": "dresses", "materials": ("真丝",), "price_max_cents": 10000, "terms": "dress"},
    ),
    ("I'm looking for something cheaper", None, {"cheaper": True, "terms": ""}),
    ("less expensive", None, {"cheaper": True}),
    ("cheaper", None, {"cheaper": True}),
    ("more premium", None, {"pricier": True}),
    ("another colour", None, {"other_color": True}),
    ("Do you have it in a different color?", None, {"other_color": True}),
    ("in stock", None, {"in_stock_only": True}),
    (
        "Show me black leather bags in stock",
        None,
        {
            "category": "bags",
            "colors": ("black",),
            "materials": ("皮革",),
            "in_stock_only": True,
            "terms": "bags",
        },
    ),
    ("not red or black, blue please", None, {"colors": ("blue",)}),
    # --- mixed
    ("有没有red的dress", None, {"category": "dresses", "colors": ("red",), "terms": "dress"}),
    ("有没有red的dress", "en", {"category": "dresses", "colors": ("red",), "terms": "dress"}),
    ("我想要size M的dress", None, {"category": "dresses", "sizes": ("M",), "terms": "dress"}),
    ("有没有Lumi的dress", None, {"category": "dresses", "brands": ("Lumi",), "terms": "dress"}),
    ("ＸＬ码 ３００元以内", None, {"sizes": ("XL",), "price_max_cents": 30000, "terms": ""}),
    (
        "I want a red dress size L under 300",
        None,
        {
            "category": "dresses",
            "colors": ("red",),
            "sizes": ("L",),
            "price_max_cents": 30000,
            "terms": "dress",
        },
    ),
]

DEFAULTS = {f.name: f.default for f in dataclasses.fields(ParsedQuery)}


@pytest.mark.parametrize(("text", "language", "expected"), CASES, ids=[c[0] for c in CASES])
def test_parse(
    parser: QueryParser, text: str, language: str | None, expected: dict[str, Any]
) -> None:
    parsed = parser.parse(text, language)
    want = {name: expected.get(name, default) for name, default in DEFAULTS.items()}
    got = dataclasses.asdict(parsed)
    if "terms" not in expected:
        want.pop("terms")
        got.pop("terms")
    assert got == want


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("300", "300"),
        ("3百", "300"),
        ("三百", "300"),
        ("三百五", "350"),
        ("三百零五", "305"),
        ("一千二", "1200"),
        ("两万五", "25000"),
        ("十五", "15"),
        ("百", "100"),
        ("1.5k", "1500"),
        ("1.5万", "15000"),
        ("2w", "20000"),
    ],
)
def test_parse_number(raw: str, value: str) -> None:
    assert parse_number(raw) == Decimal(value)


@pytest.mark.parametrize(
    "text",
    ["2-3天", "38-40码", "size 38-40", "两件以上", "打8折", "2024-05-01", "买一点", "iphone 15"],
)
def test_numbers_that_are_not_prices(text: str) -> None:
    assert find_prices(text) == []


def test_is_empty_and_has_filters(parser: QueryParser) -> None:
    assert parser.parse("推荐").is_empty()
    assert parser.parse("").is_empty()
    assert ParsedQuery().is_empty()
    cheaper = parser.parse("便宜一点")
    assert not cheaper.is_empty()
    assert not cheaper.has_filters()
    assert parser.parse("300以内").has_filters()
    assert not parser.parse("夏天穿的").is_empty()  # free text is something to search on


def test_parsed_query_is_frozen(parser: QueryParser) -> None:
    parsed = parser.parse("红色连衣裙")
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.category = "tops"  # type: ignore[misc]


def test_pipeline_choice(parser: QueryParser) -> None:
    assert parser.pipeline_for("红色连衣裙") == "zh"
    assert parser.pipeline_for("red dress") == "en"
    assert parser.pipeline_for("red dress", "zh-CN") == "zh"
    assert parser.pipeline_for("有没有red的dress", "en") == "zh"  # en cannot segment Han


def test_annotate_sets_entities(parser: QueryParser) -> None:
    doc = parser.annotate("不要黑色，要300以内的红色真丝连衣裙XL码")
    ents = {(ent.text, ent.label_, ent.kb_id_) for ent in doc.ents}
    assert ("红色", "COLOR", "red") in ents
    assert ("真丝", "MATERIAL", "真丝") in ents
    assert ("连衣裙", "CATEGORY", "dresses") in ents
    assert ("XL码", "SIZE", "XL") in ents
    assert "PRICE" in {ent.label_ for ent in doc.ents}
    assert [span.text for span in doc.spans["negated"]] == ["黑色"]


def test_global_jieba_dictionary_is_untouched(parser: QueryParser) -> None:
    """BM25 indexes with the global jieba; the parser's words must not change it."""
    import jieba

    parser.parse("A字连衣裙")
    jieba.initialize()
    assert "A字连衣裙" not in jieba.dt.FREQ
    assert "小白鞋" not in jieba.dt.FREQ


def test_custom_vocabulary() -> None:
    vocabulary = QueryVocabulary(
        terms=(
            VocabularyTerm("茶杯", "CATEGORY", "cups"),
            VocabularyTerm("cup", "CATEGORY", "cups"),
            VocabularyTerm("紫色", "COLOR", "purple"),
            VocabularyTerm("紫", "COLOR", "purple"),
            VocabularyTerm("purple", "COLOR", "purple"),
        ),
        sizes=("S", "M"),
    )
    parser = QueryParser(vocabulary)
    assert parser.parse("紫茶杯") == ParsedQuery(category="cups", colors=("purple",), terms="茶杯")
    assert parser.parse("purple cup").colors == ("purple",)
    assert parser.parse("XL码").sizes == ()  # not a size this store sells
    assert parser.parse("M码").sizes == ("M",)


def test_default_parser_is_shared() -> None:
    assert default_query_parser() is default_query_parser()
