"""Rasa's Telegram channel for ShopMate (credentials.yml; docs/channels.md).

On when TELEGRAM_TOKEN, TELEGRAM_BOT_NAME and TELEGRAM_SECRET_TOKEN are set
(addons/settings.py); off, /webhooks/telegram/webhook answers 404 and nothing calls
Telegram. What it adds to Rasa's TelegramInput / TelegramOutput:

- Every update must carry X-Telegram-Bot-Api-Secret-Token == TELEGRAM_SECRET_TOKEN
  (Telegram sends the secret given to setWebhook); with TELEGRAM_WEBHOOK_URL set, the
  webhook is registered with that secret when Rasa has started. Rasa's own check
  (a getMe call per update, compared with the bot's name) is not made.
- A retried update (same update_id) is answered once (addons/platforms/dedupe.py).
- The edge of every channel (addons/edge.py): over-long text is answered politely and
  never parsed, command syntax the bot did not offer is plain text, a per-chat rate
  limit. Telegram's own /start and /help become a greeting and "what can you do".
- Buttons are inline keyboards whose callback_data is a short id of the payload
  (shopmate.payloads.button_id: Telegram allows 64 bytes); a pressed button is mapped
  back to a payload the bot offered in its last turn, anything else is ignored with a
  short notice. ShopMate's cards: one photo (or text) per product with its
  "加入购物车 / Add to cart" button, order cards as text with the timeline, ratings as
  an inline keyboard.
- Shoppers on Telegram are guests: no metadata is passed, so no customer token.

`PlatformGate` (addons/platforms/gate.py) is the part the Slack and Messenger connectors share.
"""

from __future__ import annotations

import hmac
import json
import logging
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aiogram.bot.api import TelegramAPIServer
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.exceptions import TelegramAPIError
from rasa.core.channels.channel import InputChannel
from rasa.core.channels.telegram import TelegramInput, TelegramOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from addons.channels import offered_in_last_turn
from addons.edge import (
    UNREADABLE_RESPONSE,
    EdgeSettings,
)
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

# ================================================================ Telegram

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
TEXT_LIMIT = 4096  # characters of one message
CAPTION_LIMIT = 1024
BUTTON_TITLE_LIMIT = 64
MAX_CAROUSEL = 10
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
# Telegram's own commands, as the shopper means them.
BOT_COMMANDS = {
    "/start": {"zh": "你好", "en": "hello"},
    "/help": {"zh": "你能做什么", "en": "what can you do"},
}
STALE_BUTTON = (
    "这个按钮已失效，请直接输入您的需要 / This button has expired: please type what you need"
)


def telegram_language(user: Any) -> str:
    code = str((user or {}).get("language_code") or "") if isinstance(user, dict) else ""
    return "en" if code and not code.lower().startswith("zh") else "zh"


def bot_command(text: str, bot_name: str, language: str) -> str:
    """Telegram's /start and /help (also as /start@bot_name or with a deep-link
    parameter) as plain words; `text` itself otherwise."""
    head, _, _ = text.strip().partition(" ")
    command, _, addressed = head.partition("@")
    if addressed and addressed.lower() != bot_name.lower():
        return text
    meaning = BOT_COMMANDS.get(command.lower())
    return meaning[language] if meaning else text


def without_mention(text: str, bot_name: str) -> str:
    """A group message addressed to the bot ("@shop_bot 你好"), without the address."""
    mention = f"@{bot_name}"
    if bot_name and text.lower().startswith(mention.lower()):
        return text[len(mention) :].strip() or text
    return text


def title_width(title: str) -> int:
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in title)


def inline_keyboard(buttons: Iterable[Mapping[str, Any]]) -> InlineKeyboardMarkup | None:
    """Rasa/ShopMate buttons as an inline keyboard: callback_data is the payload's
    short id (19 bytes; Telegram allows 64). Short titles share one row."""
    keys = [
        InlineKeyboardButton(
            str(button["title"])[:BUTTON_TITLE_LIMIT],
            callback_data=payloads.button_id(button["payload"].strip()),
        )
        for button in buttons
        if isinstance(button.get("payload"), str) and button.get("title")
    ]
    if not keys:
        return None
    widths = [title_width(key.text) for key in keys]
    per_row = len(keys) if sum(widths) <= 24 else 2 if max(widths) <= 14 else 1
    rows = [keys[start : start + per_row] for start in range(0, len(keys), per_row)]
    return InlineKeyboardMarkup(inline_keyboard=rows)


class _SharedSession:
    """One aiohttp session for the outputs of every turn (each turn has its own
    output: ShopMate's cards are collected per output)."""

    def __init__(self) -> None:
        self._session: Any = None

    def get(self, make: Callable[[], Any]) -> Any:
        if self._session is None or self._session.closed:
            self._session = make()
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


