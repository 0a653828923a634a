"""The demo page and its chat widget in a real browser (Debian's headless Chromium)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import load_web_server, response_texts, serving
from tests.e2e.conftest import ShopMate

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
    with serving(load_web_server().build_server("127.0.0.1", 0, shopmate.rasa_url)) as url:
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
    browser: Browser, page_url: str, domain: dict[str, Any]
) -> None:
    page = open_chat(browser, page_url)
    send(page, "/nlu_fallback")
    expect(page.locator(".shopmate-msg.bot").first).to_have_text(
        response_texts(domain, "utter_ask_rephrase", "zh")[0], timeout=30000
    )
    send(page, "/nlu_fallback")
    chips = page.locator(".shopmate-chip")
    expect(chips).to_have_count(2, timeout=30000)
    chips.first.click()
    expect(page.locator(".shopmate-msg.bot").last).to_have_text(
        response_texts(domain, "utter_handoff", "zh")[0], timeout=30000
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
