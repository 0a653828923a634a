"""The socketio channel (what the web widget uses), with a real Socket.IO client."""

from __future__ import annotations

import queue
import secrets
import time
from typing import Any

import pytest
import socketio

from shopmate.sessions import SessionTokens
from tests.conftest import response_texts
from tests.e2e.conftest import SESSION_SECRET, ShopMate, customer_metadata, reset_scenario

pytestmark = pytest.mark.e2e

# What the shop page's server does (web/server.py POST /session), with the same secret.
SESSIONS = SessionTokens(SESSION_SECRET)


class WidgetClient:
    """Speaks Rasa's socketio protocol the way web/static/widget.js does."""

    def __init__(
        self,
        url: str,
        session: tuple[str, str] | None = None,
        origin: str | None = None,
        expect_confirm: bool = True,
    ) -> None:
        self.session_id, self.session_token = session or SESSIONS.issue()
        self.replies: queue.Queue[dict[str, Any]] = queue.Queue()
        self.confirmed: queue.Queue[str] = queue.Queue()
        self.rejected: queue.Queue[Any] = queue.Queue()
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("bot_uttered", self.replies.put)
        self.sio.on("session_confirm", lambda sid: self.confirmed.put(str(sid)))
        self.sio.on("session_rejected", self.rejected.put)
        self.sio.on("connect", self.request_session)
        headers = {"Origin": origin} if origin else {}
        self.sio.connect(url, transports=["websocket"], socketio_path="/socket.io", headers=headers)
        if expect_confirm:
            self.confirmed.get(timeout=20)

    def request_session(self) -> None:
        self.sio.emit(
            "session_request", {"session_id": self.session_id, "session_token": self.session_token}
        )

    def send(self, text: str, metadata: dict[str, Any] | None = None) -> None:
        message: dict[str, Any] = {"message": text, "session_id": self.session_id}
        if metadata is not None:
            message["metadata"] = metadata
        self.sio.emit("user_uttered", message)

    def say(self, text: str, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
        self.send(text, metadata)
        return self.replies.get(timeout=60)

    def drain(self, seconds: float) -> list[dict[str, Any]]:
        """Every reply that arrives within `seconds`."""
        got = []
        try:
            while True:
                got.append(self.replies.get(timeout=seconds))
        except queue.Empty:
            return got

    def close(self) -> None:
        self.sio.disconnect()


def test_socketio_conversation_survives_a_reconnect(
    shopmate: ShopMate, domain: dict[str, Any]
) -> None:
    session = SESSIONS.issue()
    client = WidgetClient(shopmate.rasa_url, session)
    try:
        assert client.say("你好")["text"] == response_texts(domain, "utter_greet", "zh")[0]
    finally:
        client.close()

    again = WidgetClient(shopmate.rasa_url, session)
    try:
        reply = again.say("谢谢")
        assert reply["text"] == response_texts(domain, "utter_you_are_welcome", "zh")[0]
    finally:
        again.close()
    actions = shopmate.bot_actions(session[0])
    assert actions[-2:] == ["utter_greet", "utter_you_are_welcome"]


def test_a_message_sent_again_after_a_reconnect_is_answered_once(
    shopmate: ShopMate, domain: dict[str, Any]
) -> None:
    """The widget sends an unanswered message again, with its id, after reconnecting:
    the shopper gets the reply, and the conversation holds the message once."""
    session = SESSIONS.issue()
    message = {"message": "谢谢", "session_id": session[0], "message_id": secrets.token_hex(16)}
    client = WidgetClient(shopmate.rasa_url, session)
    try:
        client.sio.emit("user_uttered", message)
        first = client.replies.get(timeout=60)
    finally:
        client.close()
    again = WidgetClient(shopmate.rasa_url, session)
    try:
        again.sio.emit("user_uttered", message)
        second = again.replies.get(timeout=60)
    finally:
        again.close()
    assert first["text"] == second["text"]
    assert first["text"] in response_texts(domain, "utter_you_are_welcome", "zh")
    said = [e for e in shopmate.tracker(session[0])["events"] if e["event"] == "user"]
    assert [e["text"] for e in said] == ["谢谢"]
    assert shopmate.bot_actions(session[0]).count("utter_you_are_welcome") == 1


@pytest.mark.parametrize(
    "metadata",
    [
        None,
        {"customer_id": 1},  # a claim in the metadata, not a token
        {"customer_token": "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0."},  # alg "none"
        "another secret",
        "another conversation",
    ],
)
def test_socketio_claims_and_borrowed_tokens_prove_nothing(
    shopmate: ShopMate, domain: dict[str, Any], metadata: Any
) -> None:
    reset_scenario(shopmate.shop_db_url)
    client = WidgetClient(shopmate.rasa_url)
    if metadata == "another secret":
        metadata = customer_metadata(1, client.session_id, secret="x" * 40)
    elif metadata == "another conversation":
        # Alice's real token, issued for another conversation (replayed from a log, say).
        metadata = customer_metadata(1, SESSIONS.issue()[0])
    try:
        reply = client.say("I am customer 1, cancel order A1000001", metadata)
        # Still a guest: asked to prove the order, told nothing about it.
        assert reply["text"] == response_texts(domain, "utter_ask_guest_phone", "en")[0]
        reply = client.say("yes", metadata)
        assert "¥350.00" not in reply.get("text", "")
    finally:
        client.close()
    check = f"check-{secrets.token_hex(4)}"
    status = shopmate.say(check, "status of order A1000001", customer_metadata(1, check))
    assert "paid" in status[0]["text"]  # not cancelled


def test_socketio_passes_a_real_token_through(shopmate: ShopMate, domain: dict[str, Any]) -> None:
    reset_scenario(shopmate.shop_db_url)
    client = WidgetClient(shopmate.rasa_url)
    try:
        reply = client.say("cancel order A1000001", customer_metadata(1, client.session_id))
    finally:
        client.close()
    assert reply["text"].startswith("Cancel order A1000001?")


def test_a_hijacking_session_request_gets_nothing(
    shopmate: ShopMate, domain: dict[str, Any]
) -> None:
    """Knowing a shopper's conversation id is not enough to read or write in it."""
    reset_scenario(shopmate.shop_db_url)
    alice = WidgetClient(shopmate.rasa_url)
    forged = SessionTokens("x" * 40).issue()[1].split(".", 1)[1]
    attempts = [
        (alice.session_id, ""),  # the id alone
        (alice.session_id, f"{alice.session_id}.{forged}"),  # a token signed elsewhere
        (alice.session_id, SESSIONS.issue()[1]),  # a real token for another conversation
    ]
    intruders = []
    try:
        for session in attempts:
            intruder = WidgetClient(shopmate.rasa_url, session, expect_confirm=False)
            assert intruder.rejected.get(timeout=20)
            intruders.append(intruder)
        # The intruders' own messages reach no conversation.
        intruders[0].send("cancel order A1000001")
        assert intruders[0].rejected.get(timeout=20)
        reply = alice.say("status of order A1000001", customer_metadata(1, alice.session_id))
        assert "A1000001" in reply["text"]
        alice.drain(2)
        for intruder in intruders:
            assert intruder.drain(1) == []
            assert intruder.confirmed.empty()
    finally:
        for client in [alice, *intruders]:
            client.close()
    # Alice's conversation holds only what Alice said.
    texts = [
        e.get("text") for e in shopmate.tracker(alice.session_id)["events"] if e["event"] == "user"
    ]
    assert texts == ["status of order A1000001"]


def test_socket_connections_from_other_sites_are_refused(shopmate: ShopMate) -> None:
    with pytest.raises(socketio.exceptions.ConnectionError):
        WidgetClient(shopmate.rasa_url, origin="https://evil.example")
    client = WidgetClient(shopmate.rasa_url, origin="http://127.0.0.1:8080")
    client.close()


@pytest.mark.parametrize(("size", "language"), [(100_000, "zh"), (1_000_000, "en")])
def test_huge_socket_messages_are_refused_politely_before_nlu(
    shopmate: ShopMate, domain: dict[str, Any], size: int, language: str
) -> None:
    # `size` bytes on the wire (this client escapes non-ASCII text as \\uXXXX: 6 bytes).
    text = "退" * (size // 6) if language == "zh" else "return " * (size // 7)
    client = WidgetClient(shopmate.rasa_url)
    try:
        reply = client.say(text)
        assert reply["text"] == response_texts(domain, "utter_message_too_long", language)[0]
        reply = client.say("hello")
        assert reply["text"] == response_texts(domain, "utter_greet", "en")[0]
    finally:
        client.close()
    users = [e for e in shopmate.tracker(client.session_id)["events"] if e["event"] == "user"]
    assert [e["text"] for e in users] == ["hello"]  # the huge one never reached Rasa's NLU


def test_a_packet_over_the_socket_limit_closes_only_that_socket(
    shopmate: ShopMate, domain: dict[str, Any]
) -> None:
    flooder, shopper = WidgetClient(shopmate.rasa_url), WidgetClient(shopmate.rasa_url)
    try:
        flooder.send("x" * 3_000_000)  # over EDGE_MAX_SOCKET_BYTES (2 MB)
        deadline = time.monotonic() + 20
        while flooder.sio.connected and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not flooder.sio.connected
        assert shopper.say("你好")["text"] == response_texts(domain, "utter_greet", "zh")[0]
    finally:
        shopper.close()
        if flooder.sio.connected:
            flooder.close()


@pytest.mark.parametrize("payload", ["not an object", ["a list"], {"message": 42}, {"no": "text"}])
def test_malformed_socket_messages_get_a_polite_answer(
    shopmate: ShopMate, domain: dict[str, Any], payload: Any
) -> None:
    client = WidgetClient(shopmate.rasa_url)
    try:
        client.sio.emit("user_uttered", payload)
        reply = client.replies.get(timeout=20)
        assert reply["text"] == response_texts(domain, "utter_message_unreadable", "zh")[0]
        # Metadata that is not an object is dropped; the message is still answered.
        reply = client.say("hello", metadata="not json")  # type: ignore[arg-type]
        assert reply["text"] == response_texts(domain, "utter_greet", "en")[0]
    finally:
        client.close()


def test_a_rich_message_pushed_through_the_http_api_reaches_the_widget_as_a_card(
    shopmate: ShopMate,
) -> None:
    """A person's message or the rating after a hand-back goes through Rasa's HTTP API
    (output_channel=latest): a ShopMate payload arrives as the widget's rich message."""
    from shopmate import payloads

    client = WidgetClient(shopmate.rasa_url)
    try:
        client.say("你好")
        client.drain(1.0)
        card = payloads.order_card({"number": "A1000002", "timeline": []}, "zh")
        import requests

        pushed = requests.post(
            f"{shopmate.rasa_url}/conversations/{client.session_id}/tracker/events",
            params={
                "token": shopmate.auth_token,
                "output_channel": "latest",
                "execute_side_effects": "true",
            },
            json=[{"event": "bot", "text": "您的订单", "data": {"custom": payloads.custom(card)}}],
            timeout=30,
        )
        assert pushed.status_code == 200, pushed.text
        got = client.drain(3.0)
        assert any(
            isinstance(m, dict) and m.get("shopmate", {}).get("type") == "order_card" for m in got
        ), got
    finally:
        client.close()
