"""Rasa's Facebook Messenger channel for ShopMate (credentials.yml; docs/channels.md).

On when FACEBOOK_VERIFY_TOKEN, FACEBOOK_APP_SECRET and FACEBOOK_PAGE_ACCESS_TOKEN are
set (addons/settings.py); off, /webhooks/facebook/webhook answers 404 and nothing
calls Meta. What it adds to Rasa's FacebookInput / MessengerBot:

- X-Hub-Signature-256 (HMAC-SHA256 of the body with the app secret, what Meta sends
  today) is checked in constant time; Rasa checks the SHA-1 X-Hub-Signature only, with
  a hash named by the request. The SHA-1 header is accepted only when no SHA-256 one
  came. A bad signature is a 401 and nothing else happens.
- Every event of a batched callback is read (Rasa answers the first only), each
  answered once per message id (mid; addons/platforms/dedupe.py).
- The Send API is called with aiohttp ({api_base}/{GRAPH_VERSION}/me/messages),
  never with fbmessenger's blocking `requests` calls inside Rasa's event loop; the
  webhook answers at once and the reply follows (Meta wants a 200 within 20 s).
- The edge of every channel (addons/edge.py): over-long text answered politely and
  never parsed, command syntax the bot did not offer as plain text, a rate limit per
  shopper.
- Buttons are quick replies (at most 13, titles at most 20 characters); more become
  button templates of 3. A quick reply or postback counts only for a payload the bot
  offered in its last turn, else as the title typed. ShopMate's product cards are one
  generic template (≤ 10 elements, title and subtitle ≤ 80 characters, image only for
  a safe http(s) URL, ≤ 3 postback buttons each); order cards are text with the
  timeline; ratings are quick replies.
- Shoppers on Messenger are guests: no metadata is passed, so no customer token.
  Replies are `messaging_type: RESPONSE`, inside Meta's 24-hour window.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Iterable, Mapping
from typing import Any

import aiohttp
from rasa.core.channels.channel import InputChannel
from rasa.core.channels.facebook import FacebookInput, MessengerBot
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from addons.channels import offered_in_last_turn
from addons.edge import UNREADABLE_RESPONSE, EdgeSettings
from addons.platforms.gate import (
    OnNewMessage,
    PlatformGate,
    chosen_payload,
    json_object,
    off_blueprint,
    read_body,
)
from addons.platforms.rich import RichOutputMixin
from addons.settings import PlatformSettings, platform_settings
from shopmate import payloads

logger = logging.getLogger(__name__)

GRAPH_VERSION = "v22.0"  # a Graph API version lives about two years: raise it then
TEXT_LIMIT = 2000
BUTTON_TEMPLATE_TEXT_LIMIT = 640
MAX_QUICK_REPLIES = 13
QUICK_REPLY_TITLE_LIMIT = 20
PAYLOAD_LIMIT = 1000
MAX_ELEMENTS = 10
ELEMENT_TEXT_LIMIT = 80
BUTTONS_PER_TEMPLATE = 3
PSID_LIMIT = 64


def signature_ok(
    app_secret: str, body: bytes, sha256_header: str | None, sha1_header: str | None = None
) -> bool:
    """Meta's webhook signature: `sha256=<hex>` (or, alone, the older `sha1=<hex>`)."""
    if not app_secret:
        return False
    header, method, algorithm = sha256_header, "sha256", hashlib.sha256
    if not header:
        header, method, algorithm = sha1_header, "sha1", hashlib.sha1
    if not header:
        return False
    name, _, given = header.partition("=")
    if name.strip().lower() != method or not given:
        return False
    expected = hmac.new(app_secret.encode(), body, algorithm).hexdigest()
    return hmac.compare_digest(expected.encode(), given.strip().lower().encode())


