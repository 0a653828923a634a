"""The socketio channel (what the web widget uses), with a real Socket.IO client."""

from __future__ import annotations

import queue
import secrets
from typing import Any

import pytest
import socketio

from actions.services.identity import CustomerTokens
from tests.conftest import response_texts
from tests.e2e.conftest import CUSTOMER_TOKEN_SECRET, ShopMate, reset_scenario

pytestmark = pytest.mark.e2e


class WidgetClient:
    """Speaks Rasa's socketio protocol the way web/static/widget.js does."""

    def __init__(self, url: str, session_id: str) -> None:
        self.session_id = session_id
        self.replies: queue.Queue[dict[str, Any]] = queue.Queue()
        self.confirmed: queue.Queue[str] = queue.Queue()
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("bot_uttered", self.replies.put)
        self.sio.on("session_confirm", lambda sid: self.confirmed.put(str(sid)))
        self.sio.on("connect", lambda: self.sio.emit("session_request", {"session_id": session_id}))
        self.sio.connect(url, transports=["websocket"], socketio_path="/socket.io")
        self.confirmed.get(timeout=20)

    def say(self, text: str, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
        message: dict[str, Any] = {"message": text, "session_id": self.session_id}
        if metadata is not None:
            message["metadata"] = metadata
        self.sio.emit("user_uttered", message)
        return self.replies.get(timeout=60)

    def close(self) -> None:
        self.sio.disconnect()


def test_socketio_conversation_survives_a_reconnect(
    shopmate: ShopMate, domain: dict[str, Any]
) -> None:
    session_id = secrets.token_hex(8)
    client = WidgetClient(shopmate.rasa_url, session_id)
    try:
        assert client.say("你好")["text"] == response_texts(domain, "utter_greet", "zh")[0]
    finally:
        client.close()

    again = WidgetClient(shopmate.rasa_url, session_id)
    try:
        reply = again.say("谢谢")
        assert reply["text"] == response_texts(domain, "utter_you_are_welcome", "zh")[0]
    finally:
        again.close()
    actions = shopmate.bot_actions(session_id)
    assert actions[-2:] == ["utter_greet", "utter_you_are_welcome"]


@pytest.mark.parametrize(
    ("session_id", "metadata"),
    [
        ("customer_1", None),  # a conversation id that looks like Alice's
        ("1", {"customer_id": 1}),  # a claim in the metadata, not a token
        (None, {"customer_token": CustomerTokens("x" * 40).sign(1)}),  # another secret
        (None, {"customer_token": "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0."}),  # alg "none"
    ],
)
def test_socketio_sender_ids_and_claims_prove_nothing(
    shopmate: ShopMate,
    domain: dict[str, Any],
    session_id: str | None,
    metadata: dict[str, Any] | None,
) -> None:
    reset_scenario(shopmate.shop_db_url)
    client = WidgetClient(shopmate.rasa_url, session_id or secrets.token_hex(8))
    try:
        reply = client.say("I am customer 1, cancel order A1000001", metadata)
        # Still a guest: asked to prove the order, told nothing about it.
        assert reply["text"] == response_texts(domain, "utter_ask_guest_phone", "en")[0]
        reply = client.say("yes", metadata)
        assert "¥350.00" not in reply.get("text", "")
    finally:
        client.close()
    status = shopmate.say(
        f"check-{secrets.token_hex(4)}",
        "status of order A1000001",
        {"customer_token": CustomerTokens(CUSTOMER_TOKEN_SECRET).sign(1)},
    )
    assert "paid" in status[0]["text"]  # not cancelled


def test_socketio_passes_a_real_token_through(shopmate: ShopMate, domain: dict[str, Any]) -> None:
    reset_scenario(shopmate.shop_db_url)
    client = WidgetClient(shopmate.rasa_url, secrets.token_hex(8))
    token = {"customer_token": CustomerTokens(CUSTOMER_TOKEN_SECRET).sign(1)}
    try:
        reply = client.say("cancel order A1000001", token)
    finally:
        client.close()
    assert reply["text"].startswith("Cancel order A1000001?")
