"""The demo page's static server: what it serves and what it refuses."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from actions.services.db.session import Database
from actions.services.identity import CustomerTokens
from tests.conftest import load_web_module, load_web_server, serving
from tests.factories import add_scenario


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serving(load_web_server().build_server("127.0.0.1", 0, "http://127.0.0.1:5005")) as url:
        yield url


def test_page_and_widget_are_served_with_security_headers(base_url: str) -> None:
    page = requests.get(f"{base_url}/", timeout=5)
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert 'id="shopmate-launcher"' in page.text
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "ws://127.0.0.1:5005" in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    script = requests.get(f"{base_url}/static/widget.js", timeout=5)
    assert script.headers["Content-Type"].startswith("application/javascript")


def test_config_names_the_rasa_server(base_url: str) -> None:
    assert requests.get(f"{base_url}/config.json", timeout=5).json() == {
        "rasaUrl": "http://127.0.0.1:5005",
        "socketPath": "/socket.io/",
    }


def test_socket_io_client_is_served_locally(base_url: str) -> None:
    reply = requests.get(f"{base_url}/vendor/socket.io.min.js", timeout=5)
    assert reply.status_code == 200, "run `make install` (npm ci in web/)"
    assert "io" in reply.text


@pytest.mark.parametrize(
    "path",
    ["/static/../server.py", "/static/%2e%2e/server.py", "/static/../../README.md", "/.env", "/x"],
)
def test_nothing_outside_static_is_served(base_url: str, path: str) -> None:
    assert requests.get(f"{base_url}{path}", timeout=5).status_code == 404


@pytest.fixture
def demo_url(database: Database) -> Iterator[str]:
    add_scenario(database)
    login = load_web_module("demo_login").DemoLogin(CustomerTokens("k" * 40), database)
    with serving(
        load_web_server().build_server("127.0.0.1", 0, "http://127.0.0.1:5005", login)
    ) as url:
        yield url


def test_demo_login_signs_a_token_for_a_seeded_customer_only(demo_url: str) -> None:
    customers = requests.get(f"{demo_url}/demo/customers.json", timeout=5).json()
    assert [c["id"] for c in customers] == [1, 2]
    assert "A2000001" in customers[1]["orders"]
    token = requests.get(f"{demo_url}/demo/token?customer=2", timeout=5).json()["token"]
    assert CustomerTokens("k" * 40).verify(token) == 2
    for bad in ["999", "abc", "", "1;DROP"]:
        assert requests.get(f"{demo_url}/demo/token?customer={bad}", timeout=5).status_code == 404


def test_demo_login_is_off_unless_asked_for(base_url: str) -> None:
    assert requests.get(f"{base_url}/demo/customers.json", timeout=5).status_code == 404
    assert requests.get(f"{base_url}/demo/token?customer=1", timeout=5).status_code == 404