class ShopMateTelegramOutput(RichOutputMixin, TelegramOutput):
    """Rasa's Telegram output, sent to settings.api_base, with ShopMate's cards."""

    @classmethod
    def name(cls) -> str:
        return "telegram"

    def __init__(
        self,
        access_token: str,
        api_base: str = "https://api.telegram.org",
        shared: _SharedSession | None = None,
    ) -> None:
        super().__init__(access_token)
        self.server = TelegramAPIServer.from_base(api_base)
        self._shared = shared

    @property
    def session(self) -> Any:
        if self._shared is None:
            return super().session
        return self._shared.get(self.get_new_session)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        for part in text.strip().split("\n\n"):
            if part.strip():
                await self.send_message(recipient_id, part[:TEXT_LIMIT])

    async def send_text_with_buttons(
        self,
        recipient_id: str,
        text: str,
        buttons: list[dict[str, Any]],
        button_type: str | None = "inline",
        **kwargs: Any,
    ) -> None:
        """Always an inline keyboard of short ids (a reply keyboard would send the
        title as text, which the shopper can type anyway)."""
        markup = inline_keyboard(buttons)
        if markup is None:
            await self.send_text_message(recipient_id, text)
            return
        await self.send_message(recipient_id, (text or "…")[:TEXT_LIMIT], reply_markup=markup)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        url = payloads.safe_url(image)
        if url is not None:
            await self.send_photo(recipient_id, url)

    async def send_shopmate(self, recipient_id: str, payload: dict[str, Any], text: str) -> None:
        kind = payload.get("type")
        language = str(payload.get("language") or "zh")
        if kind == "carousel":
            for index, item in enumerate(payload.get("items", [])[:MAX_CAROUSEL], start=1):
                await self._send_product(recipient_id, item, index, language)
        elif kind == "rating":
            question = text or payloads.as_text(payload)
            await self.send_text_with_buttons(recipient_id, question, payload.get("buttons", []))
        else:  # order_card (number, status, total, the timeline), anything newer as text
            body = payloads.as_text(payload) or text
            if body.strip():
                await self.send_message(recipient_id, body[:TEXT_LIMIT])

    async def _send_product(
        self, recipient_id: str, item: Mapping[str, Any], index: int, language: str
    ) -> None:
        caption = f"{index}. {payloads.product_line(item, language)}"
        markup = inline_keyboard(item.get("buttons") or [])
        image = payloads.safe_url(item.get("image_url"))
        if image is not None:
            try:
                await self.send_photo(
                    recipient_id, image, caption=caption[:CAPTION_LIMIT], reply_markup=markup
                )
                return
            except TelegramAPIError as error:  # Telegram could not fetch the image
                logger.info(
                    "telegram: product photo refused (%s), sent as text", type(error).__name__
                )
        await self.send_message(recipient_id, caption[:TEXT_LIMIT], reply_markup=markup)


@dataclass(frozen=True)
class TelegramInbound:
    """What an update asks of the bot."""

    sender_id: str
    text: str | None  # None: not something the bot can read (a sticker, a photo)
    language: str
    callback_id: str | None = None
    private: bool = True


def read_update(update: Mapping[str, Any], bot_name: str) -> TelegramInbound | str | None:
    """An Update (https://core.telegram.org/bots/api#update) as TelegramInbound; None
    for updates that are not for the bot to answer; a reason string when malformed."""
    query = update.get("callback_query")
    if query is not None:
        if not isinstance(query, dict) or not isinstance(query.get("id"), str):
            return "callback_query without an id"
        message = query.get("message") if isinstance(query.get("message"), dict) else {}
        chat = message.get("chat") if isinstance(message.get("chat"), dict) else {}
        user = query.get("from") if isinstance(query.get("from"), dict) else {}
        chat_id = chat.get("id", user.get("id"))
        if not isinstance(chat_id, int) or isinstance(chat_id, bool):
            return "callback_query without a chat"
        data = query.get("data")
        return TelegramInbound(
            str(chat_id),
            data if isinstance(data, str) else "",
            telegram_language(user),
            callback_id=query["id"],
        )
    message = update.get("message", update.get("edited_message"))
    if message is None:
        return None  # channel posts, polls, chat member changes: nothing to answer
    if not isinstance(message, dict) or not isinstance(message.get("chat"), dict):
        return "message without a chat"
    chat_id = message["chat"].get("id")
    if not isinstance(chat_id, int) or isinstance(chat_id, bool):
        return "message without a chat id"
    user = message.get("from") if isinstance(message.get("from"), dict) else {}
    if user.get("is_bot"):
        return None
    language = telegram_language(user)
    private = message["chat"].get("type", "private") == "private"
    text = message.get("text")
    if not isinstance(text, str) or not text.strip():
        return TelegramInbound(str(chat_id), None, language, private=private)
    text = bot_command(without_mention(text, bot_name), bot_name, language)
    return TelegramInbound(str(chat_id), text, language, private=private)


