"""The socketio channel (what the web widget uses), with a real Socket.IO client."""

from __future__ import annotations

import queue
import secrets
from typing import Any

import pytest
import socketio

from tests.conftest import response_texts
from tests.e2e.conftest import ShopMate

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

    def say(self, text: str) -> dict[str, Any]:
        self.sio.emit("user_uttered", {"message": text, "session_id": self.session_id})
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
