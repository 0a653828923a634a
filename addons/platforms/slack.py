"""Rasa's Slack channel for ShopMate (credentials.yml; docs/channels.md).

On when SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are set (addons/settings.py); off,
/webhooks/slack/webhook answers 404 and nothing calls Slack. What it adds to Rasa's
SlackInput / SlackBot:

- Rasa's signature check (X-Slack-Signature: v0 HMAC-SHA256 of "v0:{timestamp}:{body}"
  with the signing secret; X-Slack-Request-Timestamp within SLACK_MAX_AGE_S, 5 min)
  compared in constant time; a bad one is a 401 and nothing else happens.
- Events are answered once per event_id (addons/platforms/dedupe.py). Rasa drops every
  X-Slack-Retry-Num retry of a timeout unread, so an event whose first delivery never
  arrived was never answered; here a retry is dropped only when its id was seen.
- The edge of every channel (addons/edge.py): over-long text answered politely and
  never parsed, command syntax the bot did not offer as plain text, a rate limit per
  user. The reply is sent after Slack has its 200 (it wants one within 3 s).
- Buttons are an actions block (value: the payload); a click (block_actions) counts
  only for a payload the bot offered in its last turn, else as the button's title
  typed. ShopMate's cards are blocks: a section per product (image accessory only for
  a safe http(s) URL) with its "加入购物车 / Add to cart" button, order cards with their
  timeline, ratings as buttons. Text is escaped for Slack (&, <, >): no mention,
  channel ping or link comes from a product title or a shopper's words.
- Shoppers on Slack are guests: no metadata is passed, so no customer token.

SLACK_API_BASE is the Web API's host (https://slack.com; a value ending in /api is
taken as it is).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qs

from rasa.core.channels.channel import InputChannel
from rasa.core.channels.slack import SlackBot, SlackInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from addons.channels import offered_in_last_turn
from addons.edge import EdgeSettings
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

SECTION_LIMIT = 3000  # characters of a section's text
BUTTON_TITLE_LIMIT = 75
BUTTON_VALUE_LIMIT = 2000
BUTTONS_PER_BLOCK = 25
MAX_CAROUSEL = 10  # 2 blocks a product; Slack allows 50 blocks a message
ALT_TEXT_LIMIT = 2000


def api_url(api_base: str) -> str:
    base = api_base.rstrip("/")
    return (base if base.endswith("/api") else base + "/api") + "/"


def slack_escape(text: str) -> str:
    """Slack's three control characters as entities: `<@U…>`, `<!channel>` and
    `<http://…|…>` written by anyone stay text."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_unescape(text: str) -> str:
    """A shopper's text as Slack sends it (with &amp; &lt; &gt;), as typed."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def signature_ok(
    secret: str,
    timestamp: str | None,
    body: bytes,
    signature: str | None,
    max_age_s: int,
    now: float | None = None,
) -> bool:
    """Slack's request signing (https://api.slack.com/authentication/verifying-requests-from-slack)."""
    if not secret or not timestamp or not signature:
        return False
    try:
        sent_at = int(timestamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - sent_at) > max_age_s:
        return False
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.encode())


def plain(text: str, limit: int = SECTION_LIMIT) -> dict[str, Any]:
    return {"type": "plain_text", "text": (str(text) or " ")[:limit], "emoji": True}


def mrkdwn(text: str) -> dict[str, Any]:
    """Markdown text whose parts were escaped by the caller; `verbatim` keeps Slack
    from turning bare names and URLs into links or mentions."""
    return {"type": "mrkdwn", "text": text[:SECTION_LIMIT] or " ", "verbatim": True}


def button_elements(buttons: Iterable[Mapping[str, Any]], prefix: str) -> list[dict[str, Any]]:
    elements = []
    for index, button in enumerate(buttons):
        value, title = button.get("payload"), button.get("title")
        if not isinstance(value, str) or not title:
            continue
        value = value.strip()
        if len(value) > BUTTON_VALUE_LIMIT:
            value = payloads.button_id(value)
        elements.append(
            {
                "type": "button",
                "text": plain(str(title), BUTTON_TITLE_LIMIT),
                "value": value,
                "action_id": f"{prefix}-{index}",
            }
        )
    return elements[:BUTTONS_PER_BLOCK]


def actions_block(buttons: Iterable[Mapping[str, Any]], prefix: str) -> list[dict[str, Any]]:
    elements = button_elements(buttons, prefix)
    return [{"type": "actions", "block_id": prefix, "elements": elements}] if elements else []


def product_blocks(item: Mapping[str, Any], index: int, language: str) -> list[dict[str, Any]]:
    title = slack_escape(str(item.get("title", "")))
    details = payloads.product_line(item, language).split(" · ")[1:]
    section: dict[str, Any] = {
        "type": "section",
        "text": mrkdwn(f"{index}. *{title}*\n" + slack_escape(" · ".join(details))),
    }
    image = payloads.safe_url(item.get("image_url"))
    if image is not None:
        section["accessory"] = {
            "type": "image",
            "image_url": image,
            "alt_text": str(item.get("title") or image)[:ALT_TEXT_LIMIT],
        }
    return [section, *actions_block(item.get("buttons") or [], f"product-{index}")]


