"""Shopping guide actions over a real (small) generated catalog in a real database.

The search service is real (BM25, query parser, filters, fusion) with the tiny concept
embedder standing in for the model; carts and coupons are real rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.cart import ActionAddToCart, ActionBestOffer
from actions.recommendations import ActionRecommendProducts
from actions.shopping import (
    ActionCompareProducts,
    ActionProductDetail,
    ActionRefineSearch,
    ActionSearchProducts,
    ActionStartSearch,
    ValidateSearchForm,
)
from shopmate.cart import CartRepository
from shopmate.catalog import load_records
from shopmate.db import models as m
from shopmate.db.seed import SeedConfig, seed_database
from shopmate.db.session import Database
from shopmate.identity import CustomerTokens
from shopmate.recommend import Interactions, Recommender, product_meta_from_database
from shopmate.search.products import ProductSearch
from tests.conftest import SHOPPER, TrackerBuilder, product_cards
from tests.shopmate.search.fakes import ConceptEmbedder

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
SECRET = "s" * 40


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Database, ProductSearch]]:
    """270 generated products (30 per category) with orders, in a migrated SQLite file."""
    from tests.conftest import migrate

    url = f"sqlite:///{tmp_path_factory.mktemp('shop') / 'shop.db'}"
    migrate(url)
    database = Database(url)
    with database.session() as session:
        seed_database(
            session,
            SeedConfig(customers=60, orders=900, products=270, anchor=NOW.replace(hour=0)),
        )
    search = ProductSearch.build(load_records(database), ConceptEmbedder(), backend="numpy")
    yield database, search
    database.dispose()


def slots_of(events: list[Any]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def responses(dispatcher: CollectingDispatcher) -> list[str]:
    return [m.get("response") or "" for m in dispatcher.messages]


def cards(dispatcher: CollectingDispatcher) -> list[dict[str, Any]]:
    return product_cards(dispatcher.messages)


async def search_for(
    text: str, language: str, shop: tuple[Database, ProductSearch], tracker_for: TrackerBuilder
) -> tuple[dict[str, Any], CollectingDispatcher]:
    """action_start_search then the form's submit, as the rules run them."""
    _, search = shop
    started = await ActionStartSearch(search).run(
        CollectingDispatcher(), tracker_for(text, "search_product", language), {}
    )
    slots = slots_of(started)
    dispatcher = CollectingDispatcher()
    events = await ActionSearchProducts(search).run(
        dispatcher, tracker_for("", "search_product", language, slots=slots), {}
    )
    return {**slots, **slots_of(events)}, dispatcher


async def test_a_search_that_names_everything_needs_no_question(
    shop: tuple[Database, ProductSearch], tracker_for: TrackerBuilder
) -> None:
    slots, dispatcher = await search_for("我想买一件300以内的红色连衣裙", "zh", shop, tracker_for)
    assert slots["product_category"] == "dresses"
    assert slots["search_details"] is None  # reset after the results
    shown = [shop[1].by_id(i) for i in slots["shown_products"]]
    assert shown
    assert all(r is not None for r in shown)
    for record in shown:
        assert record is not None
        assert record.category == "dresses"
        assert "red" in record.colors_in_stock
        assert record.price_cents <= 30000
    assert responses(dispatcher)[0] in ("utter_search_results", "utter_search_results_relaxed")
    assert [c["code"] for c in cards(dispatcher)] == [r.code for r in shown if r]
    assert all(c["price"].startswith("¥") and c["image_url"] for c in cards(dispatcher))


async def test_start_search_asks_only_for_what_is_missing(
    shop: tuple[Database, ProductSearch], tracker_for: TrackerBuilder
) -> None:
    _, search = shop
    vague = slots_of(
        await ActionStartSearch(search).run(
            CollectingDispatcher(),
            tracker_for("I want to buy something", "search_product", "en"),
            {},
        )
    )
    assert vague["product_category"] is None
    assert vague["search_details"] is None
    detailed = slots_of(
        await ActionStartSearch(search).run(
            CollectingDispatcher(),
            tracker_for("black running shoes in size 42", "search_product", "en"),
            {},
        )
    )
    assert detailed["product_category"] == "running_shoes"
    assert detailed["search_details"] == "given"
    assert detailed["search_filter"]["filter"]["colors"] == ["black"]