def shorten(text: Any, limit: int) -> str:
    """One line of at most `limit` characters (titles, subtitles, button labels)."""
    return clip(" ".join(str(text or "").split()), limit)


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, with an ellipsis when it was cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def button_payload(payload: str) -> str:
    payload = payload.strip()
    return payload if len(payload) <= PAYLOAD_LIMIT else payloads.button_id(payload)


def usable(buttons: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [b for b in buttons if isinstance(b.get("payload"), str) and b.get("title")]


def quick_replies(buttons: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "content_type": "text",
            "title": shorten(button["title"], QUICK_REPLY_TITLE_LIMIT),
            "payload": button_payload(button["payload"]),
        }
        for button in usable(buttons)[:MAX_QUICK_REPLIES]
    ]


def postback_buttons(buttons: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "type": "postback",
            "title": shorten(button["title"], QUICK_REPLY_TITLE_LIMIT),
            "payload": button_payload(button["payload"]),
        }
        for button in usable(buttons)[:BUTTONS_PER_TEMPLATE]
    ]


def messages_with_buttons(text: str, buttons: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The Send API `message`s that show `text` with `buttons`: quick replies when they
    fit (≤ 13), else button templates of 3 (quick replies of a second message would
    hide the first one's)."""
    kept = usable(buttons)
    text = str(text or "").strip() or "…"
    if not kept:
        return [{"text": clip(text, TEXT_LIMIT)}]
    if len(kept) <= MAX_QUICK_REPLIES:
        return [{"text": clip(text, TEXT_LIMIT), "quick_replies": quick_replies(kept)}]
    messages = []
    for start in range(0, len(kept), BUTTONS_PER_TEMPLATE):
        part = kept[start : start + BUTTONS_PER_TEMPLATE]
        messages.append(
            {
                "attachment": {
                    "type": "template",
                    "payload": {
                        "template_type": "button",
                        "text": clip(text if start == 0 else "…", BUTTON_TEMPLATE_TEXT_LIMIT),
                        "buttons": postback_buttons(part),
                    },
                }
            }
        )
    return messages


def generic_element(item: Mapping[str, Any], language: str) -> dict[str, Any]:
    details = payloads.product_line(item, language).split(" · ")[1:]
    element: dict[str, Any] = {
        "title": shorten(item.get("title") or "…", ELEMENT_TEXT_LIMIT),
        "subtitle": shorten(" · ".join(details), ELEMENT_TEXT_LIMIT),
    }
    image = payloads.safe_url(item.get("image_url"))
    if image is not None:
        element["image_url"] = image
    buttons = postback_buttons(item.get("buttons") or [])
    if buttons:
        element["buttons"] = buttons
    return element


def shopmate_messages(payload: Mapping[str, Any], text: str) -> list[dict[str, Any]]:
    """ShopMate's payload as Send API `message`s."""
    kind = payload.get("type")
    language = str(payload.get("language") or "zh")
    if kind == "carousel":
        elements = [generic_element(item, language) for item in payload.get("items", [])]
        return [
            {
                "attachment": {
                    "type": "template",
                    "payload": {
                        "template_type": "generic",
                        "elements": elements[start : start + MAX_ELEMENTS],
                    },
                }
            }
            for start in range(0, len(elements), MAX_ELEMENTS)
        ]
    if kind == "rating":
        return messages_with_buttons(text or payloads.as_text(payload), payload.get("buttons", []))
    body = payloads.as_text(payload) or text  # order_card: number, status, timeline
    return [{"text": clip(body, TEXT_LIMIT)}] if body.strip() else []


class GraphSender:
    """Messenger's Send API over one aiohttp session (created in Rasa's loop)."""

    def __init__(self, api_base: str, page_access_token: str) -> None:
        self.url = f"{api_base.rstrip('/')}/{GRAPH_VERSION}/me/messages"
        self._token = page_access_token
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def post(self, body: dict[str, Any]) -> bool:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
        try:
            async with self._session.post(
                self.url, params={"access_token": self._token}, json=body
            ) as answer:
                if answer.status < 400:
                    return True
                error = await answer.json(content_type=None)
                detail = error.get("error") if isinstance(error, dict) else None
                code = detail.get("code") if isinstance(detail, dict) else None
                logger.error("messenger: Send API answered %s (error code %s)", answer.status, code)
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            # The error's text would carry the URL, and with it the page token.
            logger.error("messenger: Send API unreachable: %s", type(error).__name__)
        return False


class ShopMateMessengerOutput(RichOutputMixin, MessengerBot):
    """Rasa's Messenger output over GraphSender, with ShopMate's cards."""

    @classmethod
    def name(cls) -> str:
        return "facebook"

    def __init__(self, sender: GraphSender) -> None:
        super().__init__(None)  # no fbmessenger client: nothing here blocks the loop
        self.sender = sender

    async def send_message(self, recipient_id: str, message: dict[str, Any]) -> None:
        await self.sender.post(
            {"recipient": {"id": recipient_id}, "messaging_type": "RESPONSE", "message": message}
        )

    async def send_action(self, recipient_id: str, sender_action: str) -> None:
        await self.sender.post({"recipient": {"id": recipient_id}, "sender_action": sender_action})

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        for part in text.strip().split("\n\n"):
            if part.strip():
                await self.send_message(recipient_id, {"text": clip(part, TEXT_LIMIT)})

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        for message in messages_with_buttons(text, buttons):
            await self.send_message(recipient_id, message)

    async def send_quick_replies(
        self, recipient_id: str, text: str, quick_replies: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        await self.send_text_with_buttons(recipient_id, text, quick_replies)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        url = payloads.safe_url(image)
        if url is not None:
            await self.send_message(
                recipient_id, {"attachment": {"type": "image", "payload": {"url": url}}}
            )

    async def send_elements(
        self, recipient_id: str, elements: Iterable[dict[str, Any]], **kwargs: Any
    ) -> None:
        elements = list(elements)[:MAX_ELEMENTS]
        for element in elements:
            self._add_postback_info(element.get("buttons") or [])
        await self.send_message(
            recipient_id,
            {
                "attachment": {
                    "type": "template",
                    "payload": {"template_type": "generic", "elements": elements},
                }
            },
        )

    async def send_custom_json(self, recipient_id: str, json_message: Any, **kwargs: Any) -> None:
        """An action's own Send API `message` (Rasa's semantics), sent as it is."""
        if isinstance(json_message, dict):
            await self.send_message(recipient_id, json_message)

    async def send_shopmate(self, recipient_id: str, payload: dict[str, Any], text: str) -> None:
        for message in shopmate_messages(payload, text):
            await self.send_message(recipient_id, message)


def read_event(event: Mapping[str, Any]) -> tuple[str, str, str | None, str | None, bool] | None:
    """A `messaging` event as (sender PSID, callback id, button payload or None, text,
    readable); None for what is not a shopper's message (echoes, deliveries, reads)."""
    sender = event.get("sender")
    psid = sender.get("id") if isinstance(sender, dict) else None
    if not isinstance(psid, str) or not psid.isdigit() or len(psid) > PSID_LIMIT:
        return None
    message, postback = event.get("message"), event.get("postback")
    if isinstance(message, dict):
        if message.get("is_echo"):
            return None
        mid = str(message.get("mid") or f"{psid}:{event.get('timestamp')}")
        quick = message.get("quick_reply")
        text = message.get("text") if isinstance(message.get("text"), str) else None
        if isinstance(quick, dict) and isinstance(quick.get("payload"), str):
            return psid, mid, quick["payload"], text, True
        return psid, mid, None, text, bool(text and text.strip())
    if isinstance(postback, dict) and isinstance(postback.get("payload"), str):
        mid = str(postback.get("mid") or f"{psid}:postback:{event.get('timestamp')}")
        title = postback.get("title") if isinstance(postback.get("title"), str) else None
        return psid, mid, postback["payload"], title, True
    return None


class ShopMateFacebookInput(FacebookInput):
    """Rasa's Facebook Messenger input channel, configured by addons/settings.py."""

    @classmethod
    def name(cls) -> str:
        return "facebook"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        # credentials.yml holds no secrets: the environment (addons/settings.py) does.
        return cls(platform_settings("messenger"))

    def __init__(self, settings: PlatformSettings, edge: EdgeSettings | None = None) -> None:
        super().__init__(
            settings.get("verify_token"),
            settings.get("app_secret"),
            settings.get("page_access_token"),
        )
        self.settings = settings
        self.enabled = settings.enabled
        self.gate = PlatformGate(settings, edge, channel=self.name())
        self.sender = GraphSender(settings.api_base, settings.get("page_access_token"))

    def get_output_channel(self) -> ShopMateMessengerOutput | None:  # type: ignore[override]
        return ShopMateMessengerOutput(self.sender) if self.enabled else None

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        if not self.enabled:
            return off_blueprint("messenger", "fb_webhook")
        webhook = Blueprint("fb_webhook", __name__)

        @webhook.listener("before_server_stop")
        async def close(*_: Any) -> None:
            await self.sender.close()

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["GET"])
        async def verification(request: Request) -> HTTPResponse:
            """Meta's subscription check: hub.challenge back for the right verify token."""
            given = str(request.args.get("hub.verify_token") or "")
            if request.args.get("hub.mode") == "subscribe" and hmac.compare_digest(
                given.encode(), self.fb_verify.encode()
            ):
                return response.text(str(request.args.get("hub.challenge") or ""))
            logger.info("messenger: webhook verification with a wrong verify token")
            return response.json({"error": "forbidden"}, status=403)

        @webhook.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse:
            body = await read_body(request)
            if body is None:
                return response.json({"error": "too large"}, status=413)
            if not signature_ok(
                self.fb_secret,
                body,
                request.headers.get("X-Hub-Signature-256"),
                request.headers.get("X-Hub-Signature"),
            ):
                logger.info("messenger: callback without a valid signature refused")
                return response.json({"error": "invalid signature"}, status=401)
            data = json_object(body)
            entries = (data or {}).get("entry")
            if data is None or not isinstance(entries, list):
                return response.json({"error": "not a webhook callback"}, status=400)
            if data.get("object") != "page":
                return response.text("EVENT_RECEIVED")
            events = [
                event
                for entry in entries
                if isinstance(entry, dict) and isinstance(entry.get("messaging"), list)
                for event in entry["messaging"]
                if isinstance(event, dict)
            ]
            fresh = []
            for event in events:
                read = read_event(event)
                if read is not None and await self.gate.first_time(read[1]):
                    fresh.append(read)
            if fresh:
                # One task per callback: a batch's messages are answered in their order.
                self.gate.in_background(self.answer_all(request.app, on_new_message, fresh))
            return response.text("EVENT_RECEIVED")

        return webhook

    async def answer_all(
        self, app: Any, on_new_message: OnNewMessage, events: list[tuple[Any, ...]]
    ) -> None:
        for event in events:
            await self.answer(app, on_new_message, *event)

    async def answer(
        self,
        app: Any,
        on_new_message: OnNewMessage,
        psid: str,
        mid: str,
        button: str | None,
        text: str | None,
        readable: bool,
    ) -> None:
        output = ShopMateMessengerOutput(self.sender)
        if not readable:
            language = await self.gate.language(app, psid)
            await self.gate.say(app, output, psid, UNREADABLE_RESPONSE, language)
            return
        await output.send_action(psid, "typing_on")
        if button is not None:
            payload = chosen_payload(button, await offered_in_last_turn(app, psid))
            if payload is not None:
                await self.gate.handle(app, on_new_message, output, psid, payload, trusted=True)
                return
            logger.info("messenger: a stale button was taken as its title")
            if not (text and text.strip()):
                return
        await self.gate.handle(app, on_new_message, output, psid, str(text))
