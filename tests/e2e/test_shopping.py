"""The shopping guide over REST: trained model, action server, a generated catalog of
5,000 products with order history in a real database, real product search (query
parser, BM25, embeddings, FAISS), real cart rows and coupons.

Each flow runs in Chinese and in English: search -> refine -> ordinal -> detail -> add
to cart; compare; recommendations (signed-in and guest); the best coupon for a known
cart with the exact saving.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from shopmate.cart import CartRepository
from shopmate.db import models as m
from shopmate.db.session import Database
from tests.conftest import product_cards, response_texts
from tests.e2e.conftest import ShopMate, customer_metadata

pytestmark = pytest.mark.e2e


class Shop:
    def __init__(self, shopmate: ShopMate, database: Database) -> None:
        self.bot = shopmate
        self.database = database

    def product(self, code: str) -> m.Product:
        with self.database.session() as session:
            product = session.query(m.Product).filter(m.Product.code == code).one()
            product.variants  # noqa: B018 - load the variants inside the session
            return product


@pytest.fixture(scope="module")
def shop(catalog_shopmate: tuple[ShopMate, Database]) -> Shop:
    return Shop(*catalog_shopmate)


def cards(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return product_cards(messages)


def texts(messages: list[dict[str, Any]]) -> str:
    return "\n".join(msg.get("text", "") for msg in messages)


def cents(price: str) -> int:
    return round(float(price.lstrip("¥")) * 100)


@pytest.mark.parametrize(
    ("language", "search", "cheaper", "detail", "add"),
    [
        ("zh", "我想买一件红色的连衣裙", "便宜一点的", "第二个是什么材质", "把第二个加入购物车"),
        (
            "en",
            "I want to buy a red dress",
            "show me cheaper ones",
            "what is the second one made of",
            "add the second one to my cart",
        ),
    ],
)
def test_search_refine_ordinal_detail_and_add_to_cart(
    shop: Shop,
    sender: str,
    domain: dict[str, Any],
    language: str,
    search: str,
    cheaper: str,
    detail: str,
    add: str,
) -> None:
    found = shop.bot.say(sender, search)
    shown = cards(found)
    assert len(shown) == 3, texts(found)
    for card in shown:
        product = shop.product(card["code"])
        assert product.category == "dresses"
        assert any(v.color == "red" and v.stock > 0 for v in product.variants)
    header = texts(found).splitlines()[0]
    assert ("连衣裙" if language == "zh" else "dress") in header
    assert ("为你找到" if language == "zh" else "Here are") in header or "closest" in header

    narrowed = shop.bot.say(sender, cheaper)
    floor = min(cents(card["price"]) for card in shown)
    cheaper_cards = cards(narrowed)
    assert cheaper_cards, texts(narrowed)
    assert all(cents(card["price"]) < floor for card in cheaper_cards)
    assert all(shop.product(card["code"]).category == "dresses" for card in cheaper_cards)

    second = cheaper_cards[1]
    answer = texts(shop.bot.say(sender, detail))
    assert second["title"] in answer
    assert second["code"] in answer
    product = shop.product(second["code"])
    material = product.material if language == "zh" else None
    assert material is None or material in answer

    asked = shop.bot.say(sender, add)
    buttons = [b for msg in asked for b in msg.get("buttons", [])]
    assert buttons, texts(asked)
    assert second["title"] in texts(asked)
    # The search said red: only the size is asked (tap the first size offered).
    assert all(b["payload"].startswith('/add_to_cart{"color": "red", "size"') for b in buttons)
    added = texts(shop.bot.say(sender, buttons[0]["payload"]))
    assert second["title"] in added
    cart = CartRepository(shop.database)
    lines = cart.lines(cart.cart_for(None, sender))
    assert [line.product_id for line in lines] == [product.id], (buttons, added)


@pytest.mark.parametrize(
    ("language", "search", "compare"),
    [
        ("zh", "有没有皮革的包", "比较一下第一个和第二个"),
        ("en", "show me leather bags", "compare the first and second"),
    ],
)
def test_compare_two_shown_products(
    shop: Shop, sender: str, language: str, search: str, compare: str
) -> None:
    shown = cards(shop.bot.say(sender, search))
    assert len(shown) >= 2
    answer = texts(shop.bot.say(sender, compare))
    first, second = shown[0], shown[1]
    assert first["title"] in answer
    assert second["title"] in answer
    assert first["price"] in answer
    assert second["price"] in answer
    difference = abs(cents(first["price"]) - cents(second["price"])) / 100
    assert f"¥{difference:.2f}" in answer


@pytest.mark.parametrize(
    ("language", "ask"), [("zh", "有什么推荐的吗"), ("en", "what would you recommend")]
)
def test_recommendations_personal_when_signed_in_popular_for_guests(
    shop: Shop, sender: str, domain: dict[str, Any], language: str, ask: str
) -> None:
    guest = shop.bot.say(sender, ask)
    assert texts(guest).splitlines()[0] in response_texts(
        domain, "utter_recommendations_popular", language
    )
    assert len(cards(guest)) == 3
    signed_sender = f"{sender}-signed"
    signed = shop.bot.say(signed_sender, ask, metadata=customer_metadata(7, signed_sender))
    assert texts(signed).splitlines()[0] in response_texts(
        domain, "utter_recommendations_personal", language
    )
    with shop.database.session() as session:
        bought = {
            code
            for (code,) in session.query(m.Product.code)
            .join(m.Variant)
            .join(m.OrderItem, m.OrderItem.variant_id == m.Variant.id)
            .join(m.Order)
            .filter(m.Order.customer_id == 7)
        }
    assert not {card["code"] for card in cards(signed)} & bought


@pytest.mark.parametrize(
    ("language", "ask"),
    [
        ("zh", "有哪些方法可以降低购物车里的商品价格？"),
        ("en", "what is the best coupon for my cart"),
    ],
)
def test_best_coupon_for_a_known_cart_states_the_exact_saving(
    shop: Shop, sender: str, language: str, ask: str
) -> None:
    # Two units of a ¥160-¥200 top: 满300减50 beats 满199减20; NEW10 stacks (¥10).
    with shop.database.session() as session:
        variant = (
            session.query(m.Variant)
            .join(m.Product)
            .filter(
                m.Product.category == "tops",
                m.Variant.stock >= 5,
                m.Variant.price_cents.between(16000, 19800),
            )
            .order_by(m.Variant.id)
            .first()
        )
        assert variant is not None
        variant_id, price = variant.id, variant.price_cents
    cart = CartRepository(shop.database)
    cart.add_item(cart.cart_for(None, sender), variant_id, 2)
    answer = texts(shop.bot.say(sender, ask))
    subtotal = 2 * price
    saving = 5000 + 1000
    assert f"¥{subtotal / 100:.2f}" in answer, answer
    assert f"¥{saving / 100:.2f}" in answer
    assert f"¥{(subtotal - saving) / 100:.2f}" in answer
    assert re.search("满300减50|¥50 off", answer)


@pytest.mark.parametrize(
    ("language", "vague", "anything"),
    [("zh", "我想买点东西", "不限"), ("en", "I want to buy something", "any")],
)
def test_the_form_asks_for_the_category_then_once_for_details(
    shop: Shop, sender: str, domain: dict[str, Any], language: str, vague: str, anything: str
) -> None:
    asked = shop.bot.say(sender, vague)
    assert texts(asked) == response_texts(domain, "utter_ask_product_category", language)[0]
    buttons = [b for msg in asked for b in msg.get("buttons", [])]
    bags = next(b for b in buttons if '"bags"' in b["payload"])
    details = shop.bot.say(sender, bags["payload"])
    assert texts(details) == response_texts(domain, "utter_ask_search_details", language)[0]
    shown = cards(shop.bot.say(sender, anything))
    assert len(shown) == 3
    assert all(shop.product(card["code"]).category == "bags" for card in shown)


def test_a_cards_cart_button_adds_its_own_product_even_after_newer_results(
    shop: Shop, sender: str
) -> None:
    """Tapping 加入购物车 on a card sends its payload; Rasa parses the product code and the
    edge lets it through as an offered button; the shopper is asked for the variant or
    told it is in the cart, for that product, not for whatever is shown now."""
    dresses = cards(shop.bot.say(sender, "我想买一件红色的连衣裙"))
    assert dresses
    first = next(card for card in dresses if card["buttons"])
    [button] = first["buttons"]
    assert button["title"] == "加入购物车"
    answer = texts(shop.bot.say(sender, button["payload"]))
    assert (
        first["title"].split("（")[0][:4] in answer
        or shop.product(first["code"]).title_zh in answer
    ), answer
    assert any(word in answer for word in ("尺码", "颜色", "购物车")), answer