async def test_the_form_reads_a_category_and_then_any_answer_to_details(
    shop: tuple[Database, ProductSearch], tracker_for: TrackerBuilder
) -> None:
    _, search = shop
    form = ValidateSearchForm(search)
    category = await form.extract_product_category(
        CollectingDispatcher(),
        tracker_for("裙子", "search_product", "zh", slots={"requested_slot": "product_category"}),
        {},
    )
    assert category["product_category"] == "dresses"
    details = await form.extract_search_details(
        CollectingDispatcher(),
        tracker_for(
            "黑色 M码 500以内",
            "refine_search",
            "zh",
            slots={"requested_slot": "search_details", **category},
        ),
        {},
    )
    assert details["search_details"] == "given"
    spec = details["search_filter"]["filter"]
    assert spec["colors"] == ["black"]
    assert spec["sizes"] == ["M"]
    assert spec["price_max_cents"] == 50000
    anything = await form.extract_search_details(
        CollectingDispatcher(),
        tracker_for("不限", "deny", "zh", slots={"requested_slot": "search_details"}),
        {},
    )
    assert anything["search_details"] == "any"
    # A payload cannot smuggle in a category the catalog does not have.
    assert form.validate_product_category(
        "'; DROP TABLE", CollectingDispatcher(), tracker_for(), {}
    ) == {"product_category": None}


async def test_cheaper_narrows_below_every_product_shown(
    shop: tuple[Database, ProductSearch], tracker_for: TrackerBuilder
) -> None:
    slots, _ = await search_for("show me dresses", "en", shop, tracker_for)
    shown = [shop[1].by_id(i) for i in slots["shown_products"]]
    cheapest = min(r.price_cents for r in shown if r)
    dispatcher = CollectingDispatcher()
    events = await ActionRefineSearch(shop[1]).run(
        dispatcher, tracker_for("show me cheaper ones", "refine_search", "en", slots=slots), {}
    )
    after = [shop[1].by_id(i) for i in slots_of(events).get("shown_products", [])]
    if after:
        assert all(r is not None and r.price_cents < cheapest for r in after)
        assert all(r is not None and r.category == "dresses" for r in after)
    else:
        assert responses(dispatcher) == ["utter_no_cheaper"]


async def test_another_colour_and_a_size_keep_the_category(
    shop: tuple[Database, ProductSearch], tracker_for: TrackerBuilder
) -> None:
    slots, _ = await search_for("红色的上衣", "zh", shop, tracker_for)
    events = await ActionRefineSearch(shop[1]).run(
        CollectingDispatcher(), tracker_for("换个颜色", "refine_search", "zh", slots=slots), {}
    )
    refined = slots_of(events)
    assert not set(refined["shown_products"]) & set(slots["shown_products"])
    assert "red" in refined["search_filter"]["filter"]["exclude_colors"]
    events = await ActionRefineSearch(shop[1]).run(
        CollectingDispatcher(), tracker_for("要XL的", "refine_search", "zh", slots=refined), {}
    )
    for product_id in slots_of(events)["shown_products"]:
        record = shop[1].by_id(product_id)
        assert record is not None
        assert record.category == "tops"
        assert "XL" in record.sizes_in_stock


async def test_refining_without_a_search_asks_what_to_look_for(
    shop: tuple[Database, ProductSearch], tracker_for: TrackerBuilder
) -> None:
    dispatcher = CollectingDispatcher()
    await ActionRefineSearch(shop[1]).run(
        dispatcher, tracker_for("便宜一点的", "refine_search", "zh"), {}
    )
    assert responses(dispatcher) == ["utter_no_previous_search"]


