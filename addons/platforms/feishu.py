"""Feishu / Lark (飞书) bot: event subscription v2.0 (im.message.receive_v1, and
card.action.trigger for the buttons of the bot's cards) and the IM message API
(docs/channels.md; credentials.yml names FeishuInput).

- POST /webhooks/feishu/webhook. With FEISHU_ENCRYPT_KEY set, Feishu encrypts every
  body ({"encrypt": base64(iv16 + AES-256-CBC ciphertext)}, key = SHA256(encrypt key))
  and signs events: X-Lark-Signature = sha256 hex of timestamp + nonce + encrypt key +
  raw body. Without it, the verification token in each event's header is the proof.
  Either way the token must match.
- url_verification: the challenge is answered (after the token check).
- Feishu waits 3 s and retries: an event is answered at once, claimed once by its
  header.event_id, and the turn runs in the background; replies go through
  POST /open-apis/im/v1/messages with the tenant_access_token (cached).

What a shopper sees: text; product lists and the satisfaction question as interactive
cards whose buttons carry the payload they stand for (a click comes back as
card.action.trigger and is the shopper's next message); orders with their tracking.

Rasa's own messages (the agent console's replies, the rating question) go to the chat
of the conversation's latest callback: the shopper's private chat, or the group the
shopper last @mentioned the bot in (FeishuInput.get_output_channel).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
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
    TokenCache,
    Verdict,
    fresh,
    id_part,
    not_found,
    plain_part,
    reply_language,
    split_utf8,
)
from addons.platforms.gate import read_body
from addons.platforms.rich import RichOutputMixin
from addons.settings import PlatformSettings
from shopmate import payloads

logger = logging.getLogger(__name__)

TOKEN_ERRORS = frozenset({99991661, 99991663, 99991668})
TEXT_LIMIT_BYTES = 30_000  # Feishu: a text message's content up to 150 KB
MENTION = re.compile(r"@_(?:user_\d+|all)")
SPACES = re.compile(r"[ \t]{2,}")
AT_TAG = re.compile(r"<(/?at\b)", re.IGNORECASE)
PRODUCTS = {"zh": "为您找到这些商品", "en": "Products for you"}
VIEW_PRODUCT = {"zh": "查看商品", "en": "View product"}
ORDER = {"zh": "订单", "en": "Order"}
RATING = {"zh": "服务评价", "en": "Rate our service"}


class FeishuCryptoError(ValueError):
    """A body that does not decrypt to JSON."""


def signature(timestamp: str, nonce: str, encrypt_key: str, body: bytes) -> str:
    return hashlib.sha256((timestamp + nonce + encrypt_key).encode("utf-8") + body).hexdigest()


def decrypt(encrypted: str, encrypt_key: str) -> bytes:
    """The plaintext of Feishu's {"encrypt": ...}."""
    try:
        raw = base64.b64decode(encrypted, validate=True)
    except (binascii.Error, ValueError) as error:
        raise FeishuCryptoError("not base64") from error
    if len(raw) < 32 or len(raw) % 16:
        raise FeishuCryptoError("not whole AES blocks")
    key = hashlib.sha256(encrypt_key.encode("utf-8")).digest()
    decryptor = Cipher(algorithms.AES(key), modes.CBC(raw[:16])).decryptor()
    padded = decryptor.update(raw[16:]) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError as error:
        raise FeishuCryptoError("bad padding") from error


