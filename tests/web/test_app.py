"""The page's Starlette application: mounting a second part, errors, logs, the CLI."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route

from shopmate.sessions import SessionTokens
from tests.conftest import PROJECT_ROOT, load_web_server, serving

SESSION_SECRET = "w" * 40
SESSIONS = SessionTokens(SESSION_SECRET)
RASA_URL = "http://127.0.0.1:5005"
SECURITY_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options")


def assert_page_headers(reply: requests.Response) -> None:
    for name in SECURITY_HEADERS:
        assert name in reply.headers, (reply.status_code, name)
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert reply.headers["Cache-Control"] == "no-cache"


async def hello(request: Request) -> Response:
    return PlainTextResponse("hello from the second part")


async def cached(request: Request) -> Response:
    return PlainTextResponse("cache me", headers={"Cache-Control": "max-age=60"})


async def broken(request: Request) -> Response:
    raise RuntimeError("a bug in a mounted part")


EXTRA_ROUTES = [
    Mount("/part", routes=[Route("/hello", hello), Route("/cached", cached)]),
    Route("/broken", broken),
]


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    server = load_web_server().build_server(
        "127.0.0.1", 0, RASA_URL, session_secret=SESSION_SECRET, extra_routes=EXTRA_ROUTES
    )
    with serving(server) as base_url:
        yield base_url


def test_create_app_builds_an_app_without_serving_it() -> None:
    web = load_web_server()
    app = web.create_app(web.WebConfig(rasa_url=f"{RASA_URL}/", extra_routes=EXTRA_ROUTES))
    assert isinstance(app, Starlette)
    paths = [getattr(route, "path", None) for route in app.routes]
    assert paths[:2] == ["/", "/index.html"]
    assert paths[-2:] == ["/part", "/broken"]
    assert "/session" not in paths  # no session signer: no conversations
    assert not any(str(path).startswith("/demo") for path in paths)


def test_extra_routes_are_served_beside_the_page_with_its_headers(url: str) -> None:
    reply = requests.get(f"{url}/part/hello", timeout=5)
    assert reply.text == "hello from the second part"
    assert_page_headers(reply)
    # A mounted part's own caching choice is kept; the security headers are added.
    own = requests.get(f"{url}/part/cached", timeout=5)
    assert own.headers["Cache-Control"] == "max-age=60"
    assert own.headers["X-Frame-Options"] == "DENY"
    assert requests.get(f"{url}/config.json", timeout=5).json()["rasaUrl"] == RASA_URL


def test_errors_carry_the_security_headers(url: str) -> None:
    crash = requests.get(f"{url}/broken", timeout=5)
    assert (crash.status_code, crash.text) == (500, "internal server error\n")
    assert_page_headers(crash)
    for method, path in [
        ("GET", "/x"),
        ("PUT", "/"),
        ("POST", "/config.json"),
        ("GET", "/session"),
    ]:
        reply = requests.request(method, f"{url}{path}", timeout=5)
        assert (reply.status_code, reply.text) == (404, "not found\n"), (method, path)
        assert reply.headers["Content-Type"] == "text/plain; charset=utf-8"
        assert_page_headers(reply)
    # Not redirected to its slash-less twin: not found, as any other unknown path.
    assert requests.get(f"{url}/config.json/", allow_redirects=False, timeout=5).status_code == 404


def test_an_unparsable_request_gets_the_headers_too(url: str) -> None:
    port = int(url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(b"NOT HTTP \x01\r\n\r\n")
        answer = b""
        while chunk := conn.recv(4096):
            answer += chunk
    head = answer.decode("latin-1").lower()
    assert head.startswith("http/1.1 400")
    assert "x-content-type-options: nosniff" in head
    assert "content-security-policy: default-src 'self'" in head


def test_head_answers_headers_without_a_body(url: str) -> None:
    reply = requests.head(f"{url}/", timeout=5)
    assert reply.status_code == 200
    assert reply.content == b""
    assert int(reply.headers["Content-Length"]) > 0
    assert_page_headers(reply)


def test_requests_are_logged_with_the_path_only(url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="shopmate.web")
    assert requests.get(f"{url}/static/widget.js?token=SECRET-TOKEN", timeout=5).ok
    deadline = time.monotonic() + 5
    while '"GET /static/widget.js" 200' not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.05)  # logged once the response has gone out, in the server's thread
    assert '127.0.0.1 "GET /static/widget.js" 200' in caplog.text
    assert "SECRET-TOKEN" not in caplog.text


class FakeDemoLogin:
    """Stands in for demo_login.DemoLogin; records the thread each call blocks."""

    def __init__(self) -> None:
        self.on_event_loop: list[bool] = []

    def _record(self) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            self.on_event_loop.append(False)
        else:
            self.on_event_loop.append(True)

    def customers(self) -> list[dict[str, object]]:
        self._record()
        return [{"id": 7, "name": "张三", "orders": ["A7000001"]}]

    def token_for(self, customer_id: int, conversation: str) -> str | None:
        self._record()
        return f"token-{customer_id}-{conversation}" if customer_id == 7 else None


def test_demo_login_blocks_in_a_worker_thread_and_refuses_odd_ids() -> None:
    login = FakeDemoLogin()
    server = load_web_server().build_server(
        "127.0.0.1", 0, RASA_URL, login, session_secret=SESSION_SECRET
    )
    session_id, session_token = SESSIONS.issue()
    headers = {"X-ShopMate-Session": session_token}
    with serving(server) as base_url:
        customers = requests.get(f"{base_url}/demo/customers.json", timeout=5)
        assert customers.json() == [{"id": 7, "name": "张三", "orders": ["A7000001"]}]
        token = requests.get(f"{base_url}/demo/token?customer=7", headers=headers, timeout=5)
        assert token.json() == {"token": f"token-7-{session_id}"}
        for odd in ["%C2%B2", "7" * 5000, "-7", "8&customer=7", "+7"]:
            reply = requests.get(
                f"{base_url}/demo/token?customer={odd}", headers=headers, timeout=5
            )
            assert (reply.status_code, reply.text) == (404, "not found\n"), odd
        assert requests.get(f"{base_url}/demo/other", timeout=5).status_code == 404
    assert login.on_event_loop == [False, False, False]  # never on the event loop


def test_the_command_line_needs_the_session_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SESSION_SECRET", raising=False)
    with pytest.raises(SystemExit, match="SESSION_SECRET"):
        load_web_server().main(["--port", "0"])


def test_the_command_line_serves_until_sigterm_then_stops_cleanly(tmp_path: Path) -> None:
    env = {**os.environ, "SESSION_SECRET": SESSION_SECRET, "PYTHONUNBUFFERED": "1"}
    # A catalog with no tables yet: the shop's page still comes up, with a notice.
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'shop.db'}"
    env.pop("SHOPMATE_PROFILE", None)
    env.pop("RASA_AUTH_TOKEN", None)
    process = subprocess.Popen(
        [sys.executable, "web/server.py", "--port", "0", "--rasa-url", RASA_URL],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    timer = threading.Timer(30, process.kill)  # a hung start fails instead of hanging
    timer.start()
    try:
        for line in process.stdout:
            lines.append(line)
            if line.startswith("ShopMate web page: http://"):
                break
        base_url = lines[-1].split(": ", 1)[1].strip()
        assert requests.get(f"{base_url}/config.json?token=SECRET-TOKEN", timeout=5).ok
        assert requests.post(f"{base_url}/session", timeout=5).ok
        home = requests.get(f"{base_url}/", timeout=5)
        assert home.ok
        assert "The catalog is unavailable" in home.text
        process.send_signal(signal.SIGTERM)
        output = "".join(lines) + process.communicate(timeout=20)[0]
    finally:
        timer.cancel()
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, output
    assert output.rstrip().endswith("ShopMate web page: stopped"), output
    assert '"GET /config.json" 200' in output
    assert '"POST /session" 200' in output
    assert "chat history after a reload: off (set RASA_AUTH_TOKEN)" in output
    assert "SECRET-TOKEN" not in output
