"""Feelings and people with real processes: the trained model, the action server, Rasa,
the page's server with the agent console, a real Socket.IO client and the ticket
database. Assertions are what the shopper and the agent see, whichever intent the
model reads an angry message as: every path apologises first."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from argon2 import PasswordHasher

from shopmate.db.session import Database
from shopmate.support.tickets import TicketDesk, ticket_id_of
from shopmate.support.transcript import transcript_from_events
from tests.conftest import is_response, response_texts
from tests.e2e.conftest import ShopMate, page_with_console
from tests.e2e.test_socketio import WidgetClient

pytestmark = pytest.mark.e2e

APOLOGY = re.compile(r"抱歉|sorry", re.I)
ANGRY = {
    "zh": ("我的订单到底什么时候到？？？气死了", "快递太慢了，气死我了！！"),
    "en": ("where is my order??? this is ridiculous", "worst service ever, I am furious"),
}
PASSWORD = "agent password for the e2e test"
TICKET = re.compile(r"T\d{6}")


def new_sender() -> str:
    return f"e2e-people-{secrets.token_hex(6)}"


@pytest.mark.parametrize("language", ["zh", "en"])
def test_an_angry_message_gets_an_apology_first(shopmate: ShopMate, language: str) -> None:
    sender = new_sender()
    texts = shopmate.texts(sender, ANGRY[language][0])
    assert texts, "the bot answers"
    assert APOLOGY.search(texts[0]), texts
    assert shopmate.tracker(sender)["slots"]["sentiment"] == "negative"


@pytest.mark.parametrize("language", ["zh", "en"])
def test_two_angry_messages_offer_a_person_then_help(
    shopmate: ShopMate, domain: dict[str, Any], language: str
) -> None:
    sender = new_sender()
    first, second = ANGRY[language]
    shopmate.say(sender, first)
    reply = shopmate.say(sender, second)
    assert reply[0]["text"] == response_texts(domain, "utter_offer_handoff", language)[0]
    assert [b["payload"] for b in reply[0]["buttons"]] == ["/request_human", "/deny"]
    assert len(reply) >= 2, "the offer comes first, then the bot still answers"
    # Declining keeps the bot; the offer is not repeated on the next message.
    declined = shopmate.texts(sender, "/deny")
    assert declined == response_texts(domain, "utter_handoff_declined", language)
    assert not shopmate.tracker(sender)["paused"]


def test_accepting_the_offer_hands_over(shopmate: ShopMate, domain: dict[str, Any]) -> None:
    sender = new_sender()
    for text in ANGRY["zh"]:
        shopmate.say(sender, text)
    (handed_over,) = shopmate.texts(sender, "/request_human")
    assert is_response(domain, handed_over, "utter_handoff_started", "zh")
    assert shopmate.tracker(sender)["paused"]


@pytest.fixture
def console(shopmate: ShopMate) -> Iterator[str]:
    with page_with_console(shopmate, {"alice": PasswordHasher().hash(PASSWORD)}) as url:
        yield url


class Agent:
    """An agent in the console, over its HTTP API (the browser test clicks it)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = requests.Session()
        self.http.get(f"{url}/agent/", timeout=10).raise_for_status()  # the CSRF cookie

    def post(self, path: str, body: dict[str, Any] | None = None) -> requests.Response:
        token = self.http.cookies.get("agent_csrftoken", path="/agent") or ""
        return self.http.post(
            f"{self.url}/agent/api{path}",
            json=body or {},
            headers={"x-csrftoken": token},
            timeout=30,
        )

    def get(self, path: str) -> Any:
        reply = self.http.get(f"{self.url}/agent/api{path}", timeout=30)
        reply.raise_for_status()
        return reply.json()


def wait_for(check: Any, seconds: float = 20.0) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.3)


def test_a_person_takes_over_and_hands_back_over_the_socket(
    shopmate: ShopMate, domain: dict[str, Any], console: str
) -> None:
    shopper = WidgetClient(shopmate.rasa_url)
    try:
        assert shopper.say("你好")["text"] in response_texts(domain, "utter_greet", "zh")
        handed_over = shopper.say("转人工")["text"]
        assert is_response(domain, handed_over, "utter_handoff_started", "zh")
        number = TICKET.search(handed_over).group()  # type: ignore[union-attr]
        # Paused: the bot says nothing more, but the message is kept for the agent.
        shopper.send("还在吗？我的快递坏了")
        assert shopper.drain(4) == [], "the bot is quiet while a person has it"

        agent = Agent(console)
        assert agent.post("/login", {"name": "alice", "password": PASSWORD}).ok
        waiting = agent.get("/queue?view=waiting")
        (ticket,) = [t for t in waiting if t["number"] == number]
        assert ticket["conversation_id"] == shopper.session_id
        assert agent.post(f"/tickets/{ticket['id']}/claim").ok
        detail = agent.get(f"/tickets/{ticket['id']}")
        said = [line["text"] for line in detail["transcript"] if line["role"] == "shopper"]
        assert said == ["你好", "转人工", "还在吗？我的快递坏了"]
        # The live stream brings what the shopper writes next.
        with agent.http.get(
            f"{console}/agent/api/tickets/{ticket['id']}/stream?after={len(detail['transcript'])}",
            stream=True,
            timeout=30,
        ) as stream:
            shopper.send("照片怎么发给你们")
            line = next(
                raw for raw in stream.iter_lines(decode_unicode=True) if raw.startswith("data:")
            )
        assert '"照片怎么发给你们"' in line

        assert agent.post(
            f"/tickets/{ticket['id']}/reply", {"text": "您好，我是客服小美，马上为您处理"}
        ).ok
        reply = shopper.replies.get(timeout=20)
        assert reply["text"] == "您好，我是客服小美，马上为您处理"
        events = shopmate.tracker(shopper.session_id)["events"]
        agent_lines = [
            e for e in events if e["event"] == "bot" and (e.get("metadata") or {}).get("agent")
        ]
        assert [e["text"] for e in agent_lines] == ["您好，我是客服小美，马上为您处理"]

        assert agent.post(f"/tickets/{ticket['id']}/notes", {"text": "破损，补发"}).ok
        closed = agent.post(f"/tickets/{ticket['id']}/handback")
        assert closed.ok
        assert closed.json()["status"] == "closed"
        rating = shopper.replies.get(timeout=20)
        assert rating["text"] == response_texts(domain, "utter_ask_rating", "zh")[0]
        assert not shopmate.tracker(shopper.session_id)["paused"]
        # The bot is back: the rating button is obeyed and stored with the ticket.
        thanks = shopper.say('/rate_service{"satisfaction": "5"}')
        assert thanks["text"] in response_texts(domain, "utter_thanks_for_rating", "zh")
        desk = TicketDesk(Database(shopmate.shop_db_url))
        stored = wait_for(lambda: desk.get(ticket_id_of(number) or 0))
        assert stored.rating == 5
        assert [n.text for n in stored.notes] == ["破损，补发"]
        # The ticket's transcript is the conversation as Rasa keeps it, up to the hand-back.
        conversation = transcript_from_events(shopmate.tracker(shopper.session_id)["events"])
        assert list(stored.transcript) == conversation[: len(stored.transcript)]
        assert [line["text"] for line in stored.transcript][-2:] == [
            "您好，我是客服小美，马上为您处理",
            response_texts(domain, "utter_ask_rating", "zh")[0],
        ]
    finally:
        shopper.close()
