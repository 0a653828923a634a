"""The demo shop and its chat widget in a real browser (Debian's headless Chromium),
against the real page server, Rasa and the action server.

Screenshots for the docs: `SHOPMATE_WIDGET_SCREENSHOTS=1` writes
docs/images/widget-zh.png and docs/images/widget-en.png (else they go to tmp_path).
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Route

from shopmate.db.session import Database
from shopmate.identity import CustomerTokens
from tests.conftest import (
    PROJECT_ROOT,
    load_web_module,
    load_web_server,
    response_pattern,
    response_texts,
    serving,
)
from tests.e2e.conftest import CUSTOMER_TOKEN_SECRET, SESSION_SECRET, ShopMate

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DOCS_IMAGES = PROJECT_ROOT / "docs" / "images"
REPLY_S = 60_000  # ms: a first search loads the index and the embedding model


def wait_until(page: Page, expression: str, arg: Any = None, timeout_s: float = 20.0) -> None:
    """Poll `expression` from the test until it is truthy. Playwright's wait_for_function
    polls with eval inside the page, which the page's CSP (script-src 'self') refuses
    whenever the first check is false; page.evaluate goes through the debugger instead."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression, arg):
        if time.monotonic() > deadline:
            pytest.fail(f"still false after {timeout_s} s: {expression}")
        page.wait_for_timeout(50)


DESKTOP = {"width": 1100, "height": 800}


# --- the page's server over a running ShopMate ------------------------------------------


@contextmanager
def shop_page(
    shopmate: ShopMate,
    database_url: str,
    demo_login: bool = False,
    extra_routes: Sequence[BaseRoute] = (),
) -> Iterator[str]:
    """web/server.py as `make run` serves it: the catalog's pages (DATABASE_URL), the
    history through Rasa's HTTP API with its token, the demo login if asked for."""
    pages = load_web_module("shop_pages")
    history = load_web_module("chat_history")
    database = Database(database_url)
    login = None
    if demo_login:
        login = load_web_module("demo_login").DemoLogin(
            CustomerTokens(CUSTOMER_TOKEN_SECRET), database
        )
    server = load_web_server().build_server(
        "127.0.0.1",
        0,
        shopmate.rasa_url,
        login,
        session_secret=SESSION_SECRET,
        extra_routes=extra_routes,
        shop=pages.ShopPages(pages.ShopCatalog(database)),
        history=history.ConversationHistory(shopmate.rasa_url, shopmate.auth_token),
    )
    try:
        with serving(server) as url:
            yield url
    finally:
        database.dispose()


@pytest.fixture(scope="module")
def page_url(shopmate: ShopMate) -> Iterator[str]:
    """The scenario's shop (tests/factories.py: P1 真丝连衣裙, P2 托特包)."""
    with shop_page(shopmate, shopmate.shop_db_url) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: run `make install-browser`")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile per test: its own sessionStorage, so its own conversation."""
    context = browser.new_context(viewport=DESKTOP)
    yield context
    context.close()


def screenshot_path(name: str, tmp_path: Path) -> Path:
    if os.environ.get("SHOPMATE_WIDGET_SCREENSHOTS"):
        return DOCS_IMAGES / name
    return tmp_path / name


def open_chat(context: BrowserContext | Browser, url: str) -> Page:
    page = context.new_page()
    page.goto(url)
    page.click("#shopmate-launcher")
    expect(page.locator("#shopmate-panel")).to_have_attribute("data-ready", "true", timeout=20000)
    return page


def send(page: Page, text: str) -> None:
    page.fill("#shopmate-input", text)
    page.press("#shopmate-input", "Enter")


def session_id(page: Page) -> str:
    return str(page.evaluate("JSON.parse(sessionStorage.getItem('shopmate.session')).session_id"))


def no_horizontal_scroll(page: Page) -> bool:
    return bool(
        page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
    )


# --- conversations ----------------------------------------------------------------------


