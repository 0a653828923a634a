"""The demo page and its chat widget in a real browser (Debian's headless Chromium)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Page, expect, sync_playwright

from shopmate.db.session import Database
from shopmate.identity import CustomerTokens
from tests.conftest import (
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


@pytest.fixture(scope="module")
def page_url(shopmate: ShopMate) -> Iterator[str]:
    server = load_web_server().build_server(
        "127.0.0.1", 0, shopmate.rasa_url, session_secret=SESSION_SECRET
    )
    with serving(server) as url:
        yield f"{url}/"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: run `make install-browser`")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def open_chat(browser: Browser, url: str) -> Page:
    page = browser.new_page()
    page.goto(url)
    page.click("#shopmate-launcher")
    expect(page.locator("#shopmate-panel")).to_have_attribute("data-ready", "true", timeout=20000)
    return page


def send(page: Page, text: str) -> None:
    page.fill("#shopmate-input", text)
    page.press("#shopmate-input", "Enter")


def test_shopper_chats_in_chinese_then_english_in_the_widget(
    browser: Browser, page_url: str, domain: dict[str, Any], tmp_path: Path
) -> None:
    page = open_chat(browser, page_url)
    bot = page.locator(".shopmate-msg.bot")
    send(page, "你好")
    expect(bot.first).to_have_text(response_texts(domain, "utter_greet", "zh")[0], timeout=30000)
    expect(page.locator(".shopmate-msg.user").first).to_have_text("你好")
    send(page, "are you a bot?")
    expect(bot.nth(1)).to_have_text(response_texts(domain, "utter_iamabot", "en")[0], timeout=30000)
    page.screenshot(path=str(tmp_path / "widget.png"))
    page.close()


def test_buttons_are_clickable_chips(
    browser: Browser, page_url: str, domain: dict[str, Any], shopmate: ShopMate
) -> None:
    page = open_chat(browser, page_url)
    send(page, "你好")
    expect(page.locator(".shopmate-msg.bot").first).to_have_text(
        response_texts(domain, "utter_greet", "zh")[0], timeout=30000
    )
    # Two misreadings injected through the HTTP API into the widget's own conversation
    # (a typed "/nlu_fallback" is text now); the replies reach the page over its socket.
    session_id = page.evaluate("JSON.parse(sessionStorage.getItem('shopmate.session')).session_id")
    for _ in range(2):
        requests.post(
            f"{shopmate.rasa_url}/conversations/{session_id}/trigger_intent",
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


def test_message_text_is_shown_as_text_not_html(browser: Browser, page_url: str) -> None:
    page = open_chat(browser, page_url)
    send(page, "<img src=x onerror=alert(1)>hello")
    user = page.locator(".shopmate-msg.user").first
    expect(user).to_have_text("<img src=x onerror=alert(1)>hello")
    assert page.locator("#shopmate-messages img").count() == 0
    page.close()


def test_search_results_are_product_cards(browser: Browser, page_url: str) -> None:
    # The scenario's catalog (tests/factories.py): P1 真丝连衣裙, ¥100.00, red in stock.
    page = open_chat(browser, page_url)
    send(page, "我想买一件红色的连衣裙")
    card = page.locator(".shopmate-card").first
    expect(card).to_contain_text("真丝连衣裙", timeout=60000)
    expect(card).to_contain_text("¥100.00")
    expect(card).to_have_attribute("data-code", "P1")
    # The card replaces its text line instead of repeating it.
    expect(page.locator(".shopmate-msg.bot", has_text="1. 真丝连衣裙")).to_have_count(1)
    page.close()


def test_demo_login_makes_the_widget_a_signed_in_shopper(
    browser: Browser, shopmate: ShopMate, domain: dict[str, Any]
) -> None:
    # The page's server signs Alice's token for the widget's own conversation only.
    database = Database(shopmate.shop_db_url)
    login = load_web_module("demo_login").DemoLogin(CustomerTokens(CUSTOMER_TOKEN_SECRET), database)
    server = load_web_server().build_server(
        "127.0.0.1", 0, shopmate.rasa_url, login, session_secret=SESSION_SECRET
    )
    try:
        with serving(server) as url:
            page = open_chat(browser, f"{url}/")
            page.select_option("#demo-customer", "1")
            page.wait_for_function("window.ShopMateAuth && window.ShopMateAuth.token")
            send(page, "what's the status of order A1000001?")
            reply = page.locator(".shopmate-msg.bot").first
            # Proven by the token: the status, not the phone question.
            expect(reply).to_contain_text("A1000001", timeout=30000)
            assert (
                response_texts(domain, "utter_ask_guest_phone", "en")[0] not in reply.inner_text()
            )
            page.close()
    finally:
        database.dispose()
