"""/agent/insight: the store insight report for signed-in agents only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher
from starlette.applications import Starlette
from starlette.testclient import TestClient

from shopmate.db.session import Database
from shopmate.orders import OrderService
from shopmate.support.tickets import TicketDesk
from tests.conftest import load_web_module
from tests.shopmate.analytics.known_store import PHONE, write_shop, write_tracker

agent_module = load_web_module("agent")
PASSWORD = "correct horse battery"


def client_for(tmp_path: Path, tracker: str | None) -> TestClient:
    shop = write_shop(f"sqlite:///{tmp_path / 'shop.db'}")
    config = agent_module.ConsoleConfig(
        accounts={"alice": PasswordHasher().hash(PASSWORD)},
        session_secret="s" * 40,
        rasa_url="http://rasa.test",
        rasa_token="",
        database_url=shop,
        tracker_url=tracker,
    )
    database = Database(shop)
    rasa = agent_module.RasaConversations(
        config.rasa_url,
        "",
        httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(503))),
    )
    app = agent_module.AgentConsole(config, TicketDesk(database), OrderService(database), rasa)
    return TestClient(Starlette(routes=[app.mount()]), base_url="http://127.0.0.1")


def sign_in(client: TestClient) -> None:
    client.get("/agent/")
    token = client.cookies.get("agent_csrftoken") or ""
    reply = client.post(
        "/agent/api/login",
        json={"name": "alice", "password": PASSWORD},
        headers={"x-csrftoken": token},
    )
    assert reply.status_code == 200


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    tracker = write_tracker(tmp_path / "tracker.db")
    with client_for(tmp_path, str(tracker)) as test_client:
        yield test_client


def test_signed_out_agents_are_sent_to_sign_in(client: TestClient) -> None:
    reply = client.get("/agent/insight?days=0", follow_redirects=False)
    assert reply.status_code == 303
    assert reply.headers["location"] == "/agent/"
    assert "Containment" not in reply.text


def test_a_signed_in_agent_sees_the_report(client: TestClient) -> None:
    sign_in(client)
    reply = client.get("/agent/insight?days=0")
    assert reply.status_code == 200
    assert reply.headers["cache-control"] == "no-store"
    page = reply.text
    assert "自助解决率" in page
    assert "Containment" in page
    assert '<link rel="stylesheet" href="insight/report.css">' in page
    assert "<style>" not in page  # the console's CSP allows no inline style
    assert PHONE not in page
    assert ">bob<" not in page
    assert "50.0%" in page  # containment of the known store
    css = client.get("/agent/insight/report.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")


def test_without_a_tracker_store_the_page_says_so(tmp_path: Path) -> None:
    with client_for(tmp_path, None) as test_client:
        sign_in(test_client)
        assert test_client.get("/agent/insight").status_code == 503


def test_the_tracker_store_comes_from_the_environment() -> None:
    url = "postgresql://rasa@127.0.0.1/tracker"
    assert agent_module.tracker_store({"TRACKER_DB_URL": url}) == url
    path = agent_module.tracker_store({"TRACKER_SQLITE_PATH": "var/t.db"})
    assert path.endswith("var/t.db")
    assert Path(path).is_absolute()