def test_shopper_chats_in_chinese_then_english_in_the_widget(
    context: BrowserContext, page_url: str, domain: dict[str, Any]
) -> None:
    page = open_chat(context, f"{page_url}/")
    bot = page.locator(".shopmate-msg.bot")
    panel = page.locator("#shopmate-panel")
    expect(panel).to_have_attribute("lang", "zh-CN")
    expect(page.locator("#shopmate-input")).to_have_attribute("placeholder", "输入消息…")
    send(page, "你好")
    expect(bot.first).to_have_text(response_texts(domain, "utter_greet", "zh")[0], timeout=30000)
    expect(page.locator(".shopmate-msg.user").first).to_have_text("你好")
    send(page, "are you a bot?")
    expect(bot.nth(1)).to_have_text(response_texts(domain, "utter_iamabot", "en")[0], timeout=30000)
    # The widget's own words follow the conversation into English.
    expect(panel).to_have_attribute("lang", "en")
    expect(page.locator("#shopmate-input")).to_have_attribute("placeholder", "Type a message…")
    expect(page.locator("#shopmate-send")).to_have_attribute("aria-label", "Send")
    expect(page.locator("#shopmate-title")).to_have_text("ShopMate Assistant")
    expect(bot.nth(1)).to_have_attribute("lang", "en")
    page.close()


def test_buttons_are_clickable_chips(
    context: BrowserContext, page_url: str, domain: dict[str, Any], shopmate: ShopMate
) -> None:
    page = open_chat(context, f"{page_url}/")
    send(page, "你好")
    expect(page.locator(".shopmate-msg.bot").first).to_have_text(
        response_texts(domain, "utter_greet", "zh")[0], timeout=30000
    )
    # Two misreadings injected through the HTTP API into the widget's own conversation
    # (a typed "/nlu_fallback" is text now); the replies reach the page over its socket.
    for _ in range(2):
        requests.post(
            f"{shopmate.rasa_url}/conversations/{session_id(page)}/trigger_intent",
            params={"token": shopmate.auth_token, "output_channel": "latest"},
            json={"name": "nlu_fallback"},
            timeout=60,
        ).raise_for_status()
    chips = page.locator(".shopmate-chip")
    expect(chips).to_have_count(2, timeout=30000)
    # The chip sends the payload the bot offered: it is obeyed, not read as text.
    chips.first.click()
    expect(page.locator(".shopmate-msg.bot").last).to_have_text(
        response_pattern(response_texts(domain, "utter_handoff_started", "zh")[0]),
        timeout=30000,
    )
    page.close()


def test_message_text_is_shown_as_text_not_html_even_after_a_reload(
    context: BrowserContext, page_url: str
) -> None:
    page = open_chat(context, f"{page_url}/")
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    attack = "<img src=x onerror=alert(1)>hello"
    send(page, attack)
    user = page.locator(".shopmate-msg.user").first
    expect(user).to_have_text(attack)
    expect(page.locator(".shopmate-msg.bot").first).to_be_visible(timeout=30000)
    assert page.locator("#shopmate-messages img").count() == 0
    # Read back from Rasa after a reload: still text.
    page.reload()
    expect(page.locator(".shopmate-msg.user").first).to_have_text(attack, timeout=20000)
    assert page.locator("#shopmate-messages img").count() == 0
    assert dialogs == []
    page.close()


def test_a_chinese_search_shows_a_carousel_with_images_and_adds_to_cart(
    catalog_shopmate: tuple[ShopMate, Database],
    browser: Browser,
    domain: dict[str, Any],
    tmp_path: Path,
) -> None:
    shopmate, database = catalog_shopmate
    with shop_page(shopmate, database.url) as url:
        context = browser.new_context(viewport=DESKTOP)
        page = open_chat(context, f"{url}/")
        # The home page shows the catalog's own products with their pictures.
        tiles = page.locator(".shop-tile")
        expect(tiles).to_have_count(12)
        assert page.locator(".shop-tile img").first.evaluate("img => img.naturalWidth") > 0
        send(page, "我想买一件红色的连衣裙")
        products = page.locator(".shopmate-carousel .shopmate-product")
        expect(products.first).to_be_visible(timeout=REPLY_S)
        assert products.count() >= 2
        first = products.first
        expect(first.locator(".shopmate-product__price")).to_have_text(re.compile(r"^¥\d"))
        expect(first.locator(".shopmate-product__title")).to_contain_text("连衣裙")
        image = first.locator("img.shopmate-product__img")
        expect(image).to_have_attribute("src", re.compile(r"/img/P\d+\.svg$"))
        wait_until(page, "img => img.complete && img.naturalWidth > 0", image.element_handle())
        # Its title links to the product's page on this shop.
        href = first.locator(".shopmate-product__title a").get_attribute("href") or ""
        assert re.fullmatch(rf"{re.escape(url)}/product/P\d+", href), href
        # The carousel scrolls by itself, sideways; the page does not.
        track = page.locator(".shopmate-carousel__track").first
        assert track.evaluate("t => getComputedStyle(t).overflowX") == "auto"
        assert track.evaluate("t => getComputedStyle(t).scrollSnapType").startswith("x")
        # The shopper's question at the top of the conversation, the cards below it.
        page.locator("#shopmate-messages").evaluate(
            "m => { m.scrollTop = m.querySelector('.shopmate-msg.user').offsetTop - 12; }"
        )
        page.screenshot(path=str(screenshot_path("widget-zh.png", tmp_path)))

        first.locator(".shopmate-product__cart").click()
        expect(page.locator(".shopmate-msg.user").last).to_have_text("加入购物车")
        added = response_pattern(response_texts(domain, "utter_added_to_cart", "zh")[0])
        bot = page.locator(".shopmate-msg.bot")
        # A dress comes in sizes: the bot may ask which first (chips), then adds it.
        for _ in range(3):
            expect(bot.last).to_be_visible(timeout=REPLY_S)
            page.wait_for_timeout(500)
            if added.search(bot.last.inner_text()):
                break
            chips = page.locator(".shopmate-chip:not(:disabled)")
            expect(chips.first).to_be_visible(timeout=REPLY_S)
            count = bot.count()
            chips.first.click()
            expect(bot.nth(count)).to_be_visible(timeout=REPLY_S)
        expect(bot.last).to_have_text(added, timeout=REPLY_S)
        context.close()


