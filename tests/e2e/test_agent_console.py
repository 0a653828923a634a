"""The agent console answers a shopper chatting in the widget: two pages of one headless
Chromium, the real page server with the console mounted, Rasa and the action server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from playwright.sync_api import Browser, expect

from tests.conftest import PROJECT_ROOT, response_texts
from tests.e2e.conftest import ShopMate, page_with_console
from tests.e2e.test_web_widget import browser, open_chat, send  # noqa: F401 - the fixture

pytestmark = pytest.mark.e2e

PASSWORD = "console password for the browser test"
# `SHOPMATE_CONSOLE_SCREENSHOT=1 pytest tests/e2e/test_agent_console.py` refreshes the
# picture in docs/handoff.md; otherwise it goes to the test's temporary directory.
DOCS_SCREENSHOT = PROJECT_ROOT / "docs" / "images" / "agent-console.png"


@pytest.fixture(scope="module")
def site(shopmate: ShopMate) -> Iterator[str]:
    with page_with_console(shopmate, {"mei": PasswordHasher().hash(PASSWORD)}) as url:
        yield url


def test_an_agent_answers_a_shopper_in_the_widget(
    browser: Browser,  # noqa: F811 - the fixture
    site: str,
    domain: dict[str, Any],
    tmp_path: Path,
) -> None:
    shop = open_chat(browser, f"{site}/")
    bot = shop.locator(".shopmate-msg.bot")
    send(shop, "<b>快递</b>坏了，转人工")
    # A complaint or a plain request for a person, as the model reads it: handed over.
    handed_over = response_texts(domain, "utter_handoff_started", "zh")[0].split("{ticket}")[0]
    expect(bot.filter(has_text=handed_over).first).to_be_visible(timeout=30000)
    send(shop, "有人吗？")

    console = browser.new_page()
    console.goto(f"{site}/agent/")
    console.fill("#login-name", "mei")
    console.fill("#login-password", "wrong password")
    console.click("#login button[type=submit]")
    expect(console.locator("#login-error")).not_to_be_empty(timeout=10000)
    console.fill("#login-password", PASSWORD)
    console.click("#login button[type=submit]")
    expect(console.locator("#agent-name")).to_have_text("mei", timeout=10000)
    console.locator("#tickets li").last.click()
    expect(console.locator("#claim")).to_be_visible(timeout=10000)
    console.click("#claim")
    transcript = console.locator("#transcript li.shopper")
    # The shopper's own words, shown as text: the markup is not rendered.
    expect(transcript.first).to_contain_text("<b>快递</b>坏了，转人工", timeout=10000)
    expect(console.locator("#transcript b")).to_have_count(0)
    expect(transcript.last).to_contain_text("有人吗？", timeout=10000)
    # Written while the agent watches: it arrives live.
    send(shop, "订单是昨天到的")
    expect(transcript.last).to_contain_text("订单是昨天到的", timeout=15000)

    console.select_option("#canned", index=1)
    greeting = console.input_value("#reply-text")
    assert greeting
    console.click("#reply button[type=submit]")
    expect(bot.last).to_have_text(greeting, timeout=20000)
    expect(console.locator("#transcript li.agent").last).to_contain_text(greeting, timeout=15000)
    console.screenshot(
        path=str(
            DOCS_SCREENSHOT
            if os.environ.get("SHOPMATE_CONSOLE_SCREENSHOT")
            else tmp_path / "console.png"
        ),
        full_page=True,
    )

    console.click("#handback")
    expect(bot.last).to_have_text(
        response_texts(domain, "utter_ask_rating", "zh")[0], timeout=20000
    )
    chips = shop.locator(".shopmate-chip")
    expect(chips).to_have_count(5, timeout=10000)
    chips.nth(3).click()
    expect(bot.last).to_have_text(
        response_texts(domain, "utter_thanks_for_rating", "zh")[0], timeout=20000
    )
    console.click(".tabs button[data-view=closed]")
    expect(console.locator("#tickets li").first).to_be_visible(timeout=10000)
    shop.close()
    console.close()
