"""The agent console: sign-in, CSRF, the queue, claim, live transcript, reply, notes,
hand back. Rasa's HTTP API is a recording fake here (httpx's MockTransport); the
end-to-end tests drive the real one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from starlette.applications import Starlette
from starlette.testclient import TestClient

from shopmate.db.session import Database
from shopmate.orders import OrderService
from shopmate.support.escalation import Trigger
from shopmate.support.handoff import ConversationFacts, SupportDesk
from shopmate.support.hours import SupportHours
from shopmate.support.tickets import TicketDesk
from tests.conftest import PROJECT_ROOT, load_web_module
from tests.factories import add_scenario

agent_module = load_web_module("agent")
PASSWORD = "correct horse battery"
HASH = PasswordHasher().hash(PASSWORD)
CONVERSATION = "conv-1"


class FakeRasa:
    """Rasa's conversation API: one tracker, and every request it got."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = [
            {
                "event": "user",
                "text": "<script>alert(1)</script> 垃圾",
                "timestamp": 1.0,
                "parse_data": {"intent": {"name": "complain"}},
            },
            {"event": "bot", "text": "已为您转接", "timestamp": 2.0},
        ]
        self.requests: list[tuple[str, str, dict[str, str], Any]] = []
        self.down = False

    def handler(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        self.requests.append((request.method, request.url.path, dict(request.url.params), body))
        if self.down:
            return httpx.Response(503)
        if request.url.params.get("token") != "rasa-token":
            return httpx.Response(401)
        if request.method == "GET" and request.url.path.endswith("/tracker"):
            return httpx.Response(200, json={"events": self.events})
        if request.url.path.endswith("/tracker/events"):
            self.events += body
            return httpx.Response(200, json={})
        if request.url.path.endswith("/execute") and body == {"name": "utter_ask_rating"}:
            self.events.append({"event": "bot", "text": "请打分", "timestamp": 9.0})
            return httpx.Response(200, json={})
        if request.url.path.endswith("/execute"):
            return httpx.Response(200, json={})
        return httpx.Response(404)


@pytest.fixture
def rasa() -> FakeRasa:
    return FakeRasa()


@pytest.fixture
def console(database: Database, rasa: FakeRasa) -> Iterator[tuple[TestClient, TicketDesk]]:
    add_scenario(database)
    desk = TicketDesk(database)
    SupportDesk(desk, SupportHours.parse("00:00-00:00")).hand_over(
        ConversationFacts(
            CONVERSATION, "zh", "negative", [], customer_id=1, orders_proved=["A1000003"]
        ),
        Trigger.NEGATIVE,
    )
    config = agent_module.ConsoleConfig(
        accounts={"alice": HASH, "bob": HASH},
        session_secret="s" * 40,
        rasa_url="http://rasa.test",
        rasa_token="rasa-token",
        database_url=database.url,
        poll_s=0.01,
        canned=agent_module.load_canned_replies(),
    )
    client = httpx.AsyncClient(transport=httpx.MockTransport(rasa.handler))
    app = agent_module.AgentConsole(
        config,
        desk,
        OrderService(database),
        agent_module.RasaConversations(config.rasa_url, config.rasa_token, client),
    ).mount()
    with TestClient(Starlette(routes=[app]), base_url="http://127.0.0.1") as test_client:
        test_client.get("/agent/")  # the CSRF cookie
        yield test_client, desk


def post(client: TestClient, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
    token = client.cookies.get("agent_csrftoken") or ""
    return client.post(path, json=body or {}, headers={"x-csrftoken": token})


def sign_in(client: TestClient, name: str = "alice") -> None:
    assert post(client, "/agent/api/login", {"name": name, "password": PASSWORD}).status_code == 200


def test_no_accounts_no_console() -> None:
    assert agent_module.ConsoleConfig.from_env({"SESSION_SECRET": "x" * 40}, "http://r") is None
    assert agent_module.parse_accounts("alice:plaintext bob:" + HASH) == {"bob": HASH}


def test_everything_but_the_page_needs_a_signed_in_agent(console: Any) -> None:
    client, _ = console
    assert client.get("/agent/").status_code == 200
    for path in (
        "/agent/api/queue",
        "/agent/api/tickets/1",
        "/agent/api/canned",
        "/agent/api/tickets/1/stream",
    ):
        assert client.get(path).status_code == 401, path
    assert post(client, "/agent/api/tickets/1/claim").status_code == 401
    wrong = post(client, "/agent/api/login", {"name": "alice", "password": "guess"})
    unknown = post(client, "/agent/api/login", {"name": "mallory", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_posts_need_the_csrf_token(console: Any) -> None:
    client, _ = console
    refused = client.post("/agent/api/login", json={"name": "alice", "password": PASSWORD})
    assert refused.status_code == 403
    sign_in(client)
    assert client.post("/agent/api/tickets/1/claim", json={}).status_code == 403
    forged = client.post("/agent/api/tickets/1/claim", json={}, headers={"x-csrftoken": "x"})
    assert forged.status_code == 403


def test_the_session_cookie_is_signed_http_only_and_same_site(console: Any) -> None:
    client, _ = console
    response = post(client, "/agent/api/login", {"name": "alice", "password": PASSWORD})
    cookie = response.headers["set-cookie"].lower()
    assert "shopmate_agent=" in cookie
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert client.get("/agent/api/queue").status_code == 200
    client.cookies.clear()
    client.cookies.set("shopmate_agent", "forged")
    assert client.get("/agent/api/queue").status_code == 401


def test_an_agent_claims_reads_replies_notes_and_hands_back(console: Any, rasa: FakeRasa) -> None:
    client, desk = console
    sign_in(client)
    waiting = client.get("/agent/api/queue?view=waiting").json()
    assert [t["conversation_id"] for t in waiting] == [CONVERSATION]
    assert "transcript" not in waiting[0]
    ticket_id = waiting[0]["id"]
    detail = client.get(f"/agent/api/tickets/{ticket_id}").json()
    assert detail["transcript"][0]["text"] == "<script>alert(1)</script> 垃圾"  # data, as JSON
    assert detail["customer_name"] == "张三"
    assert next(o["order_number"] for o in detail["orders"]) == "A1000003"
    # Replying before claiming is refused; claiming makes it "mine".
    assert post(client, f"/agent/api/tickets/{ticket_id}/reply", {"text": "hi"}).status_code == 409
    assert post(client, f"/agent/api/tickets/{ticket_id}/claim").status_code == 200
    assert [t["id"] for t in client.get("/agent/api/queue?view=mine").json()] == [ticket_id]
    assert client.get("/agent/api/queue?view=waiting").json() == []
    sent = post(client, f"/agent/api/tickets/{ticket_id}/reply", {"text": "您好，我来处理"})
    assert sent.status_code == 200
    method, path, params, body = rasa.requests[-1]
    assert (method, path) == ("POST", f"/conversations/{CONVERSATION}/tracker/events")
    assert params["output_channel"] == "latest"
    assert params["execute_side_effects"] == "true"
    assert body == [{"event": "bot", "text": "您好，我来处理", "metadata": {"agent": "alice"}}]
    assert (
        post(client, f"/agent/api/tickets/{ticket_id}/reply", {"text": "x" * 3000}).status_code
        == 400
    )
    assert post(client, f"/agent/api/tickets/{ticket_id}/notes", {"text": "VIP"}).status_code == 200
    # The shopper writes while paused: the live stream brings it, after what was shown.
    rasa.events.append({"event": "user", "text": "还在吗", "timestamp": 3.0})
    with client.stream("GET", f"/agent/api/tickets/{ticket_id}/stream?after=3") as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                assert json.loads(line[5:])["text"] == "还在吗"
                break
    closed = post(client, f"/agent/api/tickets/{ticket_id}/handback")
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"
    paths = [(r[1], r[3]) for r in rasa.requests[-5:]]
    assert (f"/conversations/{CONVERSATION}/tracker/events", [{"event": "resume"}]) in paths
    assert (f"/conversations/{CONVERSATION}/execute", {"name": "utter_ask_rating"}) in paths
    assert (f"/conversations/{CONVERSATION}/execute", {"name": "action_listen"}) in paths
    stored = desk.get(ticket_id)
    assert [line["text"] for line in stored.transcript][-3:] == [
        "您好，我来处理",
        "还在吗",
        "请打分",
    ]
    assert [n.text for n in stored.notes] == ["VIP"]
    assert [t["id"] for t in client.get("/agent/api/queue?view=closed").json()] == [ticket_id]


def test_another_agents_ticket_cannot_be_answered(console: Any) -> None:
    client, _desk = console
    sign_in(client)
    ticket_id = client.get("/agent/api/queue").json()[0]["id"]
    post(client, f"/agent/api/tickets/{ticket_id}/claim")
    post(client, "/agent/api/logout")
    sign_in(client, "bob")
    assert post(client, f"/agent/api/tickets/{ticket_id}/claim").status_code == 409
    assert post(client, f"/agent/api/tickets/{ticket_id}/reply", {"text": "hi"}).status_code == 409
    assert post(client, f"/agent/api/tickets/{ticket_id}/handback").status_code == 409


def test_rasa_down_is_a_clear_error(console: Any, rasa: FakeRasa) -> None:
    client, _ = console
    sign_in(client)
    ticket_id = client.get("/agent/api/queue").json()[0]["id"]
    rasa.down = True
    response = client.get(f"/agent/api/tickets/{ticket_id}")
    assert response.status_code == 502
    assert response.json() == {"error": "the assistant is unavailable"}


def test_the_console_script_never_renders_html() -> None:
    script = (PROJECT_ROOT / "web" / "static" / "agent.js").read_text(encoding="utf-8")
    assert "innerHTML" not in script
    assert "insertAdjacentHTML" not in script
    assert "textContent" in script


def test_canned_replies_exist_in_both_languages() -> None:
    replies = agent_module.load_canned_replies()
    assert len(replies) >= 5
    assert all(r["zh"] and r["en"] for r in replies)
    assert agent_module.load_canned_replies(Path("/nonexistent.yml")) == []