async def test_an_ordinal_names_the_shown_product(
    shop: tuple[Database, ProductSearch], tracker_for: TrackerBuilder
) -> None:
    slots, _ = await search_for("连衣裙", "zh", shop, tracker_for)
    second = shop[1].by_id(slots["shown_products"][1])
    assert second is not None
    dispatcher = CollectingDispatcher()
    events = await ActionProductDetail(shop[1]).run(
        dispatcher, tracker_for("第二个穿多大尺码合适", "ask_product_detail", "zh", slots=slots), {}
    )
    assert slots_of(events) == {"product_code": second.code}
    detail = dispatcher.messages[0]
    assert detail["response"] == "utter_product_detail"
    assert detail["title"] == second.title_zh
    assert detail["code"] == second.code
    assert detail["price"] == f"¥{second.price_cents / 100:.2f}"
    assert "utter_size_advice_clothing" in responses(dispatcher)


async def test_detail_without_a_product_asks_which(
    shop: tuple[Database, ProductSearch], tracker_for: TrackerBuilder
) -> None:
    dispatcher = CollectingDispatcher()
    await ActionProductDetail(shop[1]).run(
        dispatcher, tracker_for("what is it made of", "ask_product_detail", "en"), {}
    )
    assert responses(dispatcher) == ["utter_which_product"]


async def test_compare_puts_facts_side_by_side(
    shop: tuple[Database, ProductSearch], tracker_for: TrackerBuilder
) -> None:
    slots, _ = await search_for("bags", "en", shop, tracker_for)
    first, _second, third = (shop[1].by_id(i) for i in slots["shown_products"])
    assert first is not None
    assert third is not None
    dispatcher = CollectingDispatcher()
    await ActionCompareProducts(shop[1]).run(
        dispatcher,
        tracker_for("compare the first and third", "compare_products", "en", slots=slots),
        {},
    )
    lines = [m for m in dispatcher.messages if m.get("response") == "utter_compare_line"]
    assert [line["title"] for line in lines] == [first.title_en, third.title_en]
    summary = dispatcher.messages[-1]
    cheaper = min((first, third), key=lambda r: r.price_cents)
    assert summary["cheaper"] == cheaper.title_en
    assert summary["difference"] == f"¥{abs(first.price_cents - third.price_cents) / 100:.2f}"


async def test_add_to_cart_asks_the_size_then_writes_a_real_row(
    shop: tuple[Database, ProductSearch], tracker_for: TrackerBuilder
) -> None:
    database, search = shop
    cart = CartRepository(database)
    slots, _ = await search_for("红色连衣裙", "zh", shop, tracker_for)
    first = search.by_id(slots["shown_products"][0])
    assert first is not None
    action = ActionAddToCart(search, cart)
    dispatcher = CollectingDispatcher()
    events = await action.run(
        dispatcher,
        tracker_for("把第一个加入购物车", "add_to_cart", "zh", slots=slots, sender_id="guest-a"),
        {},
    )
    asked = dispatcher.messages[0]
    assert asked["response"] in ("utter_ask_cart_size", "utter_ask_cart_color")
    assert slots_of(events) == {"product_code": first.code, "choosing_variant": True}
    # The button the shopper taps names the variant; the product stays in focus.
    button = asked["buttons"][0]["payload"]
    in_stock = [v for v in cart.variants_of(first.id) if v.stock > 0]
    color, size = in_stock[0].color, in_stock[0].size
    entities = [{"entity": "color", "value": color}, {"entity": "size", "value": size}]
    assert button.startswith("/add_to_cart{")
    dispatcher = CollectingDispatcher()
    events = await action.run(
        dispatcher,
        tracker_for(
            button,
            "add_to_cart",
            "zh",
            slots={**slots, "product_code": first.code},
            entities=entities,
            sender_id="guest-a",
        ),
        {},
    )
    added = dispatcher.messages[0]
    assert added["response"] == "utter_added_to_cart", added
    # Answered: a bare "白色" after this narrows the search again, it adds nothing.
    assert slots_of(events)["choosing_variant"] is False
    lines = cart.lines(cart.cart_for(None, "guest-a"))
    assert [(line.product_id, line.quantity) for line in lines] == [(first.id, 1)]
    assert added["subtotal"] == f"¥{first.price_cents / 100:.2f}"
    # Another conversation's cart is another cart.
    assert cart.lines(cart.cart_for(None, "guest-b")) == []


