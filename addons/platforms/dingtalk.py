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
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlsplit

from rasa.core.channels.channel import OutputChannel
from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

from addons.platforms.china_common import (
    ChinaPlatformInput,
    HttpClient,
    Inbound,
    OnNewMessage,
    Verdict,
    fresh,
    id_part,
    not_found,
    read_body,
    reply_language,
    split_utf8,
)
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


class DingTalkOutput(RichOutputMixin, OutputChannel):
    """The bot's messages of one turn to one conversation's sessionWebhook."""

    @classmethod
    def name(cls) -> str:
        return "dingtalk"

    def __init__(self, api: DingTalkApi, webhook: str) -> None:
        self.api = api
        self.webhook = webhook

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        for piece in split_utf8(text, TEXT_LIMIT_BYTES):
            await self.api.send(self.webhook, {"msgtype": "text", "text": {"content": piece}})

    async def send_markdown(self, title: str, text: str) -> None:
        message = {"msgtype": "markdown", "markdown": {"title": title, "text": text}}
        await self.api.send(self.webhook, message)

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
        await self.api.send(self.webhook, {"msgtype": "actionCard", "actionCard": card})

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
        return DingTalkOutput(self.api, str(message.target))

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
        if isinstance(expires, (int, float)) and expires / 1000 < self.clock():
            logger.info("dingtalk: the message's sessionWebhook has expired; not answered")
            return Verdict(200, {})
        text = None
        if data.get("msgtype") == "text" and isinstance(data.get("text"), dict):
            content = data["text"].get("content")
            text = content.strip() if isinstance(content, str) else None
        sender_id = f"dingtalk:{id_part(str(conversation))}:{id_part(str(user))}"
        return Verdict(200, {}, Inbound(sender_id, text, str(message_id), webhook))

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        webhook = self.new_blueprint()

        @webhook.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse:
            body = await read_body(request)
            if not self.enabled:
                return not_found()
            if body is None:
                return await self.answer(request, Verdict(413, "too large"), on_new_message)
            headers = {key.lower(): value for key, value in request.headers.items()}
            return await self.answer(request, self.check_callback(headers, body), on_new_message)

        return webhook
