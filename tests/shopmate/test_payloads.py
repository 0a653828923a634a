"""ShopMate's rich-message schema: what actions emit and every channel renders."""

from __future__ import annotations

import json

from shopmate import payloads

DRESS = {
    "code": "P00012",
    "title": "白色连衣裙",
    "price": "¥199.00",
    "price_cents": 19900,
    "rating": 4.6,
    "image_url": "/img/P00012.svg",
    "url": "/product/P00012",
    "in_stock": True,
}
BAG = {**DRESS, "code": "P00013", "title": "托特包", "in_stock": False}


def test_a_product_card_has_a_cart_button_unless_sold_out() -> None:
    card = payloads.product_card(DRESS, 1, 2, "zh")
    assert card["v"] == 1
    assert card["type"] == "product_card"
    [button] = card["buttons"]
    assert button["title"] == "加入购物车"
    assert json.loads(button["payload"][len("/add_to_cart") :]) == {"product_code": "P00012"}
    assert payloads.product_card(DRESS, 1, 1, "en")["buttons"][0]["title"] == "Add to cart"
    assert payloads.product_card(BAG, 2, 2, "zh")["buttons"] == []


def test_extract_reads_the_payload_and_nothing_else() -> None:
    card = payloads.product_card(DRESS, 1, 1, "zh")
    assert payloads.extract(payloads.custom(card)) == card
    # Inside Socket.IO's "data" wrapper too.
    assert payloads.extract({"data": payloads.custom(card)}) == card
    assert payloads.extract({"shopmate": {"type": "rm -rf"}}) is None
    assert payloads.extract({"blocks": []}) is None
    assert payloads.extract("text") is None


def test_cards_of_one_reply_become_one_carousel_when_the_last_arrives() -> None:
    carousel = payloads.Carousel()
    assert carousel.add(payloads.product_card(DRESS, 1, 2, "zh")) is None
    done = carousel.add(payloads.product_card(BAG, 2, 2, "zh"))
    assert done is not None
    assert done["type"] == "carousel"
    assert [item["code"] for item in done["items"]] == ["P00012", "P00013"]
    assert done["items"][0]["buttons"][0]["title"] == "加入购物车"
    assert carousel.pending() is None
    # A reply cut short still shows what came.
    assert carousel.add(payloads.product_card(DRESS, 1, 3, "en")) is None
    pending = carousel.pending()
    assert pending is not None
    assert [i["code"] for i in pending["items"]] == ["P00012"]
    # A new list starts over.
    carousel.add(payloads.product_card(DRESS, 1, 2, "zh"))
    restarted = carousel.add(payloads.product_card(BAG, 1, 1, "zh"))
    assert restarted is not None
    assert [i["code"] for i in restarted["items"]] == ["P00013"]


def test_plain_text_of_each_type() -> None:
    carousel = payloads.Carousel()
    carousel.add(payloads.product_card(DRESS, 1, 2, "zh"))
    done = carousel.add(payloads.product_card(BAG, 2, 2, "zh"))
    assert done is not None
    assert payloads.as_text(done) == (
        "1. 白色连衣裙 · ¥199.00 · ★ 4.6\n2. 托特包 · ¥199.00 · ★ 4.6 · 售罄"
    )
    order = payloads.order_card(
        {
            "number": "A1000002",
            "status_label": "",
            "total": "¥398.00",
            "timeline": [
                {"time": "2026-11-30 10:00", "location": "深圳", "description": "已揽收"},
                {"time": "2026-12-01 08:00", "location": "上海", "description": "到达分拣中心"},
            ],
        },
        "zh",
    )
    text = payloads.as_text(order)
    assert text.splitlines()[0] == "A1000002"
    assert text.index("已揽收") < text.index("到达分拣中心")
    rating = payloads.rating_from_buttons(
        [
            {"title": str(n), "payload": f'/rate_service{{"satisfaction": "{n}"}}'}
            for n in range(1, 6)
        ],
        "zh",
    )
    assert rating is not None
    assert rating["scale"] == 5
    assert payloads.as_text(rating) == "1 / 2 / 3 / 4 / 5"
    assert payloads.rating_from_buttons([{"title": "是", "payload": "/affirm"}], "zh") is None


def test_markdown_escapes_what_a_title_could_inject() -> None:
    evil = {
        **DRESS,
        "title": "[点我](http://evil.example) **x**",
        "image_url": "javascript:alert(1)",
    }
    text = payloads.as_markdown(payloads.product_card(evil, 1, 1, "zh"))
    assert "](http://evil.example)" not in text
    assert "\\[点我\\]" in text
    assert "javascript:" not in text


def test_paths_become_absolute_for_platforms_only_when_asked() -> None:
    card = payloads.product_card(DRESS, 1, 1, "zh")
    fixed = payloads.with_absolute_urls(card, "https://shop.example.com/")
    assert fixed["product"]["image_url"] == "https://shop.example.com/img/P00012.svg"
    assert fixed["product"]["url"] == "https://shop.example.com/product/P00012"
    assert card["product"]["image_url"] == "/img/P00012.svg"  # the original is untouched
    assert payloads.absolute("//evil.example/x.png", "https://shop.example.com") == (
        "//evil.example/x.png"
    )
    assert payloads.safe_url("//evil.example/x.png") is None


def test_short_button_ids_fit_telegram_and_map_back_only_to_what_was_offered() -> None:
    long_payload = '/inform{"color": "白色", "size": "M", "product_code": "P00012345"}'
    short = payloads.button_id(long_payload)
    assert len(short.encode()) <= 64
    assert payloads.resolve_button_id(short, ["/affirm", long_payload]) == long_payload
    assert payloads.resolve_button_id(short, ["/affirm"]) is None
    assert payloads.resolve_button_id("sm:forged", [long_payload]) is None