def json_object(data: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def message_text(message: Mapping[str, Any]) -> str | None:
    """The text of an im.message.receive_v1 message without its @mentions; None for
    pictures, files, stickers (what the bot cannot read)."""
    if message.get("message_type") != "text":
        return None
    content = json_object(str(message.get("content") or "").encode("utf-8")) or {}
    text = content.get("text")
    if not isinstance(text, str):
        return None
    for mention in message.get("mentions") or []:
        key = mention.get("key") if isinstance(mention, dict) else None
        if isinstance(key, str) and key:
            text = text.replace(key, " ")
    return SPACES.sub(" ", MENTION.sub(" ", text)).strip()


def defuse(text: str) -> str:
    """Text Feishu shows as it is: an `<at ...>` in it would mention people."""
    return AT_TAG.sub("＜\\1", text)


class FeishuApi:
    """The IM message API with one cached tenant_access_token."""

    def __init__(self, settings: PlatformSettings, http: HttpClient) -> None:
        self.settings = settings
        self.http = http
        self.base = settings.api_base.rstrip("/")
        self.tokens = TokenCache(self._fetch_token)

    async def _fetch_token(self) -> tuple[str, int] | None:
        data = await self.http.post_json(
            f"{self.base}/open-apis/auth/v3/tenant_access_token/internal",
            json_body={
                "app_id": self.settings.get("app_id"),
                "app_secret": self.settings.get("app_secret"),
            },
        )
        if not data or data.get("code", 0) != 0 or not data.get("tenant_access_token"):
            logger.warning("feishu: no tenant access token (code %s)", (data or {}).get("code"))
            return None
        return str(data["tenant_access_token"]), int(data.get("expire") or 7200)

    async def send(
        self, target: tuple[str, str], msg_type: str, content: Mapping[str, Any]
    ) -> bool:
        receive_id_type, receive_id = target
        body = {
            "receive_id": receive_id,
            "msg_type": msg_type,
            "content": json.dumps(content, ensure_ascii=False),
        }
        for attempt in range(2):
            token = await self.tokens.get()
            if token is None:
                return False
            data = await self.http.post_json(
                f"{self.base}/open-apis/im/v1/messages",
                params={"receive_id_type": receive_id_type},
                json_body=body,
                headers={"Authorization": f"Bearer {token}"},
            )
            code = (data or {}).get("code", -1 if data is None else 0)
            if code == 0:
                return True
            if code in TOKEN_ERRORS and attempt == 0:
                self.tokens.invalidate(token)
                continue
            logger.warning("feishu: sending a message failed (code %s)", code)
            return False
        return False


def plain(text: str) -> dict[str, Any]:
    return {"tag": "div", "text": {"tag": "plain_text", "content": text}}


def card_button(button: Mapping[str, Any], primary: bool = False) -> dict[str, Any]:
    """A button whose click sends its payload back (card.action.trigger)."""
    return {
        "tag": "button",
        "text": {"tag": "plain_text", "content": str(button.get("title", ""))[:40]},
        "type": "primary" if primary else "default",
        "value": {"payload": str(button.get("payload", ""))},
    }


def link_button(title: str, url: str) -> dict[str, Any]:
    return {"tag": "button", "text": {"tag": "plain_text", "content": title}, "url": url}


def card(title: str, elements: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "config": {"wide_screen_mode": True},
        "header": {"title": {"tag": "plain_text", "content": title}, "template": "blue"},
        "elements": elements,
    }


def actions(buttons: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Buttons in rows of at most four (a card action element holds a row)."""
    return [
        {"tag": "action", "actions": list(buttons[start : start + 4])}
        for start in range(0, len(buttons), 4)
    ]


def products_card(payload: Mapping[str, Any], language: str) -> dict[str, Any]:
    items = payload.get("items") or [
        dict(payload.get("product") or {}, buttons=payload.get("buttons", []))
    ]
    elements: list[dict[str, Any]] = []
    for index, item in enumerate(items, start=1):
        if elements:
            elements.append({"tag": "hr"})
        elements.append(plain(f"{index}. {payloads.product_line(item, language)}"))
        row = [card_button(button, primary=True) for button in item.get("buttons") or []]
        url = payloads.safe_url(item.get("url"))
        if url:
            row.append(link_button(VIEW_PRODUCT[language], url))
        elements += actions(row)
    return card(PRODUCTS[language], elements)


class FeishuOutput(LatestRecipientMixin, RichOutputMixin, OutputChannel):
    """The bot's messages of one turn to one Feishu chat: `target` is
    (receive_id_type, receive_id), the shopper's open_id in a private chat, the
    group's chat_id in a group (or the one `finder` finds for Rasa's recipient)."""

    @classmethod
    def name(cls) -> str:
        return "feishu"

    def __init__(
        self, api: FeishuApi, target: tuple[str, str] | None, finder: Finder | None = None
    ) -> None:
        self.api = api
        self.target = target
        self.finder = finder

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        for piece in split_utf8(text, TEXT_LIMIT_BYTES):
            await self.api.send(self.target, "text", {"text": defuse(piece)})

    async def send_card(self, content: dict[str, Any]) -> None:
        await self.api.send(self.target, "interactive", content)

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        elements = [plain(text)] if text else []
        elements += actions([card_button(button) for button in buttons])
        await self.send_card({"config": {"wide_screen_mode": True}, "elements": elements})

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        # A card's image needs an uploaded image_key: the picture goes as its link.
        url = payloads.safe_url(image)
        if url:
            await self.send_text_message(recipient_id, url)

    async def send_shopmate(self, recipient_id: str, payload: dict[str, Any], text: str) -> None:
        language = reply_language(text, payload)
        kind = payload.get("type")
        if kind in ("carousel", "product_card"):
            await self.send_card(products_card(payload, language))
        elif kind == "order_card":
            order = payload.get("order") or {}
            elements = [plain(text)] if text else []
            elements.append(plain(payloads.as_text(payload, language)))
            url = payloads.safe_url(order.get("url"))
            if url:
                elements += actions([link_button(ORDER[language], url)])
            title = f"{ORDER[language]} {order.get('number', '')}".strip()
            await self.send_card(card(title, elements))
        elif kind == "rating":
            elements = [plain(text)] if text else []
            elements += actions([card_button(button) for button in payloads.buttons_of(payload)])
            await self.send_card(card(RATING[language], elements))
        else:
            await self.send_text_message(recipient_id, payloads.as_text(payload) or text)


class FeishuInput(ChinaPlatformInput):
    platform = "feishu"
    label = "Feishu"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.api = FeishuApi(self.settings, self.http)

    def output_for(self, message: Inbound) -> FeishuOutput:
        return FeishuOutput(self.api, message.target)

    def get_output_channel(self) -> FeishuOutput | None:  # type: ignore[override]
        """What Rasa sends on its own (output_channel=latest: the agent console's
        replies, the rating question) goes to the chat the shopper last wrote in.
        None: off."""
        if not self.enabled:
            return None
        return FeishuOutput(self.api, None, finder=self.find_recipient)

    async def find_recipient(self, sender_id: str) -> tuple[str, str] | None:
        """The chat of `feishu:<open_id>`: as the latest callback named it, or the
        shopper's private chat when the open_id was not hashed."""
        remembered = await self.recipients.recall(sender_id)
        if (
            isinstance(remembered, list)
            and len(remembered) == 2
            and remembered[0] in ("open_id", "chat_id")
            and isinstance(remembered[1], str)
            and remembered[1]
        ):
            return (remembered[0], remembered[1])
        platform, _, part = sender_id.partition(":")
        open_id = plain_part(part) if platform == self.platform else None
        if open_id is not None:
            return ("open_id", open_id)
        logger.warning("feishu: no known recipient for this conversation; a message was not sent")
        return None

    def _token_ok(self, given: Any) -> bool:
        expected = self.settings.get("verification_token")
        return isinstance(given, str) and hmac.compare_digest(given.encode(), expected.encode())

    def _signed(self, headers: Mapping[str, str], body: bytes) -> Verdict | None:
        """None when the signature is right and fresh; else the refusal."""
        timestamp = headers.get("x-lark-request-timestamp", "")
        nonce = headers.get("x-lark-request-nonce", "")
        given = headers.get("x-lark-signature", "")
        expected = signature(timestamp, nonce, self.settings.get("encrypt_key"), body)
        if not given or not hmac.compare_digest(given.encode(), expected.encode()):
            return Verdict(401, "bad signature")
        try:
            moment = float(timestamp)
        except ValueError:
            return Verdict(401, "bad signature")
        if not fresh(moment, self.clock(), self.settings.max_age_s):
            return Verdict(403, "expired")
        return None

    def check_callback(self, headers: Mapping[str, str], body: bytes) -> Verdict:
        """One POST from Feishu: a URL check, a message, a card button's click."""
        data = json_object(body)
        if data is None:
            return Verdict(400, "malformed")
        encrypt_key = self.settings.get("encrypt_key")
        signed = bool(headers.get("x-lark-signature"))
        if encrypt_key and signed:
            refusal = self._signed(headers, body)
            if refusal is not None:
                return refusal
        if "encrypt" in data:
            if not encrypt_key or not isinstance(data["encrypt"], str):
                return Verdict(400, "malformed")
            try:
                data = json_object(decrypt(data["encrypt"], encrypt_key))
            except FeishuCryptoError as error:
                logger.info("feishu: malformed callback (%s)", type(error).__name__)
                return Verdict(400, "malformed")
            if data is None:
                return Verdict(400, "malformed")
        if data.get("type") == "url_verification":
            if not self._token_ok(data.get("token")):
                return Verdict(401, "bad token")
            return Verdict(200, {"challenge": str(data.get("challenge", ""))})
        if encrypt_key and not signed:
            return Verdict(401, "bad signature")
        header = data.get("header")
        if data.get("schema") != "2.0" or not isinstance(header, dict):
            return Verdict(400, "unsupported schema")
        if not self._token_ok(header.get("token")):
            return Verdict(401, "bad token")
        event = data.get("event")
        if not isinstance(event, dict) or not header.get("event_id"):
            return Verdict(400, "malformed")
        event_id = str(header["event_id"])
        kind = header.get("event_type")
        if kind == "im.message.receive_v1":
            return self._message(event, event_id)
        if kind == "card.action.trigger":
            return self._click(event, event_id)
        return Verdict(200, {})

    def _message(self, event: Mapping[str, Any], event_id: str) -> Verdict:
        sender = event.get("sender") if isinstance(event.get("sender"), dict) else {}
        message = event.get("message") if isinstance(event.get("message"), dict) else {}
        open_id = (sender.get("sender_id") or {}).get("open_id")
        if sender.get("sender_type", "user") != "user":
            return Verdict(200, {})
        if not isinstance(open_id, str) or not open_id or not message:
            return Verdict(400, "malformed")
        chat_id = message.get("chat_id")
        if message.get("chat_type") == "group" and not message.get("mentions"):
            # With the "all group messages" permission Feishu sends every message of a
            # group; the bot answers only those that @mention it.
            return Verdict(200, {})
        if message.get("chat_type") == "p2p" or not isinstance(chat_id, str) or not chat_id:
            target = ("open_id", open_id)
        else:
            target = ("chat_id", chat_id)
        inbound = Inbound(f"feishu:{id_part(open_id)}", message_text(message), event_id, target)
        return Verdict(200, {}, inbound)

    def _click(self, event: Mapping[str, Any], event_id: str) -> Verdict:
        operator = event.get("operator") if isinstance(event.get("operator"), dict) else {}
        action = event.get("action") if isinstance(event.get("action"), dict) else {}
        context = event.get("context") if isinstance(event.get("context"), dict) else {}
        open_id = operator.get("open_id")
        value = action.get("value") if isinstance(action.get("value"), dict) else {}
        payload = value.get("payload")
        if not isinstance(open_id, str) or not open_id or not isinstance(payload, str):
            return Verdict(400, "malformed")
        chat_id = context.get("open_chat_id")
        target = (
            ("chat_id", chat_id) if isinstance(chat_id, str) and chat_id else ("open_id", open_id)
        )
        # The payload is taken only if the bot offered it in its last turn
        # (addons/channels.py plain_text); anything else is read as text.
        return Verdict(200, {}, Inbound(f"feishu:{id_part(open_id)}", payload, event_id, target))

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