async def test_add_to_cart_refuses_more_than_the_stock(
    shop: tuple[Database, ProductSearch], tracker_for: TrackerBuilder
) -> None:
    database, search = shop
    with database.session() as session:
        variant = session.query(m.Variant).filter(m.Variant.stock == 2).first()
        assert variant is not None
        product = session.get(m.Product, variant.product_id)
        assert product is not None
        code, color, size = product.code, variant.color, variant.size
    action = ActionAddToCart(search, CartRepository(database))
    entities = [{"entity": "color", "value": color}, {"entity": "size", "value": size}]
    results = []
    for _ in range(3):
        dispatcher = CollectingDispatcher()
        await action.run(
            dispatcher,
            tracker_for(
                f"add {code} to my cart",
                "add_to_cart",
                "en",
                entities=entities,
                sender_id="guest-s",
            ),
            {},
        )
        results.append(dispatcher.messages[0]["response"])
    assert results == ["utter_added_to_cart", "utter_added_to_cart", "utter_cart_out_of_stock"]


async def test_best_offer_states_the_exact_saving(
    shop: tuple[Database, ProductSearch], tracker_for: TrackerBuilder
) -> None:
    database, _search = shop
    cart = CartRepository(database)
    with database.session() as session:
        dress = (
            session.query(m.Variant)
            .join(m.Product)
            .filter(m.Product.category == "dresses", m.Variant.stock >= 5)
            .order_by(m.Variant.id)
            .first()
        )
        assert dress is not None
        variant_id, price = dress.id, dress.price_cents
    cart_id = cart.cart_for(None, "guest-deal")
    cart.add_item(cart_id, variant_id, 2)
    dispatcher = CollectingDispatcher()
    await ActionBestOffer(cart, clock=lambda: NOW).run(
        dispatcher,
        tracker_for("best coupon for my cart", "ask_promotion", "en", sender_id="guest-deal"),
        {},
    )
    offer = dispatcher.messages[0]
    subtotal = 2 * price
    # The seed's coupons: 满300减50 / 满199减20 (store), 连衣裙9折 (store), NEW10 (platform).
    store = max(
        5000 if subtotal >= 30000 else 0,
        2000 if subtotal >= 19900 else 0,
        subtotal * 10 // 100,
    )
    saving = store + 1000
    assert offer["response"] == "utter_best_offer"
    assert offer["subtotal"] == f"¥{subtotal / 100:.2f}"
    assert offer["saving"] == f"¥{saving / 100:.2f}"
    assert offer["total"] == f"¥{(subtotal - saving) / 100:.2f}"


async def test_best_offer_for_an_empty_cart(
    shop: tuple[Database, ProductSearch], tracker_for: TrackerBuilder
) -> None:
    dispatcher = CollectingDispatcher()
    await ActionBestOffer(CartRepository(shop[0]), clock=lambda: NOW).run(
        dispatcher,
        tracker_for("有什么优惠能用", "ask_promotion", "zh", sender_id="guest-empty"),
        {},
    )
    assert responses(dispatcher) == ["utter_cart_empty"]


async def test_recommendations_personal_for_a_signed_in_shopper_popular_for_guests(
    shop: tuple[Database, ProductSearch], tracker_for: TrackerBuilder
) -> None:
    database, search = shop
    recommender = Recommender.build(
        Interactions.from_database(database), product_meta_from_database(database)
    )
    tokens = CustomerTokens(SECRET)
    action = ActionRecommendProducts(search, recommender, tokens)
    guest = CollectingDispatcher()
    await action.run(guest, tracker_for("推荐点什么", "ask_recommendation", "zh"), {})
    assert responses(guest)[0] == "utter_recommendations_popular"
    assert len(cards(guest)) == 3
    customer = next(c for c in range(1, 61) if recommender.knows_customer(c))
    signed = CollectingDispatcher()
    token = tokens.sign(customer, SHOPPER)
    await action.run(
        signed,
        tracker_for("推荐点什么", "ask_recommendation", "zh", metadata={"customer_token": token}),
        {},
    )
    assert responses(signed)[0] == "utter_recommendations_personal"
    bought = recommender.purchased(customer)
    assert not {c["code"] for c in cards(signed)} & {
        search.by_id(i).code for i in bought if search.by_id(i)
    }
    # A customer id claimed in the text is not an identity.
    claimed = CollectingDispatcher()
    await action.run(
        claimed, tracker_for(f"I am customer {customer}, recommend", "ask_recommendation", "en"), {}
    )
    assert responses(claimed)[0] == "utter_recommendations_popular"


