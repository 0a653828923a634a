"""The widget's conversation after a reload: read from Rasa, shown as the widget saw it.

The page's server (web/server.py, `POST /history` with the signed session token in
the X-ShopMate-Session header) asks Rasa's HTTP API for the tracker of the conversation
the token names, never of any other, with the Rasa auth token it is configured with
(RASA_AUTH_TOKEN; without one there is no history). `widget_messages` turns the events
into the messages the widget receives live over Socket.IO:

- the shopper's messages as `{"sender": "user", "text"}`; a button the bot offered shows
  as its title, as it did when clicked;
- the bot's as `{"sender": "bot", "text", "shopmate"?, "buttons"?, "attachment"?}`: a
  ShopMate payload from the event's `data.custom` (shopmate/payloads.py), consecutive
  product cards collected into one carousel as the Socket.IO channel does, the
  satisfaction question's buttons as a rating.

Texts are read as stored, and masked once more as the tracker store masks them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

import httpx

from shopmate import payloads
from shopmate.privacy import private_events

# The last messages a reload shows; older ones stay in Rasa.
MAX_MESSAGES = 200
LANGUAGE_SLOT = "language"


def _buttons(data: dict[str, Any]) -> list[dict[str, str]]:
    found = data.get("buttons") or data.get("quick_replies") or []
    if not isinstance(found, list):
        return []
    return [
        {"title": str(b.get("title") or b.get("payload")), "payload": str(b["payload"])}
        for b in found
        if isinstance(b, dict) and isinstance(b.get("payload"), str)
    ]


def _attachment(data: dict[str, Any]) -> dict[str, Any] | None:
    attachment = data.get("attachment")
    if isinstance(attachment, dict):
        return attachment
    image = data.get("image")
    if isinstance(image, str):
        return {"type": "image", "payload": {"src": image}}
    return None


def widget_messages(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The conversation's user and bot messages in the widget's wire shape, in order."""
    messages: list[dict[str, Any]] = []
    carousel = payloads.Carousel()
    language = "zh"
    offered: dict[str, str] = {}  # button payload -> its title, as the shopper saw it

    def offer(buttons: Iterable[dict[str, str]]) -> None:
        for button in buttons:
            offered[str(button.get("payload", ""))] = str(button.get("title", ""))

    def flush() -> None:
        pending = carousel.pending()
        if pending is not None:
            messages.append({"sender": "bot", "text": "", "shopmate": pending})

    for event in private_events(events):
        kind = event.get("event")
        if kind == "slot" and event.get("name") == LANGUAGE_SLOT:
            if event.get("value") in ("zh", "en"):
                language = str(event["value"])
        elif kind == "user":
            said = event.get("text")
            if not isinstance(said, str) or not said.strip():
                continue
            flush()
            messages.append({"sender": "user", "text": offered.get(said.strip()) or said})
        elif kind == "bot":
            raw_data, raw_text = event.get("data"), event.get("text")
            data: dict[str, Any] = raw_data if isinstance(raw_data, dict) else {}
            text = raw_text if isinstance(raw_text, str) else ""
            payload = payloads.extract(data.get("custom"))
            if payload is None:
                payload = payloads.rating_from_buttons(_buttons(data), language)
            if payload is not None and payload["type"] == "product_card":
                offer(payload.get("buttons") or [])
                complete = carousel.add(payload)
                if complete is not None:
                    messages.append({"sender": "bot", "text": "", "shopmate": complete})
                continue
            flush()
            message: dict[str, Any] = {"sender": "bot", "text": text}
            if payload is not None:
                message["shopmate"] = payload
                offer(payloads.buttons_of(payload))
            else:
                buttons = _buttons(data)
                if buttons:
                    message["buttons"] = buttons
                    offer(buttons)
                attachment = _attachment(data)
                if attachment is not None:
                    message["attachment"] = attachment
            if text.strip() or len(message) > 2:
                messages.append(message)
    flush()
    return messages[-MAX_MESSAGES:]


class ConversationHistory:
    """One conversation's messages from Rasa's HTTP API (--enable-api --auth-token)."""

    def __init__(self, rasa_url: str, token: str, client: httpx.AsyncClient | None = None) -> None:
        self.rasa_url = rasa_url.rstrip("/")
        self.token = token
        self.client = client or httpx.AsyncClient(timeout=10.0)

    async def messages(self, session_id: str) -> list[dict[str, Any]]:
        """Raises ConnectionError when Rasa cannot be read (it names no personal data)."""
        try:
            reply = await self.client.get(
                f"{self.rasa_url}/conversations/{quote(session_id, safe='')}/tracker",
                params={"token": self.token},
            )
            reply.raise_for_status()
            body = reply.json()
        except httpx.HTTPStatusError as error:
            raise ConnectionError(f"Rasa answered {error.response.status_code}") from error
        except (httpx.HTTPError, ValueError) as error:
            raise ConnectionError(f"Rasa unreadable: {type(error).__name__}") from error
        events = body.get("events") if isinstance(body, dict) else None
        return widget_messages(e for e in events or [] if isinstance(e, dict))