def test_an_english_order_status_shows_its_tracking_timeline(
    browser: Browser, shopmate: ShopMate, tmp_path: Path
) -> None:
    # Alice (customer 1), signed in by the demo login: A1000002 is on its way with two
    # tracking events (tests/factories.py).
    with shop_page(shopmate, shopmate.shop_db_url, demo_login=True) as url:
        context = browser.new_context(viewport=DESKTOP)
        page = open_chat(context, f"{url}/")
        page.select_option("#demo-customer", "1")
        wait_until(page, "() => Boolean(window.ShopMateAuth && window.ShopMateAuth.token)")
        send(page, "Where is my order A1000002?")
        card = page.locator(".shopmate-order")
        expect(card).to_be_visible(timeout=REPLY_S)
        expect(card.locator(".shopmate-order__number")).to_have_text("Order A1000002")
        expect(card.locator(".shopmate-order__status")).to_have_text("In transit")
        steps = card.locator("ol.shopmate-timeline > li")
        expect(steps).to_have_count(2)
        expect(steps.first).to_contain_text("Parcel picked up from the seller")
        expect(steps.last).to_contain_text("Arrived at the sorting centre")
        expect(steps.last).to_have_class(re.compile("is-latest"))
        # English all round: the card, the panel's own labels, the announcement.
        expect(page.locator("#shopmate-panel")).to_have_attribute("lang", "en")
        expect(page.locator("#shopmate-input")).to_have_attribute("placeholder", "Type a message…")
        expect(page.locator("#shopmate-live")).to_contain_text("Order A1000002")
        page.screenshot(path=str(screenshot_path("widget-en.png", tmp_path)))
        context.close()


def test_a_reload_shows_the_conversation_and_it_goes_on(
    context: BrowserContext, page_url: str, domain: dict[str, Any], shopmate: ShopMate
) -> None:
    page = open_chat(context, f"{page_url}/")
    send(page, "你好")
    greeting = response_texts(domain, "utter_greet", "zh")[0]
    expect(page.locator(".shopmate-msg.bot").first).to_have_text(greeting, timeout=30000)
    send(page, "我想买一件红色的连衣裙")
    expect(page.locator(".shopmate-product").first).to_be_visible(timeout=REPLY_S)
    shown = page.locator(".shopmate-product").count()
    before = session_id(page)

    page.reload()
    # The panel opens again with the conversation read back from Rasa.
    expect(page.locator("#shopmate-panel")).to_be_visible()
    users = page.locator(".shopmate-msg.user")
    expect(users).to_have_count(2, timeout=20000)
    expect(users.first).to_have_text("你好")
    expect(users.nth(1)).to_have_text("我想买一件红色的连衣裙")
    expect(page.locator(".shopmate-msg.bot").first).to_have_text(greeting)
    expect(page.locator(".shopmate-product")).to_have_count(shown)
    expect(page.locator(".shopmate-product").first).to_have_attribute("data-code", "P1")
    expect(page.locator("#shopmate-panel")).to_have_attribute("data-ready", "true", timeout=20000)
    assert session_id(page) == before
    # Same conversation afterwards: the next message lands in the same tracker.
    bot = page.locator(".shopmate-msg.bot")
    count = bot.count()
    send(page, "谢谢")
    expect(page.locator(".shopmate-msg.user")).to_have_count(3)
    expect(bot.nth(count)).to_be_visible(timeout=30000)
    said = [e.get("text") for e in shopmate.tracker(before)["events"] if e["event"] == "user"]
    assert said[-3:] == ["你好", "我想买一件红色的连衣裙", "谢谢"]
    page.close()


