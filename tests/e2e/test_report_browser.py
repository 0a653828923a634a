"""Chromium opens the store insight report (the file `make report` writes) and the
console's insight page behind sign-in, under the page server's CSP: headings and
pictures in Chinese and in English. No Rasa: the console's Rasa URL is a fake one."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from playwright.sync_api import Browser, Page, expect, sync_playwright

from scripts.report import main as make_report
from tests.conftest import load_web_module, load_web_server, serving
from tests.shopmate.analytics.known_store import write_shop, write_tracker

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "insight password for the browser test"
SECRET = "e2e-session-secret-" + "x" * 24


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: run `make install-browser`")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("insight")
    return write_tracker(folder / "tracker.db"), write_shop(f"sqlite:///{folder / 'shop.db'}")


def check_both_languages(page: Page) -> None:
    heading = page.locator("#handoffs h2")
    expect(heading).to_have_text("自助解决与转人工", use_inner_text=True)
    images = page.locator("main img")
    assert images.count() >= 8
    # Every picture decoded (inline PNG, nothing fetched).
    assert page.evaluate("[...document.images].every(i => i.complete && i.naturalWidth > 0)")
    page.click("label[for=lang-en]")
    expect(heading).to_have_text("Containment and handoffs", use_inner_text=True)
    expect(page.locator("header h1")).to_have_text(
        "Store insight: conversation analytics", use_inner_text=True
    )
    expect(images.first).to_be_visible()
    page.click("label[for=lang-zh]")
    expect(page.locator("header h1")).to_have_text("店铺洞察：会话分析", use_inner_text=True)


def test_the_report_file_in_chromium(
    browser: Browser, stores: tuple[Path, str], tmp_path: Path
) -> None:
    tracker, shop = stores
    out = tmp_path / "report.html"
    assert (
        make_report(
            [
                "--tracker-url",
                str(tracker),
                "--database-url",
                shop,
                "--out",
                str(out),
                "--timezone",
                "UTC",
            ]
        )
        == 0
    )
    page = browser.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(out.as_uri())
    check_both_languages(page)
    assert all(url.startswith(("file:", "data:")) for url in requests), requests
    page.close()


def test_the_console_page_after_sign_in(browser: Browser, stores: tuple[Path, str]) -> None:
    tracker, shop = stores
    agent = load_web_module("agent")
    config = agent.ConsoleConfig(
        accounts={"mei": PasswordHasher().hash(PASSWORD)},
        session_secret=SECRET,
        rasa_url="http://127.0.0.1:9",  # no Rasa: the report does not need it
        rasa_token="",
        database_url=shop,
        tracker_url=str(tracker),
    )
    server = load_web_server().build_server(
        "127.0.0.1",
        0,
        config.rasa_url,
        session_secret=SECRET,
        extra_routes=[agent.AgentConsole.from_config(config).mount()],
    )
    with serving(server) as url:
        page = browser.new_page()
        page.goto(f"{url}/agent/insight?days=0")
        expect(page).to_have_url(f"{url}/agent/")  # signed out: sent to sign in
        page.fill("#login-name", "mei")
        page.fill("#login-password", PASSWORD)
        page.click("#login button[type=submit]")
        expect(page.locator("#agent-name")).to_have_text("mei", timeout=10000)
        errors: list[str] = []
        page.on(
            "console",
            lambda message: errors.append(message.text) if message.type == "error" else None,
        )
        # The console links to the insight page; its figures cover all the days here.
        page.click("#insight-link")
        expect(page).to_have_url(f"{url}/agent/insight")
        page.goto(f"{url}/agent/insight?days=0")
        check_both_languages(page)
        # The stylesheet applied under the CSP: the English spans are hidden in zh.
        assert page.locator("#handoffs h2 .en").is_hidden()
        assert not [e for e in errors if "Content Security Policy" in e], errors
        page.close()