async def test_complete_the_look_for_a_dress_brings_shoes_and_bags(
    shop: tuple[Database, ProductSearch], tracker_for: TrackerBuilder
) -> None:
    database, search = shop
    recommender = Recommender.build(
        Interactions.from_database(database), product_meta_from_database(database)
    )
    slots, _ = await search_for("连衣裙", "zh", shop, tracker_for)
    dispatcher = CollectingDispatcher()
    await ActionRecommendProducts(search, recommender).run(
        dispatcher,
        tracker_for("第一个搭配什么鞋子和包", "ask_recommendation", "zh", slots=slots),
        {},
    )
    assert responses(dispatcher)[0] == "utter_complete_the_look"
    categories = {search.by_code(c["code"]).category for c in cards(dispatcher)}  # type: ignore[union-attr]
    assert categories
    assert categories <= {"casual_shoes", "bags"}


async def test_a_tampered_search_slot_is_ignored_not_fatal(
    shop: tuple[Database, ProductSearch], tracker_for: TrackerBuilder
) -> None:
    dispatcher = CollectingDispatcher()
    slots = {
        "search_filter": {"text": 5, "filter": {"category": ["x"], "price_max_cents": "1; --"}},
        "shown_products": ["1 OR 1=1", None, 3],
    }
    await ActionRefineSearch(shop[1]).run(
        dispatcher, tracker_for("cheaper please", "refine_search", "en", slots=slots), {}
    )
    assert dispatcher.messages  # an answer, not a stack trace


class BrokenSearch:
    def parse(self, *_: Any) -> Any:
        raise ConnectionError("index gone")

    def search(self, *_: Any, **__: Any) -> Any:
        raise ConnectionError("index gone")


async def test_search_down_gets_a_polite_answer(tracker_for: TrackerBuilder) -> None:
    dispatcher = CollectingDispatcher()
    await ActionStartSearch(BrokenSearch()).run(  # type: ignore[arg-type]
        dispatcher, tracker_for("红色连衣裙", "search_product", "zh"), {}
    )
    assert responses(dispatcher) == ["utter_search_unavailable"]
    dispatcher = CollectingDispatcher()
    await ActionSearchProducts(BrokenSearch()).run(  # type: ignore[arg-type]
        dispatcher,
        tracker_for("", "search_product", "zh", slots={"product_category": "dresses"}),
        {},
    )
    assert responses(dispatcher) == ["utter_search_unavailable"]


def test_slot_events_are_plain_json() -> None:
    assert SlotSet("shown_products", [1, 2])["value"] == [1, 2]


async def test_naming_another_kind_of_product_starts_over(
    shop: tuple[Database, ProductSearch], tracker_for: TrackerBuilder
) -> None:
    slots, _ = await search_for("红色真丝连衣裙", "zh", shop, tracker_for)
    events = await ActionRefineSearch(shop[1]).run(
        CollectingDispatcher(),
        tracker_for("有没有皮革的包", "refine_search", "zh", slots=slots),
        {},
    )
    refined = slots_of(events)
    spec = refined["search_filter"]["filter"]
    assert spec["category"] == "bags"
    assert spec["colors"] == []  # the dress search's red does not follow
    assert spec["materials"] == ["皮革"]


async def test_a_red_dress_is_shown_red_and_red_dresses_come_first(
    shop: tuple[Database, ProductSearch], tracker_for: TrackerBuilder
) -> None:
    slots, dispatcher = await search_for("我想买一件300以内的红色连衣裙", "zh", shop, tracker_for)
    shown = [shop[1].by_id(i) for i in slots["shown_products"]]
    titles = [c["title"] for c in cards(dispatcher)]
    for record, title in zip(shown, titles, strict=True):
        assert record is not None
        # Whatever colour the product is listed under, the card names the red variant.
        assert "红色" in title, title
        other = [c for c in record.colors if c != "red"]
        assert not any(f"{c}色" in title for c in other)
    primary_red = [r is not None and r.colors[0] == "red" for r in shown]
    # Products that are red themselves are never listed after red-variant ones.
    assert primary_red == sorted(primary_red, reverse=True)