def test_a_message_typed_offline_is_sent_on_reconnect(
    context: BrowserContext, page_url: str, domain: dict[str, Any], shopmate: ShopMate
) -> None:
    page = open_chat(context, f"{page_url}/")
    context.set_offline(True)
    notice = page.locator("#shopmate-notice")
    expect(notice).to_be_visible(timeout=10000)
    expect(notice).to_have_text("网络已断开，消息会在恢复后发送。")
    expect(page.locator("#shopmate-panel")).to_have_attribute("data-ready", "false")
    send(page, "你好")
    pending = page.locator(".shopmate-msg.user").first
    expect(pending).to_have_text("你好")
    expect(pending).to_have_class(re.compile("is-pending"))
    page.wait_for_timeout(1500)
    assert page.locator(".shopmate-msg.bot").count() == 0
    said = [e.get("text") for e in shopmate.tracker(session_id(page))["events"]]
    assert "你好" not in said

    context.set_offline(False)
    expect(page.locator(".shopmate-msg.bot").first).to_have_text(
        response_texts(domain, "utter_greet", "zh")[0], timeout=30000
    )
    expect(pending).not_to_have_class(re.compile("is-pending"))
    expect(notice).to_be_hidden()
    said = [e.get("text") for e in shopmate.tracker(session_id(page))["events"]]
    assert said.count("你好") == 1
    page.close()


def test_a_product_pages_chat_is_about_that_product(
    context: BrowserContext, page_url: str, shopmate: ShopMate
) -> None:
    page = context.new_page()
    page.goto(f"{page_url}/product/P1")
    expect(page.locator("h1")).to_have_text("真丝连衣裙")
    page.get_by_role("button", name=re.compile("问问这件商品")).click()
    expect(page.locator("#shopmate-panel")).to_be_visible()
    expect(page.locator("#shopmate-input")).to_be_focused()
    expect(page.locator("#shopmate-context")).to_have_text("正在咨询：真丝连衣裙")
    expect(page.locator("#shopmate-panel")).to_have_attribute("data-ready", "true", timeout=20000)
    send(page, "这件有M码吗")
    bot = page.locator(".shopmate-msg.bot, .shopmate-product")
    expect(bot.first).to_be_visible(timeout=REPLY_S)
    page.wait_for_timeout(1500)  # the whole answer
    answer = " ".join(page.locator("#shopmate-messages").all_inner_texts())
    # "这件" is P1: the answer names it or its sizes, whichever way the model leans.
    assert "真丝连衣裙" in answer or re.search(r"\bM\b|M码", answer), answer
    events = shopmate.tracker(session_id(page))["events"]
    [asked] = [e for e in events if e["event"] == "user"]
    assert (asked.get("metadata") or {}).get("page_product") == "P1"
    page.close()


