"""The demo page's static server: what it serves and what it refuses."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from shopmate.db.session import Database
from shopmate.identity import CustomerTokens, IdentityError
from shopmate.sessions import SessionTokens
from tests.conftest import load_web_module, load_web_server, serving
from tests.factories import add_scenario

SESSION_SECRET = "w" * 40
SESSIONS = SessionTokens(SESSION_SECRET)


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server = load_web_server().build_server(
        "127.0.0.1", 0, "http://127.0.0.1:5005", session_secret=SESSION_SECRET
    )
    with serving(server) as url:
        yield url


def test_the_page_issues_signed_conversations(base_url: str) -> None:
    first = requests.post(f"{base_url}/session", timeout=5).json()
    second = requests.post(f"{base_url}/session", timeout=5).json()
    assert first["session_id"] != second["session_id"]
    assert SESSIONS.verify(first["session_token"]) == first["session_id"]
    # Only by POST: a GET (a link, a prefetch, a cache) never hands one out.
    assert requests.get(f"{base_url}/session", timeout=5).status_code == 404


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
    server = load_web_server().build_server(
        "127.0.0.1", 0, "http://127.0.0.1:5005", login, session_secret=SESSION_SECRET
    )
    with serving(server) as url:
        yield url


def demo_token(url: str, customer: str, session_token: str | None) -> requests.Response:
    headers = {"X-ShopMate-Session": session_token} if session_token else {}
    return requests.get(f"{url}/demo/token?customer={customer}", headers=headers, timeout=5)


def test_demo_login_signs_a_token_for_a_listed_customer_and_this_conversation_only(
    demo_url: str,
) -> None:
    customers = requests.get(f"{demo_url}/demo/customers.json", timeout=5).json()
    assert [c["id"] for c in customers] == [1, 2]
    assert "A2000001" in customers[1]["orders"]
    session_id, session_token = SESSIONS.issue()
    token = demo_token(demo_url, "2", session_token).json()["token"]
    tokens = CustomerTokens("k" * 40)
    assert tokens.verify(token, session_id) == 2
    with pytest.raises(IdentityError):
        tokens.verify(token, "another-conversation")


def test_demo_login_answers_the_same_for_missing_unlisted_and_unbound_requests(
    demo_url: str, database: Database
) -> None:
    _, session_token = SESSIONS.issue()
    forged = SessionTokens("z" * 40).issue()[1]
    answers = [
        demo_token(demo_url, bad, session_token)
        for bad in ["999", "3", "2000", "abc", "", "1;DROP"]
    ] + [demo_token(demo_url, "1", None), demo_token(demo_url, "1", forged)]
    assert {(a.status_code, a.text) for a in answers} == {(404, "not found\n")}


def test_demo_login_is_refused_off_loopback_and_in_production(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    login = load_web_module("demo_login").DemoLogin(CustomerTokens("k" * 40), database)
    web = load_web_server()
    with pytest.raises(ValueError, match="loopback"):
        web.build_server("0.0.0.0", 0, "http://127.0.0.1:5005", login)  # noqa: S104
    monkeypatch.setenv("SHOPMATE_PROFILE", "production")
    monkeypatch.setenv("SESSION_SECRET", SESSION_SECRET)
    with pytest.raises(SystemExit, match="production"):
        web.main(["--demo-login", "--port", "0"])
    monkeypatch.setenv("SHOPMATE_PROFILE", "dev")
    with pytest.raises(SystemExit, match="loopback"):
        web.main(["--demo-login", "--host", "0.0.0.0", "--port", "0"])  # noqa: S104


def test_demo_login_is_off_unless_asked_for(base_url: str) -> None:
    assert requests.get(f"{base_url}/demo/customers.json", timeout=5).status_code == 404
    assert requests.get(f"{base_url}/demo/token?customer=1", timeout=5).status_code == 404
