"""DingTalk (钉钉) enterprise internal robot, HTTP mode: the robot's message receiving
address and the message's sessionWebhook (docs/channels.md; credentials.yml names
DingTalkInput). The Stream mode SDK (dingtalk-stream) needs websockets >= 11, which
Rasa 3.6 cannot have: this is the HTTP callback.

- POST /webhooks/dingtalk/webhook with headers `timestamp` (ms) and `sign` =
  base64(HMAC-SHA256(app secret, f"{timestamp}\\n{app secret}")); the timestamp must be
  within DINGTALK_MAX_AGE_S (1 hour, DingTalk's own rule) of now.
- The callback is answered at once; a message is claimed once by its msgId and the
  replies go to its sessionWebhook, only when that URL's host is one of
  DINGTALK_WEBHOOK_HOSTS (default oapi.dingtalk.com, api.dingtalk.com): a body that
  names another host is refused (the webhook would otherwise send our replies, with
  whatever they say, to any address).

What a shopper sees: text; product lists as an ActionCard (markdown with pictures,
one "加入购物车" button per product); the satisfaction question as ActionCard buttons;
orders with their tracking as markdown. A button sends its payload back as the
shopper's message (dtmd://dingtalkclient/sendMessage).

Rasa's own messages (the agent console's replies, the rating question) go to the
latest sessionWebhook of the conversation, remembered with its expiry
(sessionWebhookExpiredTime); once it has expired, or when none is known, they are
not sent (one log line): DingTalk offers no other way to reach the conversation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from rasa.core.channels.channel import OutputChannel
from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

from addons.platforms.china_common import (
    MAX_CALLBACK_BYTES,
    ChinaPlatformInput,
    Finder,
    HttpClient,
    Inbound,
    LatestRecipientMixin,
    OnNewMessage,
    Verdict,
    fresh,
    id_part,
    not_found,
    reply_language,
    split_utf8,
)
from addons.platforms.gate import read_body
from addons.platforms.rich import RichOutputMixin
from addons.settings import PlatformSettings, csv_values
from shopmate import payloads

logger = logging.getLogger(__name__)

DEFAULT_WEBHOOK_HOSTS = ("oapi.dingtalk.com", "api.dingtalk.com")
TEXT_LIMIT_BYTES = 18_000  # DingTalk: text content up to 20,000 bytes
SEND_MESSAGE = "dtmd://dingtalkclient/sendMessage?content="
PRODUCTS = {"zh": "为您找到这些商品", "en": "Products for you"}
ORDER = {"zh": "订单", "en": "Order"}
RATING = {"zh": "服务评价", "en": "Rate our service"}
IMAGE = {"zh": "图片", "en": "Image"}


def sign(app_secret: str, timestamp: str) -> str:
    digest = hmac.new(
        app_secret.encode("utf-8"), f"{timestamp}\n{app_secret}".encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode("ascii")


def webhook_allowed(url: Any, configured: Sequence[str]) -> bool:
    """Replies may go to `url`: https on one of DingTalk's hosts (or a host named in
    DINGTALK_WEBHOOK_HOSTS, where http is accepted too: a proxy, a test's fake)."""
    if not isinstance(url, str) or any(char in url for char in " \r\n\t\\"):
        return False
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    if parts.username or parts.password or not parts.hostname:
        return False
    host = parts.hostname.lower()
    if not configured:
        return host in DEFAULT_WEBHOOK_HOSTS and parts.scheme == "https" and port in (None, 443)
    return host in [value.lower() for value in configured] and parts.scheme in ("https", "http")


@dataclass(frozen=True)
class SessionWebhook:
    """Where a message's replies go: its sessionWebhook, until `expires_ms` (epoch
    milliseconds, DingTalk's sessionWebhookExpiredTime; None when it gave none)."""

    webhook: str
    expires_ms: float | None = None


def action_url(payload: str) -> str:
    """A button that sends `payload` as the shopper's next message."""
    return SEND_MESSAGE + quote(payload, safe="")