async def test_a_kind_the_catalog_lacks_gets_the_nearest_category_not_a_loop(
    shop: tuple[Database, ProductSearch], tracker_for: TrackerBuilder
) -> None:
    _, search = shop
    started = slots_of(
        await ActionStartSearch(search).run(
            CollectingDispatcher(),
            tracker_for("I'm looking for a winter jacket", "search_product", "en"),
            {},
        )
    )
    # No "what kind of product?" question: the form has what it needs.
    assert started["product_category"] is not None
    assert started["search_details"] == "given"
    dispatcher = CollectingDispatcher()
    await ActionSearchProducts(search).run(
        dispatcher, tracker_for("", "search_product", "en", slots=started), {}
    )
    first = dispatcher.messages[0]
    assert first["response"] == "utter_search_nearest"
    assert "jacket" in first["kind"]
    assert cards(dispatcher)


async def test_nothing_within_the_budget_offers_the_cheapest_and_explains_the_currency(
    shop: tuple[Database, ProductSearch], tracker_for: TrackerBuilder
) -> None:
    _, search = shop
    cheapest_shoes = min(
        (r for r in search.records if r.category == "running_shoes" and r.in_stock),
        key=lambda r: r.price_cents,
    )
    budget = cheapest_shoes.price_cents // 100 - 1
    slots, dispatcher = await search_for(
        f"any running shoes under {budget} dollars?", "en", shop, tracker_for
    )
    said = responses(dispatcher)
    assert said[0] == "utter_currency_note"
    assert dispatcher.messages[0]["budget"] == f"¥{budget:.2f}"
    assert "utter_no_results_in_budget" in said
    assert cards(dispatcher)[0]["code"] == cheapest_shoes.code
    # "add it to my cart" next refers to the product offered.
    assert slots["shown_products"] == [cheapest_shoes.id]


async def test_the_search_form_does_not_take_a_policy_question_as_its_answer(
    shop: tuple[Database, ProductSearch], tracker_for: TrackerBuilder
) -> None:
    _, search = shop
    validate = ValidateSearchForm(search)
    tracker = tracker_for(
        "运费怎么算？", "ask_faq", "zh", slots={"requested_slot": "search_details"}
    )
    assert await validate.extract_search_details(CollectingDispatcher(), tracker, {}) == {}
    tracker = tracker_for(
        "I'm after a winter jacket", "inform", "en", slots={"requested_slot": "product_category"}
    )
    filled = await validate.extract_product_category(CollectingDispatcher(), tracker, {})
    assert filled["product_category"] is not None


async def test_the_details_answer_reaches_the_search_as_the_form_runs_it(
    shop: tuple[Database, ProductSearch], tracker_for: TrackerBuilder
) -> None:
    domain = {"forms": {"search_form": {"required_slots": ["product_category", "search_details"]}}}
    # As Rasa calls the form's validation action: rasa-sdk keeps only the required slots
    # of what the extractors set, so the colour of "要蓝色的" was dropped on the way.
    _, search = shop
    started = slots_of(
        await ActionStartSearch(search).run(
            CollectingDispatcher(), tracker_for("有没有适合夏天穿的裙子", "search_product"), {}
        )
    )
    tracker = tracker_for(
        "要蓝色的",
        "inform",
        "zh",
        slots={**started, "requested_slot": "search_details"},
        entities=[{"entity": "color", "value": "blue"}],
        events=[{"event": "user", "text": "要蓝色的"}],
    )
    events = await ValidateSearchForm(search).run(CollectingDispatcher(), tracker, domain)
    slots = slots_of(events)
    assert slots["search_details"] == "given"
    assert slots["search_filter"]["filter"]["colors"] == ["blue"]
    assert slots["search_filter"]["filter"]["category"] == "dresses"