def order_blocks(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    order = payload.get("order") or {}
    language = str(payload.get("language") or "zh")
    head = f"*{slack_escape(str(order.get('number', '')))}* " + slack_escape(
        str(order.get("status_label", ""))
    )
    if order.get("total"):
        head += "\n" + slack_escape(str(order["total"]))
    blocks: list[dict[str, Any]] = [{"type": "section", "text": mrkdwn(head)}]
    steps = payloads.timeline_lines(order)
    if steps:
        lines = [f"*{payloads.TIMELINE['en' if language == 'en' else 'zh']}*"]
        lines += [f"• {slack_escape(step)}" for step in steps]
        blocks.append({"type": "section", "text": mrkdwn("\n".join(lines))})
    return blocks


def shopmate_blocks(payload: Mapping[str, Any], text: str) -> list[dict[str, Any]]:
    """ShopMate's payload as Block Kit blocks."""
    kind = payload.get("type")
    language = str(payload.get("language") or "zh")
    if kind == "carousel":
        blocks: list[dict[str, Any]] = []
        for index, item in enumerate(payload.get("items", [])[:MAX_CAROUSEL], start=1):
            if blocks:
                blocks.append({"type": "divider"})
            blocks += product_blocks(item, index, language)
        return blocks
    if kind == "order_card":
        return order_blocks(payload)
    if kind == "rating":
        question = text or payloads.as_text(payload)
        return [
            {"type": "section", "text": plain(question)},
            *actions_block(payload.get("buttons", []), "rating"),
        ]
    return [{"type": "section", "text": plain(payloads.as_text(payload) or text)}]


class ShopMateSlackOutput(RichOutputMixin, SlackBot):
    """Rasa's Slack output, sent to settings.api_base, with ShopMate's cards."""

    @classmethod
    def name(cls) -> str:
        return "slack"

    def __init__(
        self,
        token: str,
        slack_channel: str | None = None,
        thread_id: str | None = None,
        api_base: str = "https://slack.com",
    ) -> None:
        super().__init__(token, slack_channel, thread_id)
        self.client = AsyncWebClient(token=token, base_url=api_url(api_base))

    async def _post_message(self, channel: str, **kwargs: Any) -> None:
        # Rasa passes as_user (classic apps only); a bot token posts as the bot.
        kwargs.pop("as_user", None)
        kwargs.pop("type", None)
        try:
            await super()._post_message(channel=channel, **kwargs)
        except SlackApiError as error:
            logger.error("slack: chat.postMessage failed: %s", error.response.get("error"))

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        recipient = self.slack_channel or recipient_id
        for part in text.strip().split("\n\n"):
            if part.strip():
                await self._post_message(channel=recipient, text=slack_escape(part))

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        recipient = self.slack_channel or recipient_id
        blocks = [{"type": "section", "text": plain(text)}, *actions_block(buttons, "buttons")]
        await self._post_message(channel=recipient, text=slack_escape(text), blocks=blocks)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        url = payloads.safe_url(image)
        if url is not None:
            await super().send_image_url(recipient_id, url)

    async def send_shopmate(self, recipient_id: str, payload: dict[str, Any], text: str) -> None:
        recipient = self.slack_channel or recipient_id
        fallback = slack_escape(payloads.as_text(payload) or text)[:SECTION_LIMIT]
        await self._post_message(
            channel=recipient, text=fallback, blocks=shopmate_blocks(payload, text)
        )


class ShopMateSlackInput(SlackInput):
    """Rasa's Slack input channel, configured by addons/settings.py."""

    @classmethod
    def name(cls) -> str:
        return "slack"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        # credentials.yml holds no secrets: the environment (addons/settings.py) does.
        return cls(platform_settings("slack"))

    def __init__(self, settings: PlatformSettings, edge: EdgeSettings | None = None) -> None:
        self.settings = settings
        self.enabled = settings.enabled
        self.gate = PlatformGate(settings, edge)
        if self.enabled:
            super().__init__(
                settings.get("bot_token"),
                slack_channel=settings.get("channel") or None,
                slack_signing_secret=settings.get("signing_secret"),
            )
        else:
            # Rasa's constructor refuses a missing signing secret; off needs none.
            self.slack_channel = None

    def get_output_channel(  # type: ignore[override]
        self, channel: str | None = None, thread_id: str | None = None
    ) -> ShopMateSlackOutput | None:
        if not self.enabled:
            return None
        return ShopMateSlackOutput(
            self.settings.get("bot_token"),
            channel or self.slack_channel,
            thread_id,
            self.settings.api_base,
        )

    def authentic(self, request: Request, body: bytes) -> bool:
        return signature_ok(
            self.settings.get("signing_secret"),
            request.headers.get("X-Slack-Request-Timestamp"),
            body,
            request.headers.get("X-Slack-Signature"),
            self.settings.max_age_s,
        )

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        if not self.enabled:
            return off_blueprint("slack", "slack_webhook")
        webhook = Blueprint("slack_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse:
            body = await read_body(request)
            if body is None:
                return response.json({"error": "too large"}, status=413)
            if not self.authentic(request, body):
                logger.info("slack: request without a valid signature refused")
                return response.json({"error": "invalid signature"}, status=401)
            content_type = (request.headers.get("content-type") or "").split(";")[0].strip()
            if content_type == "application/x-www-form-urlencoded":
                return await self.interaction(request.app, on_new_message, body)
            return await self.event(request.app, on_new_message, body)

        return webhook

    async def event(self, app: Any, on_new_message: OnNewMessage, body: bytes) -> HTTPResponse:
        """An Events API callback (url_verification or event_callback)."""
        data = json_object(body)
        if data is None:
            return response.json({"error": "not an Events API body"}, status=400)
        if data.get("type") == "url_verification":
            return response.json({"challenge": str(data.get("challenge", ""))})
        if data.get("type") != "event_callback":
            return response.text("")
        event, event_id = data.get("event"), data.get("event_id")
        if not isinstance(event, dict) or not isinstance(event_id, str) or not event_id:
            return response.json({"error": "event_callback without an event"}, status=400)
        if not await self.gate.first_time(event_id):
            return response.text("", headers={"X-Slack-No-Retry": "1"})
        text, user, channel = event.get("text"), event.get("user"), event.get("channel")
        wanted = (
            event.get("type") in ("message", "app_mention")
            and not event.get("bot_id")
            and not event.get("subtype")
            and isinstance(text, str)
            and isinstance(user, str)
            and isinstance(channel, str)
            and (
                event.get("channel_type") == "im"
                or event.get("type") == "app_mention"
                or channel == self.slack_channel
            )
        )
        if not wanted:
            return response.text("")
        # A mention in a subscribed channel comes twice (message and app_mention
        # events, each with its own event_id): one message, one answer.
        if not await self.gate.first_time(f"message:{channel}:{event.get('ts')}"):
            return response.text("")
        bots = [
            str(grant.get("user_id"))
            for grant in data.get("authorizations") or []
            if isinstance(grant, dict) and grant.get("user_id")
        ]
        typed = slack_unescape(self._sanitize_user_message(str(text), bots))
        if not typed.strip():
            return response.text("")
        output = self.get_output_channel(str(channel))
        self.gate.in_background(self.gate.handle(app, on_new_message, output, str(user), typed))
        return response.text("")

    async def interaction(
        self, app: Any, on_new_message: OnNewMessage, body: bytes
    ) -> HTTPResponse:
        """A click on one of the bot's buttons (block_actions)."""
        try:
            form = parse_qs(body.decode("utf-8"), strict_parsing=True)
        except (UnicodeDecodeError, ValueError):
            form = {}
        data = json_object((form.get("payload") or [""])[0].encode())
        if data is None:
            return response.json({"error": "not an interaction payload"}, status=400)
        if data.get("type") != "block_actions":
            return response.text("")
        user = data.get("user") if isinstance(data.get("user"), dict) else {}
        channel = data.get("channel") if isinstance(data.get("channel"), dict) else {}
        actions = data.get("actions") if isinstance(data.get("actions"), list) else []
        action = actions[0] if actions and isinstance(actions[0], dict) else {}
        sender, channel_id = user.get("id"), channel.get("id")
        if not isinstance(sender, str) or not isinstance(channel_id, str) or not action:
            return response.json({"error": "block_actions without a user or an action"}, status=400)
        click_id = str(data.get("trigger_id") or f"{sender}:{action.get('action_ts')}")
        if action.get("type") != "button" or not isinstance(action.get("value"), str):
            return response.text("")  # a link button: nothing for the bot
        if not await self.gate.first_time(click_id):
            return response.text("")
        label = action.get("text")
        title = label.get("text") if isinstance(label, dict) else None
        output = self.get_output_channel(channel_id)
        self.gate.in_background(
            self.clicked(app, on_new_message, output, sender, action["value"], title)
        )
        return response.text("")

    async def clicked(
        self,
        app: Any,
        on_new_message: OnNewMessage,
        output: ShopMateSlackOutput | None,
        sender: str,
        value: str,
        title: str | None,
    ) -> None:
        payload = chosen_payload(value, await offered_in_last_turn(app, sender))
        if payload is not None:
            await self.gate.handle(app, on_new_message, output, sender, payload, trusted=True)
        elif isinstance(title, str) and title.strip():
            # A button of an older message: what the shopper read on it, as typed.
            logger.info("slack: a stale button was taken as its title")
            await self.gate.handle(app, on_new_message, output, sender, title)
        else:
            logger.info("slack: a stale button was ignored")