class DingTalkApi:
    """Posts to a message's sessionWebhook (its own credential: no token needed)."""

    def __init__(self, settings: PlatformSettings, http: HttpClient) -> None:
        self.settings = settings
        self.http = http

    async def send(self, webhook: str, message: Mapping[str, Any]) -> bool:
        data = await self.http.post_json(webhook, json_body=dict(message))
        code = (data or {}).get("errcode", -1 if data is None else 0)
        if code != 0:
            logger.warning("dingtalk: sessionWebhook answered errcode %s", code)
            return False
        return True


def first_line(text: str, limit: int = 30) -> str:
    """A card's title (the chat list and notifications show it): the first sentence,
    or its first `limit` characters."""
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    for end, char in enumerate(line[:limit]):
        if char in "。？！?!：:":
            return line[: end + 1]
    return line if len(line) <= limit else line[: limit - 1] + "…"


class DingTalkOutput(LatestRecipientMixin, RichOutputMixin, OutputChannel):
    """The bot's messages of one turn to one conversation's sessionWebhook (`target`,
    or the one `finder` finds for the recipient Rasa names)."""

    @classmethod
    def name(cls) -> str:
        return "dingtalk"

    def __init__(self, api: DingTalkApi, target: str | None, finder: Finder | None = None) -> None:
        self.api = api
        self.target = target
        self.finder = finder

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        for piece in split_utf8(text, TEXT_LIMIT_BYTES):
            await self.api.send(self.target, {"msgtype": "text", "text": {"content": piece}})

    async def send_markdown(self, title: str, text: str) -> None:
        message = {"msgtype": "markdown", "markdown": {"title": title, "text": text}}
        await self.api.send(self.target, message)

    async def send_action_card(
        self, title: str, text: str, buttons: Sequence[Mapping[str, Any]], across: bool = False
    ) -> None:
        card = {
            "title": title,
            "text": text,
            "btnOrientation": "1" if across else "0",
            "btns": [
                {"title": str(b.get("title", ""))[:40], "actionURL": action_url(str(b["payload"]))}
                for b in buttons
                if b.get("payload")
            ],
        }
        await self.api.send(self.target, {"msgtype": "actionCard", "actionCard": card})

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        await self.send_action_card(first_line(text), payloads.markdown_escape(text), buttons)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        url = payloads.safe_url(image)
        if url:
            language = reply_language("")
            await self.send_markdown(IMAGE[language], f"![{IMAGE[language]}]({url})")

    async def send_shopmate(self, recipient_id: str, payload: dict[str, Any], text: str) -> None:
        language = reply_language(text, payload)
        kind = payload.get("type")
        if kind in ("carousel", "product_card"):
            items = payload.get("items") or [
                dict(payload.get("product") or {}, buttons=payload.get("buttons", []))
            ]
            carousel = {**payload, "type": "carousel", "items": items}
            buttons = [
                {
                    "title": f"{index}. {button.get('title', '')}",
                    "payload": button.get("payload", ""),
                }
                for index, item in enumerate(items, start=1)
                for button in item.get("buttons") or []
            ]
            markdown = payloads.as_markdown(carousel, language)
            if buttons:
                await self.send_action_card(PRODUCTS[language], markdown, buttons)
            else:
                await self.send_markdown(PRODUCTS[language], markdown)
        elif kind == "order_card":
            number = (payload.get("order") or {}).get("number", "")
            lines = [payloads.markdown_escape(text)] if text else []
            lines.append(payloads.as_markdown(payload, language))
            await self.send_markdown(f"{ORDER[language]} {number}".strip(), "\n\n".join(lines))
        elif kind == "rating":
            buttons = payloads.buttons_of(payload)
            await self.send_action_card(
                RATING[language],
                payloads.markdown_escape(text or RATING[language]),
                buttons,
                across=len(buttons) <= 5,
            )
        else:
            await self.send_text_message(recipient_id, payloads.as_text(payload) or text)