class ShopMateTelegramInput(TelegramInput):
    """Rasa's Telegram input channel, configured by addons/settings.py."""

    @classmethod
    def name(cls) -> str:
        return "telegram"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        # credentials.yml holds no secrets: the environment (addons/settings.py) does.
        return cls(platform_settings("telegram"))

    def __init__(self, settings: PlatformSettings, edge: EdgeSettings | None = None) -> None:
        self.settings = settings
        super().__init__(
            settings.get("token") or None,
            settings.get("bot_name") or None,
            settings.get("webhook_url") or None,
            debug_mode=False,
        )
        self.enabled = settings.enabled
        self._shared = _SharedSession()
        if self.enabled:
            try:
                self.get_output_channel()
            except Exception as error:  # noqa: BLE001 - aiogram refuses a malformed token
                logger.error(
                    "telegram channel is off: TELEGRAM_TOKEN is not a bot token (%s)",
                    type(error).__name__,
                )
                self.enabled = False
        self.gate = PlatformGate(settings, edge)

    def get_output_channel(self) -> ShopMateTelegramOutput | None:  # type: ignore[override]
        """A new output (Rasa's calls setWebhook here; ShopMate does at start)."""
        if not self.settings.enabled:
            return None
        return ShopMateTelegramOutput(
            self.settings.get("token"), self.settings.api_base, self._shared
        )

    def secret_ok(self, given: str | None) -> bool:
        expected = self.settings.get("secret_token")
        return bool(expected and given) and hmac.compare_digest(
            str(given).encode(), expected.encode()
        )

    async def register_webhook(self) -> None:
        """setWebhook with the secret Telegram then sends on every update."""
        url = self.settings.get("webhook_url")
        output = self.get_output_channel()
        if not url or output is None:
            return
        try:
            await output.request(
                "setWebhook",
                {
                    "url": url,
                    "secret_token": self.settings.get("secret_token"),
                    "allowed_updates": json.dumps(ALLOWED_UPDATES),
                },
            )
            logger.info("telegram: webhook registered")
        except Exception as error:  # noqa: BLE001 - Telegram unreachable: Rasa still serves
            logger.error("telegram: webhook registration failed: %s", type(error).__name__)

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        if not self.enabled:
            return off_blueprint("telegram", "telegram_webhook")
        gate = self.gate
        webhook = Blueprint("telegram_webhook", __name__)

        @webhook.listener("after_server_start")
        async def register(*_: Any) -> None:
            await self.register_webhook()

        @webhook.listener("before_server_stop")
        async def close(*_: Any) -> None:
            await self._shared.close()

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse:
            body = await read_body(request)
            if not self.secret_ok(request.headers.get(SECRET_HEADER)):
                logger.info("telegram: update without the webhook's secret refused")
                return response.json({"error": "forbidden"}, status=403)
            if body is None:
                return response.json({"error": "too large"}, status=413)
            update = json_object(body)
            update_id = (update or {}).get("update_id")
            if update is None or not isinstance(update_id, int) or isinstance(update_id, bool):
                return response.json({"error": "not a Telegram update"}, status=400)
            inbound = read_update(update, self.settings.get("bot_name"))
            if isinstance(inbound, str):
                return response.json({"error": inbound}, status=400)
            if inbound is None or not await gate.first_time(str(update_id)):
                return response.json({"ok": True})
            output = self.get_output_channel()
            await self.answer(request.app, on_new_message, output, inbound)
            return response.json({"ok": True})

        return webhook

    async def answer(
        self,
        app: Any,
        on_new_message: OnNewMessage,
        output: ShopMateTelegramOutput | None,
        inbound: TelegramInbound,
    ) -> None:
        if output is None:
            return
        gate = self.gate
        if inbound.callback_id is not None:
            payload = chosen_payload(
                inbound.text or "", await offered_in_last_turn(app, inbound.sender_id)
            )
            try:
                await output.answer_callback_query(
                    inbound.callback_id, text=None if payload else STALE_BUTTON
                )
            except Exception as error:  # noqa: BLE001 - the spinner stops by itself
                logger.info("telegram: answerCallbackQuery failed: %s", type(error).__name__)
            if payload is None:
                logger.info("telegram: a stale or unknown button was ignored")
                return
            await gate.handle(app, on_new_message, output, inbound.sender_id, payload, trusted=True)
            return
        if inbound.text is None:
            if inbound.private:
                await gate.say(
                    app, output, inbound.sender_id, UNREADABLE_RESPONSE, inbound.language
                )
            return
        await gate.handle(app, on_new_message, output, inbound.sender_id, inbound.text)
