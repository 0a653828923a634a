"""WeCom (企业微信) self-built application: the callback URL of "接收消息" and the
application message API (docs/channels.md; credentials.yml names WeComInput).

- GET /webhooks/wecom/webhook: URL verification. msg_signature is the SHA1 of the
  sorted [token, timestamp, nonce, echostr]; the answer is echostr decrypted.
- POST /webhooks/wecom/webhook: an XML body whose <Encrypt> holds the message, the
  same signature over the ciphertext. AES-256-CBC, key = base64(EncodingAESKey + "="),
  IV = the key's first 16 bytes, PKCS#7 padding to 32 bytes; the plaintext is 16 random
  bytes, a 4-byte big-endian length, the message XML and the CorpID (checked).
- WeCom waits 5 s and retries: the callback is answered with an empty 200 at once, a
  message is claimed once by its MsgId and answered in the background through
  POST /cgi-bin/message/send with the access token of /cgi-bin/gettoken (cached).

What a shopper sees: text; product lists as news articles (picture, title, price,
link to the product page) followed by numbered choices ("回复数字选择"); a number
sent back is the button it stands for; orders with their tracking as text.

Rasa's own messages (the agent console's replies, the rating question) go to the
user of the conversation's latest callback (WeComInput.get_output_channel).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
from collections.abc import Mapping, Sequence
from typing import Any
from xml.etree import ElementTree

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from rasa.core.channels.channel import OutputChannel
from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

from addons.channels import last_turn_buttons
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

# The access token is invalid or expired: fetch a new one and send again, once.
TOKEN_ERRORS = frozenset({40014, 41001, 42001})
TEXT_LIMIT_BYTES = 2000  # WeCom: text content at most 2048 bytes
MAX_ARTICLES = 8  # news: 1 to 8 articles
CHOOSE = {"zh": "回复数字选择：", "en": "Reply with a number to choose:"}
CHOOSE_SCORE = {"zh": "请回复数字 {low}-{high}", "en": "Reply with a number from {low} to {high}"}


class WeComCryptoError(ValueError):
    """A callback that does not decrypt, or decrypts to something malformed."""


def signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    joined = "".join(sorted([token, timestamp, nonce, encrypted])).encode()
    return hashlib.sha1(joined).hexdigest()  # noqa: S324 - WeCom's signature is SHA1


def aes_key(encoding_aes_key: str) -> bytes:
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except (binascii.Error, ValueError) as error:
        raise WeComCryptoError("EncodingAESKey is not base64") from error
    if len(key) != 32:
        raise WeComCryptoError("EncodingAESKey must be 43 characters (32 bytes)")
    return key


def decrypt(encrypted: str, key: bytes) -> tuple[bytes, str]:
    """(message, receive id) of a WeCom ciphertext."""
    try:
        data = base64.b64decode(encrypted, validate=True)
    except (binascii.Error, ValueError) as error:
        raise WeComCryptoError("not base64") from error
    if not data or len(data) % 16:
        raise WeComCryptoError("not whole AES blocks")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    padded = decryptor.update(data) + decryptor.finalize()
    unpadder = padding.PKCS7(256).unpadder()
    try:
        plain = unpadder.update(padded) + unpadder.finalize()
    except ValueError as error:
        raise WeComCryptoError("bad padding") from error
    if len(plain) < 20:
        raise WeComCryptoError("too short")
    length = int.from_bytes(plain[16:20], "big")
    if 20 + length > len(plain):
        raise WeComCryptoError("bad length")
    try:
        receive_id = plain[20 + length :].decode("utf-8")
    except UnicodeDecodeError as error:
        raise WeComCryptoError("bad receive id") from error
    return plain[20 : 20 + length], receive_id


def xml_fields(data: bytes) -> dict[str, str]:
    """The child elements of an XML document's root, by tag. No DTDs: entities are
    refused before parsing."""
    upper = data.upper()
    if b"<!DOCTYPE" in upper or b"<!ENTITY" in upper:
        raise WeComCryptoError("DTDs are refused")
    try:
        # DTDs (entity expansion, external entities) were refused above.
        root = ElementTree.fromstring(data)  # noqa: S314
    except ElementTree.ParseError as error:
        raise WeComCryptoError("not XML") from error
    return {child.tag: (child.text or "").strip() for child in root}


class WeComApi:
    """The application message API: one cached access token, one retry when WeCom
    says it is invalid."""

    def __init__(self, settings: PlatformSettings, http: HttpClient) -> None:
        self.settings = settings
        self.http = http
        self.base = settings.api_base.rstrip("/")
        self.tokens = TokenCache(self._fetch_token)

    async def _fetch_token(self) -> tuple[str, int] | None:
        data = await self.http.get_json(
            f"{self.base}/cgi-bin/gettoken",
            params={
                "corpid": self.settings.get("corp_id"),
                "corpsecret": self.settings.get("secret"),
            },
        )
        if not data or data.get("errcode", 0) != 0 or not data.get("access_token"):
            logger.warning("wecom: no access token (errcode %s)", (data or {}).get("errcode"))
            return None
        return str(data["access_token"]), int(data.get("expires_in") or 7200)

    def agent_id(self) -> int | str:
        agent = self.settings.get("agent_id")
        return int(agent) if agent.isdigit() else agent

    async def send(self, touser: str, msgtype: str, body: Mapping[str, Any]) -> bool:
        message = {"touser": touser, "msgtype": msgtype, "agentid": self.agent_id(), msgtype: body}
        for attempt in range(2):
            token = await self.tokens.get()
            if token is None:
                return False
            data = await self.http.post_json(
                f"{self.base}/cgi-bin/message/send",
                params={"access_token": token},
                json_body=message,
            )
            errcode = (data or {}).get("errcode", -1 if data is None else 0)
            if errcode == 0:
                return True
            if errcode in TOKEN_ERRORS and attempt == 0:
                self.tokens.invalidate(token)
                continue
            logger.warning("wecom: message/send failed (errcode %s)", errcode)
            return False
        return False


def numbered_choices(buttons: Sequence[Mapping[str, Any]], first: int, language: str) -> str:
    """Buttons as numbered lines a shopper answers with the number; a score row whose
    titles are its numbers ("1".."5") as one line."""
    numbers = range(first, first + len(buttons))
    titles = [str(button.get("title", "")) for button in buttons]
    if titles == [str(number) for number in numbers]:
        return CHOOSE_SCORE[language].format(low=first, high=first + len(buttons) - 1)
    lines = [CHOOSE[language]]
    lines += [f"{number}. {title}" for number, title in zip(numbers, titles, strict=True)]
    return "\n".join(lines)


def truncate_utf8(text: str, limit_bytes: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit_bytes:
        return text
    return data[: limit_bytes - 3].decode("utf-8", errors="ignore") + "…"


class WeComOutput(LatestRecipientMixin, RichOutputMixin, OutputChannel):
    """The bot's messages of one turn to one WeCom user (`target`, the userid; or the
    one `finder` finds for the recipient Rasa names). Buttons become numbered choices,
    numbered on across the turn's messages in the order they were sent, which is the
    order WeComInput reads them back from the tracker."""

    @classmethod
    def name(cls) -> str:
        return "wecom"

    def __init__(self, api: WeComApi, target: str | None, finder: Finder | None = None) -> None:
        self.api = api
        self.target = target
        self.finder = finder
        self.choices = 0  # buttons numbered so far in this turn

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        for piece in split_utf8(text, TEXT_LIMIT_BYTES):
            await self.api.send(self.target, "text", {"content": piece})

    def number(self, buttons: Sequence[Mapping[str, Any]], language: str) -> str:
        first = self.choices + 1
        self.choices += len(buttons)
        return numbered_choices(buttons, first, language)

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        choices = self.number(buttons, reply_language(text))
        await self.send_text_message(recipient_id, f"{text}\n\n{choices}" if text else choices)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        url = payloads.safe_url(image)
        if url is None:
            return
        title = payloads.VIEW_IMAGE[reply_language("")]
        article = {"title": title, "url": url, "picurl": url}
        await self.api.send(self.target, "news", {"articles": [article]})

    async def send_shopmate(self, recipient_id: str, payload: dict[str, Any], text: str) -> None:
        language = reply_language(text, payload)
        kind = payload.get("type")
        if kind in ("carousel", "product_card"):
            await self.send_products(recipient_id, payload, language)
        elif kind == "order_card":
            card = payloads.as_text(payload, language)
            await self.send_text_message(recipient_id, f"{text}\n\n{card}" if text else card)
        elif kind == "rating":
            await self.send_text_with_buttons(recipient_id, text, payloads.buttons_of(payload))
        else:
            await self.send_text_message(recipient_id, payloads.as_text(payload) or text)

    async def send_products(
        self, recipient_id: str, payload: dict[str, Any], language: str
    ) -> None:
        items = payload.get("items") or [
            dict(payload.get("product") or {}, buttons=payload.get("buttons", []))
        ]
        articles = []
        for item in items[:MAX_ARTICLES]:
            url = payloads.safe_url(item.get("url")) or payloads.safe_url(item.get("image_url"))
            if url is None:
                continue
            line = payloads.product_line(item, language).split(" · ", 1)
            article = {
                "title": truncate_utf8(line[0], 120),
                "description": truncate_utf8(line[1] if len(line) > 1 else "", 500),
                "url": url,
            }
            picture = payloads.safe_url(item.get("image_url"))
            if picture:
                article["picurl"] = picture
            articles.append(article)
        buttons = []
        for index, item in enumerate(items, start=1):
            for button in item.get("buttons") or []:
                title = f"{button.get('title', '')} · {item.get('title', index)}"
                buttons.append({"title": title, "payload": button.get("payload", "")})
        if articles:
            await self.api.send(self.target, "news", {"articles": articles})
            text = ""
        else:
            text = payloads.as_text(payload, language)
        if buttons:
            choices = self.number(buttons, language)
            await self.send_text_message(recipient_id, f"{text}\n\n{choices}" if text else choices)
        elif text:
            await self.send_text_message(recipient_id, text)


class WeComInput(ChinaPlatformInput):
    platform = "wecom"
    label = "WeCom"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.api = WeComApi(self.settings, self.http)
        self.key: bytes | None = None
        if self.settings.enabled:
            try:
                self.key = aes_key(self.settings.get("aes_key"))
            except WeComCryptoError:
                logger.error("WeCom channel is off: WECOM_AES_KEY is not a 43-character key")

    @property
    def enabled(self) -> bool:
        return self.settings.enabled and self.key is not None

    def output_for(self, message: Inbound) -> WeComOutput:
        return WeComOutput(self.api, str(message.target))

    def get_output_channel(self) -> WeComOutput | None:  # type: ignore[override]
        """What Rasa sends on its own (output_channel=latest: the agent console's
        replies, the rating question) goes to the conversation's user. None: off."""
        if not self.enabled:
            return None
        return WeComOutput(self.api, None, finder=self.find_recipient)

    async def find_recipient(self, sender_id: str) -> str | None:
        """The userid of `wecom:<corp>:<user>`: as the latest callback named it, or
        the user part itself when it was not hashed (and the CorpID is ours)."""
        remembered = await self.recipients.recall(sender_id)
        if isinstance(remembered, str) and remembered:
            return remembered
        parts = sender_id.split(":")
        corp = id_part(self.settings.get("corp_id"))
        if len(parts) == 3 and parts[0] == self.platform and parts[1] == corp:
            user = plain_part(parts[2])
            if user is not None:
                return user
        logger.warning("wecom: no known recipient for this conversation; a message was not sent")
        return None

    def _signed(self, args: Mapping[str, str], encrypted: str) -> bool:
        given = args.get("msg_signature", "")
        expected = signature(
            self.settings.get("token"), args.get("timestamp", ""), args.get("nonce", ""), encrypted
        )
        return hmac.compare_digest(given.encode(), expected.encode())

    def _fresh(self, args: Mapping[str, str]) -> bool:
        try:
            timestamp = float(args.get("timestamp", ""))
        except ValueError:
            return False
        return fresh(timestamp, self.clock(), self.settings.max_age_s)

    def _open(self, encrypted: str) -> bytes | None:
        """The message inside `encrypted` (None: written for another CorpID)."""
        if self.key is None:
            raise WeComCryptoError("no EncodingAESKey")
        message, receive_id = decrypt(encrypted, self.key)
        if not hmac.compare_digest(receive_id.encode(), self.settings.get("corp_id").encode()):
            logger.warning("wecom: a callback for another CorpID was refused")
            return None
        return message

    def check_verification(self, args: Mapping[str, str]) -> Verdict:
        """GET: WeCom checks the URL; the answer is echostr decrypted."""
        # A query string's "+" arrives as a space; base64 has no spaces.
        echostr = args.get("echostr", "").replace(" ", "+")
        if not echostr:
            return Verdict(400, "missing echostr")
        if not self._signed(args, echostr):
            return Verdict(401, "bad signature")
        if not self._fresh(args):
            return Verdict(403, "expired")
        try:
            plain = self._open(echostr)
        except WeComCryptoError:
            return Verdict(400, "malformed")
        if plain is None:
            return Verdict(403, "wrong receiver")
        return Verdict(200, plain.decode("utf-8", errors="replace"))

    def check_message(self, args: Mapping[str, str], body: bytes) -> Verdict:
        """POST: a shopper's message (or an event, answered with nothing)."""
        try:
            encrypted = xml_fields(body).get("Encrypt", "")
        except WeComCryptoError:
            return Verdict(400, "malformed")
        if not encrypted:
            return Verdict(400, "malformed")
        if not self._signed(args, encrypted):
            return Verdict(401, "bad signature")
        if not self._fresh(args):
            return Verdict(403, "expired")
        try:
            plain = self._open(encrypted)
            if plain is None:
                return Verdict(403, "wrong receiver")
            fields = xml_fields(plain)
        except WeComCryptoError as error:
            logger.info("wecom: malformed callback (%s)", type(error).__name__)
            return Verdict(400, "malformed")
        agent = fields.get("AgentID")
        if agent and agent != self.settings.get("agent_id"):
            logger.warning("wecom: a callback for another application was refused")
            return Verdict(403, "wrong application")
        user, kind = fields.get("FromUserName", ""), fields.get("MsgType", "")
        if not user or not kind:
            return Verdict(400, "malformed")
        if kind == "event":
            return Verdict(200, "")  # entering the app, menu clicks: nothing to answer
        message_id = fields.get("MsgId") or f"{user}:{fields.get('CreateTime', '')}"
        corp = id_part(self.settings.get("corp_id"))
        return Verdict(
            200,
            "",
            Inbound(
                sender_id=f"wecom:{corp}:{id_part(user)}",
                text=fields.get("Content", "") if kind == "text" else None,
                message_id=message_id,
                target=user,
            ),
        )

    async def resolve_choice(self, app: Any, sender_id: str, text: str) -> str:
        """A bare number answers the numbered choices of the bot's last turn."""
        number = text.strip()
        if not number.isdecimal() or len(number) > 2:
            return text
        buttons = await last_turn_buttons(app, sender_id)
        index = int(number)
        if 1 <= index <= len(buttons):
            return buttons[index - 1]["payload"]
        return text

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        webhook = self.new_blueprint()

        @webhook.route("/webhook", methods=["GET", "POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse:
            body = await read_body(request, MAX_CALLBACK_BYTES)
            if not self.enabled:
                return not_found()
            args = {
                key: request.args.get(key, "")
                for key in ("msg_signature", "timestamp", "nonce", "echostr")
            }
            if request.method == "GET":
                verdict = self.check_verification(args)
            elif body is None:
                verdict = Verdict(413, "too large")
            else:
                verdict = self.check_message(args, body)
            return await self.answer(request, verdict, on_new_message)

        return webhook