async def test_every_card_carries_an_add_to_cart_button_for_its_own_product(
    shop: tuple[Database, ProductSearch], tracker_for: TrackerBuilder
) -> None:
    database, search = shop
    _slots, dispatcher = await search_for("连衣裙", "zh", shop, tracker_for)
    shown = product_cards(dispatcher.messages)
    assert [card["index"] for card in shown] == list(range(1, len(shown) + 1))
    in_stock = [card for card in shown if card["in_stock"]]
    assert in_stock
    for card in in_stock:
        [button] = card["buttons"]
        assert button["title"] == "加入购物车"
        assert card["code"] in button["payload"]
        assert card["url"] == f"/product/{card['code']}"
    # Tapped after another search has replaced the list, the button still means its
    # product: the payload names the code, not a position.
    first = in_stock[0]
    later, _ = await search_for("运动鞋", "zh", shop, tracker_for)
    dispatcher = CollectingDispatcher()
    await ActionAddToCart(search, CartRepository(database)).run(
        dispatcher,
        # As Rasa parses the payload: the intent and its product_code entity.
        tracker_for(
            first["buttons"][0]["payload"],
            "add_to_cart",
            "zh",
            slots=later,
            entities=[{"entity": "product_code", "value": first["code"]}],
        ),
        {},
    )
    asked = dispatcher.messages[0]
    assert asked["response"] in (
        "utter_ask_cart_size",
        "utter_ask_cart_color",
        "utter_added_to_cart",
    )
    assert asked["title"] == search.by_code(first["code"]).title_zh  # type: ignore[union-attr]


async def test_the_terminal_gets_card_lines_without_payloads(
    shop: tuple[Database, ProductSearch], tracker_for: TrackerBuilder
) -> None:
    _, search = shop
    started = await ActionStartSearch(search).run(
        CollectingDispatcher(), tracker_for("连衣裙", "search_product", "zh"), {}
    )
    tracker = tracker_for(
        "",
        "search_product",
        "zh",
        slots=slots_of(started),
        events=[{"event": "user", "input_channel": "cmdline"}],
    )
    dispatcher = CollectingDispatcher()
    await ActionSearchProducts(search).run(dispatcher, tracker, {})
    assert "utter_product_card" in responses(dispatcher)
    assert not any(message.get("custom") for message in dispatcher.messages)


async def test_on_a_product_page_this_one_means_that_product(
    shop: tuple[Database, ProductSearch], tracker_for: TrackerBuilder
) -> None:
    """The widget on /product/<code> sends page_product: "这件有M码吗" is about it."""
    _, search = shop
    record = search.by_id(1)
    assert record is not None
    dispatcher = CollectingDispatcher()
    events = await ActionProductDetail(search).run(
        dispatcher,
        tracker_for(
            "这件有M码吗", "ask_product_detail", "zh", metadata={"page_product": record.code}
        ),
        {},
    )
    assert slots_of(events) == {"product_code": record.code}
    assert dispatcher.messages[0]["title"] == record.title_zh
    # A code that is no product is ignored, not trusted: the shopper is asked which.
    dispatcher = CollectingDispatcher()
    await ActionProductDetail(search).run(
        dispatcher,
        tracker_for(
            "这件有M码吗", "ask_product_detail", "zh", metadata={"page_product": "P99999999"}
        ),
        {},
    )
    assert responses(dispatcher) == ["utter_which_product"]


async def test_a_one_size_product_reads_one_size_in_its_details(
    shop: tuple[Database, ProductSearch], tracker_for: TrackerBuilder
) -> None:
    """The catalog's "one-size" is never shown raw: 均码 in Chinese, one size in English."""
    _, search = shop
    bag = next(
        r
        for r in (search.by_id(i) for i in range(1, 400))
        if r and r.sizes_in_stock == ("one-size",)
    )
    for language, label in (("zh", "均码"), ("en", "one size")):
        dispatcher = CollectingDispatcher()
        await ActionProductDetail(search).run(
            dispatcher,
            tracker_for("", "ask_product_detail", language, metadata={"page_product": bag.code}),
            {},
        )
        assert dispatcher.messages[0]["sizes"] == label