def test_links_images_cards_and_stars_render_safely(
    context: BrowserContext, page_url: str, shopmate: ShopMate
) -> None:
    page = open_chat(context, f"{page_url}/")
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    hostile = "<img src=x onerror=alert(3)>"
    carousel = {
        "v": 1,
        "type": "carousel",
        "language": "zh",
        "items": [
            {
                "code": "P1",
                "title": hostile,
                "price": "¥1.00",
                "rating": 4.2,
                "in_stock": False,
                "image_url": "javascript:alert(4)",
                "url": "javascript:alert(5)",
                "buttons": [],
            },
        ],
    }
    # The satisfaction question as utter_ask_rating sends it: buttons that rate.
    rating = [
        {"title": f"{n}分", "payload": f'/rate_service{{"rating": {n}}}'} for n in range(1, 6)
    ]
    # Bot messages appended through Rasa's HTTP API reach the page over its socket.
    events = [
        {"event": "bot", "text": "详情见 https://example.com/help 或 javascript:alert(1)"},
        {
            "event": "bot",
            "text": "",
            "data": {"attachment": {"type": "image", "payload": {"src": "javascript:alert(2)"}}},
        },
        # Rasa's Socket.IO output emits a custom payload's "data" as the message.
        {"event": "bot", "text": "", "data": {"custom": {"data": {"shopmate": carousel}}}},
        {"event": "bot", "text": "请为本次服务打分", "data": {"buttons": rating}},
    ]
    requests.post(
        f"{shopmate.rasa_url}/conversations/{session_id(page)}/tracker/events",
        params={
            "token": shopmate.auth_token,
            "output_channel": "socketio",
            "execute_side_effects": "true",
        },
        json=events,
        timeout=30,
    ).raise_for_status()
    stars = page.locator(".shopmate-rating .shopmate-star")
    expect(stars).to_have_count(5, timeout=20000)
    links = page.locator(".shopmate-msg.bot a")
    expect(links).to_have_count(1)
    expect(links.first).to_have_attribute("href", "https://example.com/help")
    expect(links.first).to_have_attribute("rel", "noopener noreferrer")
    expect(page.locator(".shopmate-msg.bot").first).to_contain_text("javascript:alert(1)")
    # The card: its title as text, no picture or link from a javascript: URL, sold out.
    card = page.locator(".shopmate-product")
    expect(card.locator(".shopmate-product__title")).to_have_text(hostile)
    expect(card.locator("img, a")).to_have_count(0)
    expect(card.locator(".shopmate-product__soldout")).to_have_text("售罄")
    assert page.locator("#shopmate-messages img").count() == 0
    # Stars are real buttons; the chosen one is sent and shown by its title.
    expect(stars.nth(3)).to_have_attribute("aria-label", "4 星 · 4分")
    stars.nth(3).click()
    expect(page.locator(".shopmate-msg.user").last).to_have_text("4分")
    expect(stars.nth(0)).to_be_disabled()
    assert dialogs == []
    page.close()


# --- layout, keyboard, screen readers, embedding ----------------------------------------


def test_the_shop_and_the_widget_fit_a_360px_phone(browser: Browser, page_url: str) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    page = open_chat(context, f"{page_url}/")
    # Measured once the panel's opening animation (a small slide) is over.
    wait_until(page, "() => document.getElementById('shopmate-panel').getAnimations().length == 0")
    box = page.locator("#shopmate-panel").bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["y"] >= 0
    assert box["x"] + box["width"] <= 360
    assert box["y"] + box["height"] <= 740
    send(page, "我想买一件红色的连衣裙")
    expect(page.locator(".shopmate-product").first).to_be_visible(timeout=REPLY_S)
    assert no_horizontal_scroll(page)
    # The conversation never scrolls sideways; only the carousel's own track may.
    messages = page.locator("#shopmate-messages")
    assert messages.evaluate("m => m.scrollWidth <= m.clientWidth")
    card = page.locator(".shopmate-product").first.bounding_box()
    assert card is not None
    assert card["x"] >= 0
    assert card["x"] + card["width"] <= 360
    page.keyboard.press("Escape")
    expect(page.locator("#shopmate-panel")).to_be_hidden()
    assert no_horizontal_scroll(page)
    for path in ["/", "/product/P1", "/?category=bags"]:
        page.goto(f"{page_url}{path}")
        expect(page.locator("#shopmate-launcher")).to_be_visible()
        assert no_horizontal_scroll(page), path
    context.close()