class DingTalkInput(ChinaPlatformInput):
    platform = "dingtalk"
    label = "DingTalk"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.api = DingTalkApi(self.settings, self.http)
        self.hosts = csv_values(self.settings.get("webhook_hosts"))

    def output_for(self, message: Inbound) -> DingTalkOutput:
        return DingTalkOutput(self.api, message.target.webhook)

    def get_output_channel(self) -> DingTalkOutput | None:  # type: ignore[override]
        """What Rasa sends on its own (output_channel=latest: the agent console's
        replies, the rating question) goes to the conversation's latest
        sessionWebhook while it is valid. None: off."""
        if not self.enabled:
            return None
        return DingTalkOutput(self.api, None, finder=self.find_recipient)

    def recipient_of(self, message: Inbound) -> tuple[Any, float | None]:
        """The message's sessionWebhook and its expiry, kept until it expires."""
        webhook, expires_ms = message.target.webhook, message.target.expires_ms
        if expires_ms is None:
            return None, None  # how long it is valid is unknown: not kept
        return {"webhook": webhook, "expires_ms": expires_ms}, expires_ms / 1000 - self.clock()

    async def find_recipient(self, sender_id: str) -> str | None:
        """The latest sessionWebhook of `sender_id`'s conversation, while it is valid
        (the book forgets it when it expires)."""
        remembered = await self.recipients.recall(sender_id)
        if isinstance(remembered, dict):
            webhook, expires_ms = remembered.get("webhook"), remembered.get("expires_ms")
            if (
                webhook_allowed(webhook, self.hosts)
                and isinstance(expires_ms, (int, float))
                and expires_ms / 1000 > self.clock()
            ):
                return str(webhook)
        logger.warning(
            "dingtalk: no valid sessionWebhook for this conversation (expired or unknown); "
            "a message was not sent"
        )
        return None

    def check_callback(self, headers: Mapping[str, str], body: bytes) -> Verdict:
        timestamp, given = headers.get("timestamp", ""), headers.get("sign", "")
        expected = sign(self.settings.get("app_secret"), timestamp)
        if not timestamp or not given or not hmac.compare_digest(given.encode(), expected.encode()):
            return Verdict(401, "bad signature")
        try:
            moment_s = int(timestamp) / 1000
        except ValueError:
            return Verdict(401, "bad signature")
        if not fresh(moment_s, self.clock(), self.settings.max_age_s):
            return Verdict(403, "expired")
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return Verdict(400, "malformed")
        if not isinstance(data, dict):
            return Verdict(400, "malformed")
        message_id, conversation = data.get("msgId"), data.get("conversationId")
        user = data.get("senderStaffId") or data.get("senderId")
        webhook = data.get("sessionWebhook")
        if not all(isinstance(value, str) and value for value in (message_id, conversation, user)):
            return Verdict(400, "malformed")
        if not webhook_allowed(webhook, self.hosts):
            logger.warning("dingtalk: a sessionWebhook outside DINGTALK_WEBHOOK_HOSTS was refused")
            return Verdict(403, "webhook refused")
        expires = data.get("sessionWebhookExpiredTime")
        if not isinstance(expires, (int, float)) or isinstance(expires, bool):
            expires = None
        elif expires / 1000 < self.clock():
            logger.info("dingtalk: the message's sessionWebhook has expired; not answered")
            return Verdict(200, {})
        text = None
        if data.get("msgtype") == "text" and isinstance(data.get("text"), dict):
            content = data["text"].get("content")
            text = content.strip() if isinstance(content, str) else None
        sender_id = f"dingtalk:{id_part(str(conversation))}:{id_part(str(user))}"
        session = SessionWebhook(str(webhook), expires)
        return Verdict(200, {}, Inbound(sender_id, text, str(message_id), session))

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        webhook = self.new_blueprint()

        @webhook.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse:
            body = await read_body(request, MAX_CALLBACK_BYTES)
            if not self.enabled:
                return not_found()
            if body is None:
                return await self.answer(request, Verdict(413, "too large"), on_new_message)
            headers = {key.lower(): value for key, value in request.headers.items()}
            return await self.answer(request, self.check_callback(headers, body), on_new_message)

        return webhook