def test_the_widget_works_from_the_keyboard_and_for_screen_readers(
    context: BrowserContext, page_url: str, domain: dict[str, Any]
) -> None:
    page = context.new_page()
    page.goto(f"{page_url}/")
    launcher = page.locator("#shopmate-launcher")
    expect(launcher).to_have_attribute("aria-expanded", "false")
    expect(launcher).to_have_attribute("aria-label", "打开 ShopMate 助手")
    launcher.focus()
    page.keyboard.press("Enter")
    # Focus moves into the panel; the panel is a labelled dialog.
    expect(page.locator("#shopmate-input")).to_be_focused()
    expect(launcher).to_have_attribute("aria-expanded", "true")
    panel = page.get_by_role("dialog", name="ShopMate 助手")
    expect(panel).to_be_visible()
    # Every control is a labelled, real button or input.
    for control in page.locator("#shopmate-panel button, #shopmate-panel input").all():
        name = control.get_attribute("aria-label") or control.inner_text()
        assert name.strip(), control.evaluate("c => c.outerHTML")
    expect(page.locator("#shopmate-live")).to_have_attribute("aria-live", "polite")
    expect(page.locator("#shopmate-panel")).to_have_attribute("data-ready", "true", timeout=20000)
    page.keyboard.type("你好")
    page.keyboard.press("Enter")
    greeting = response_texts(domain, "utter_greet", "zh")[0]
    # The live region says the bot's new message once (the log itself is not live).
    expect(page.locator("#shopmate-live")).to_contain_text(greeting, timeout=30000)
    expect(page.locator("#shopmate-messages")).to_have_attribute("aria-live", "off")
    # Shift+Tab from the input goes back through the conversation (and any buttons in
    # it) to the close button, then the launcher.
    order = []
    while len(order) < 10 and (not order or order[-1] != "shopmate-launcher"):
        page.keyboard.press("Shift+Tab")
        order.append(page.evaluate("document.activeElement.id"))
    assert order[-3:] == ["shopmate-messages", "shopmate-close", "shopmate-launcher"], order
    page.keyboard.press("Tab")
    page.keyboard.press("Escape")
    expect(page.locator("#shopmate-panel")).to_be_hidden()
    expect(launcher).to_be_focused()
    expect(launcher).to_have_attribute("aria-expanded", "false")
    page.close()


def test_one_script_tag_embeds_the_widget_in_any_page(
    browser: Browser, shopmate: ShopMate, domain: dict[str, Any]
) -> None:
    # A page of the shop that web/server.py does not render, only the documented tag
    # on it (served on the same origin, as a store's other pages are).
    def markup(url: str) -> str:
        return (
            '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
            "<title>Any page</title>"
            f'<script src="{url}/widget.js" data-rasa="{shopmate.rasa_url}" defer></script>'
            "</head><body><h1>Any page</h1></body></html>"
        )

    base: list[str] = []

    async def any_page(request: Request) -> HTMLResponse:
        return HTMLResponse(markup(base[0]))

    route = Route("/any-page", any_page, methods=["GET"])
    with shop_page(shopmate, shopmate.shop_db_url, extra_routes=[route]) as url:
        base.append(url)
        context = browser.new_context(viewport=DESKTOP)
        page = context.new_page()
        asked: list[str] = []
        page.on("request", lambda request: asked.append(request.url))
        page.goto(f"{url}/any-page")
        # It built its own launcher and panel, and brought its styles and client.
        launcher = page.locator("#shopmate-launcher")
        expect(launcher).to_be_visible()
        assert launcher.evaluate("l => getComputedStyle(l).position") == "fixed"
        launcher.click()
        expect(page.locator("#shopmate-panel")).to_have_attribute(
            "data-ready", "true", timeout=20000
        )
        send(page, "你好")
        expect(page.locator(".shopmate-msg.bot").first).to_have_text(
            response_texts(domain, "utter_greet", "zh")[0], timeout=30000
        )
        assert f"{url}/static/widget.css" in asked
        assert f"{url}/vendor/socket.io.min.js" in asked
        assert f"{url}/config.json" not in asked  # data-rasa named Rasa
        context.close()


def test_demo_login_makes_the_widget_a_signed_in_shopper(
    browser: Browser, shopmate: ShopMate, domain: dict[str, Any]
) -> None:
    # The page's server signs Alice's token for the widget's own conversation only.
    with shop_page(shopmate, shopmate.shop_db_url, demo_login=True) as url:
        context = browser.new_context()
        page = open_chat(context, f"{url}/")
        page.select_option("#demo-customer", "1")
        wait_until(page, "() => Boolean(window.ShopMateAuth && window.ShopMateAuth.token)")
        send(page, "what's the status of order A1000001?")
        reply = page.locator(".shopmate-msg.bot").first
        # Proven by the token: the status, not the phone question.
        expect(reply).to_contain_text("A1000001", timeout=30000)
        assert response_texts(domain, "utter_ask_guest_phone", "en")[0] not in reply.inner_text()
        # Still signed in after a reload (the demo keeps the choice for the tab).
        page.reload()
        expect(page.locator("#demo-customer")).to_have_value("1", timeout=10000)
        wait_until(page, "() => Boolean(window.ShopMateAuth && window.ShopMateAuth.token)")
        context.close()
