"""Rasa's REST and Socket.IO channels with ShopMate's edge in front (addons/edge.py).

credentials.yml names these classes. They keep Rasa's URLs and wire formats
(`/webhooks/rest/webhook`, Socket.IO `user_uttered` / `bot_uttered`), so clients
and Rasa's own tooling see no difference, and add what Rasa 3.6 does not have:

- REST is for servers only: a request needs `Authorization: Bearer $REST_CHANNEL_TOKEN`
  (the shop's backend relays its shoppers; the sender id is that backend's choice).
  Without REST_CHANNEL_TOKEN the channel refuses everything.
- Socket.IO is what browsers use: origins limited to SHOP_ORIGINS, a conversation is
  joined only with a session token signed by the shop page's server (SESSION_SECRET),
  and the conversation id of every message is the one that token proved, never the
  one the client names.
- Both bound size and shape, neutralise command syntax the bot did not offer, keep
  only known metadata and rate-limit, before any NLU work.
Nothing here logs message text, tokens or metadata.
"""

from __future__ import annotations

import hmac
import inspect
import json
import logging
from asyncio import CancelledError
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from rasa.shared.core.events import BotUttered, UserUttered
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from addons.edge import (
    RATE_LIMITED_RESPONSE,
    UNREADABLE_RESPONSE,
    EdgeSettings,
    RateLimiter,
    Refusal,
    TurnLedger,
    check_text,
    clean_metadata,
    guess_language,
    is_command,
    message_id_from,
    neutralise_command,
    offered_buttons,
    origin_allowed,
    payloads_of,
    read_rest_body,
    render_response,
)
from addons.platforms.rich import RichOutputMixin
from addons.socket_rooms import SharedRoomsManager
from shopmate.log_redaction import install_redaction
from shopmate.sessions import SessionTokens

# credentials.yml names these channels: a Rasa without this project's stores redacts too.
install_redaction()

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


def domain_responses(request_app: Any) -> dict[str, Any]:
    agent = getattr(request_app.ctx, "agent", None)
    domain = getattr(agent, "domain", None)
    return dict(getattr(domain, "responses", None) or {})


async def stored_tracker(app: Any, sender_id: str) -> Any:
    """Conversation `sender_id` as the tracker store holds it; None if there is none
    or the store cannot be read (the edge then acts as for a new conversation)."""
    agent = getattr(getattr(app, "ctx", None), "agent", None)
    store = getattr(agent, "tracker_store", None)
    if store is None:
        return None
    try:
        return await store.retrieve(sender_id)
    except Exception as error:  # noqa: BLE001 - unreadable store: nothing is known
        logger.warning("edge: tracker unreadable: %s", type(error).__name__)
        return None


async def last_turn_buttons(app: Any, sender_id: str) -> list[dict[str, str]]:
    """The buttons the bot offered in its last turn in conversation `sender_id`, read
    from the tracker store (addons/edge.py offered_buttons); none if it is unreadable."""
    tracker = await stored_tracker(app, sender_id)
    if tracker is None:
        return []
    tail = []
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            break
        if isinstance(event, BotUttered):
            tail.append(event.as_dict())
    return offered_buttons(reversed(tail))


async def offered_in_last_turn(app: Any, sender_id: str) -> set[str]:
    """The payloads of those buttons, as the edge compares them."""
    return payloads_of(await last_turn_buttons(app, sender_id))


async def plain_text(app: Any, sender_id: str, text: str) -> str:
    """`text`, or plain text if it is a command the bot did not offer in its last turn."""
    if not is_command(text):
        return text
    plain = neutralise_command(text, await offered_in_last_turn(app, sender_id))
    if plain != text:
        logger.info("edge: command syntax from a shopper taken as text")
    return plain


async def earlier_reply(app: Any, sender_id: str, message_id: str) -> list[dict[str, Any]] | None:
    """The bot's messages after the stored message `message_id`, or None if no such
    message was stored (its first attempt died before the turn was saved)."""
    tracker = await stored_tracker(app, sender_id)
    found = False
    messages: list[dict[str, Any]] = []
    for event in tracker.events if tracker is not None else []:
        if isinstance(event, UserUttered):
            if found:
                break
            found = event.message_id == message_id
        elif found and isinstance(event, BotUttered):
            message = {key: value for key, value in event.message().items() if value}
            message.pop("timestamp", None)
            messages.append(message)
    return messages if found else None


async def already_answered(
    ledger: TurnLedger, app: Any, sender_id: str, message_id: str | None
) -> list[dict[str, Any]] | None:
    """What was answered to this message before, if it is one sent again."""
    if message_id is None or await ledger.first_attempt(sender_id, message_id):
        return None
    earlier = await earlier_reply(app, sender_id, message_id)
    if earlier is not None:
        logger.info("edge: a message sent again was answered from the tracker")
    return earlier


class AppAwareSocketBlueprint(SocketBlueprint):
    """Rasa's Socket.IO blueprint that remembers the app it is registered on (the
    handlers need the agent's domain and tracker store)."""

    def register(self, app: Any, options: dict[str, Any]) -> None:
        self.ctx.app = app
        super().register(app, options)

    @property
    def app(self) -> Any:
        return getattr(self.ctx, "app", None)


class GuardedRestInput(RestInput):
    """Rasa's REST channel for trusted servers, bounded and authenticated."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        return cls()

    def __init__(self, settings: EdgeSettings | None = None) -> None:
        self.settings = settings or EdgeSettings.from_env()
        self.limiter = RateLimiter.from_settings(self.settings)
        self.ledger = TurnLedger(self.settings.redis_url)
        if not self.settings.rest_token:
            logger.warning("REST channel refuses every request: REST_CHANNEL_TOKEN is not set")

    def authorised(self, request: Request) -> bool:
        expected = self.settings.rest_token
        given = request.headers.get("authorization", "")
        if not expected or not given.startswith("Bearer "):
            return False
        return hmac.compare_digest(given[len("Bearer ") :].encode(), expected.encode())

    async def read_body(self, request: Request) -> tuple[bytes, bool]:
        """At most max_body_bytes of the body; the rest is read and dropped."""
        limit = self.settings.max_body_bytes
        kept = bytearray()
        truncated = False
        while True:
            chunk = await request.stream.read()
            if chunk is None:
                break
            room = limit - len(kept)
            if room > 0:
                kept += chunk[:room]
            if len(chunk) > room:
                truncated = True
        return bytes(kept), truncated

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        webhook = Blueprint("guarded_rest_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse:
            body, truncated = await self.read_body(request)
            if not self.authorised(request):
                return response.json({"error": "unauthorised"}, status=401)
            outcome = read_rest_body(body, truncated, self.settings)
            responses = domain_responses(request.app)
            if isinstance(outcome, Refusal):
                if outcome.response is None:
                    return response.json({"error": outcome.reason}, status=400)
                text = render_response(responses, outcome.response, outcome.language)
                return response.json([{"recipient_id": outcome.sender_id or "", "text": text}])
            if not await self.limiter.allow(outcome.sender_id, None):
                text = render_response(
                    responses, RATE_LIMITED_RESPONSE, guess_language(outcome.text)
                )
                return response.json([{"recipient_id": outcome.sender_id, "text": text}])
            message_id = message_id_from(request.headers.get("x-request-id"))
            collector = CollectingOutputChannel()
            earlier = await already_answered(
                self.ledger, request.app, outcome.sender_id, message_id
            )
            if earlier is not None:
                for message in earlier:
                    await collector.send_response(outcome.sender_id, message)
                return response.json(collector.messages)
            text = await plain_text(request.app, outcome.sender_id, outcome.text)
            try:
                await on_new_message(
                    UserMessage(
                        text,
                        collector,
                        outcome.sender_id,
                        input_channel=self.name(),
                        metadata=outcome.metadata,
                        message_id=message_id,
                    )
                )
            except CancelledError:
                logger.error("rest: message handling timed out")
            except Exception as error:  # noqa: BLE001 - the shopper gets what was said so far
                logger.error("rest: message handling failed: %s", type(error).__name__)
            return response.json(collector.messages)

        return webhook


class ShopSocketIOOutput(RichOutputMixin, SocketIOOutput):
    """Rasa's Socket.IO output; a ShopMate payload (shopmate/payloads.py) goes out as
    one `bot_uttered` {text, shopmate}, a reply's product cards as one carousel."""

    # The widget runs on the shop's own page: images and links stay relative to it.
    shop_url = ""

    async def send_shopmate(self, recipient_id: str, payload: dict[str, Any], text: str) -> None:
        await self._send_message(recipient_id, {"text": text, "shopmate": payload})


class GuardedSocketIOInput(SocketIOInput):
    """Rasa's Socket.IO channel with sessions bound to a signed token."""

    @classmethod
    def name(cls) -> str:
        return "socketio"

    def __init__(self, *args: Any, settings: EdgeSettings | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.settings = settings or EdgeSettings.from_env()
        self.limiter = RateLimiter.from_settings(self.settings)
        self.ledger = TurnLedger(self.settings.redis_url)
        self.sessions = (
            SessionTokens(self.settings.session_secret) if self.settings.session_secret else None
        )
        if self.sessions is None:
            logger.warning("Socket.IO refuses every session: SESSION_SECRET is not set")
        # Socket id → the conversation its session token proved, and its address.
        self.joined: dict[str, str] = {}
        self.addresses: dict[str, str] = {}

    def get_output_channel(self) -> ShopSocketIOOutput | None:  # type: ignore[override]
        """What Rasa's HTTP API sends through (output_channel=socketio or latest: a
        person's reply, the rating after a hand-back): the rich output, as in a turn."""
        sio = getattr(self, "sio", None)
        if sio is None:
            return None
        return ShopSocketIOOutput(sio, self.bot_message_evt)

    def origin_allowed(self, origin: str | None, environ: dict[str, Any]) -> bool:
        own = f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST', '')}"
        allowed = origin_allowed(origin, self.settings.shop_origins, own)
        if not allowed:
            logger.info("socketio: connection from a page outside SHOP_ORIGINS refused")
        return allowed

    def client_address(self, environ: dict[str, Any]) -> str:
        if self.settings.trust_forwarded_for:
            forwarded = str(environ.get("HTTP_X_FORWARDED_FOR") or "").split(",")[0].strip()
            if forwarded:
                return forwarded
        return str(environ.get("REMOTE_ADDR") or "unknown")

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        # With REDIS_URL (several instances), an emit reaches the socket on whichever
        # instance holds it: an agent's reply sent through another instance's API.
        manager = SharedRoomsManager(self.settings.redis_url) if self.settings.redis_url else None
        sio = AsyncServer(
            async_mode="sanic",
            cors_allowed_origins=self.origin_allowed,
            max_http_buffer_size=self.settings.max_socket_bytes,
            client_manager=manager,
        )
        webhook = AppAwareSocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        self.sio = sio

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        def responses() -> dict[str, Any]:
            return domain_responses(webhook.app) if webhook.app is not None else {}

        async def reply(session_id: str, name: str, language: str) -> None:
            output = ShopSocketIOOutput(sio, self.bot_message_evt)
            await output.send_text_message(session_id, render_response(responses(), name, language))

        @sio.on("connect", namespace=self.namespace)
        async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
            address = self.client_address(environ)
            if not await self.limiter.allow(None, address):
                return False
            self.addresses[sid] = address
            return True

        @sio.on("disconnect", namespace=self.namespace)
        async def disconnect(sid: str) -> None:
            self.joined.pop(sid, None)
            self.addresses.pop(sid, None)

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: str, data: Any) -> None:
            data = data if isinstance(data, dict) else {}
            session_id = self.sessions.verify(data.get("session_token")) if self.sessions else None
            named = data.get("session_id")
            if session_id is None or named not in (None, "", session_id):
                logger.info("socketio: session request refused")
                await sio.emit("session_rejected", {"reason": "invalid session"}, room=sid)
                return
            # Always a room per conversation (Rasa's session_persistence): replies go to
            # the room of the proven conversation, never to a socket the client named.
            entered = sio.enter_room(sid, session_id)
            if inspect.isawaitable(entered):  # python-socketio >= 5.10
                await entered
            self.joined[sid] = session_id
            await sio.emit("session_confirm", session_id, room=sid)

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: str, data: Any) -> None:
            session_id = self.joined.get(sid)
            if session_id is None:
                await sio.emit("session_rejected", {"reason": "no session"}, room=sid)
                return
            data = data if isinstance(data, dict) else {}
            text = data.get("message")
            if not isinstance(text, str) or not text.strip():
                await reply(session_id, UNREADABLE_RESPONSE, "zh")
                return
            refusal = check_text(text, session_id, self.settings)
            if refusal is not None and refusal.response:
                await reply(session_id, refusal.response, refusal.language)
                return
            if not await self.limiter.allow(session_id, self.addresses.get(sid)):
                await reply(session_id, RATE_LIMITED_RESPONSE, guess_language(text))
                return
            metadata = data.get(self.metadata_key)
            if isinstance(metadata, str):
                try:
                    metadata = json.loads(metadata)
                except ValueError:
                    metadata = {}
            message_id = message_id_from(data.get("message_id"))
            output = ShopSocketIOOutput(sio, self.bot_message_evt)
            earlier = await already_answered(self.ledger, webhook.app, session_id, message_id)
            if earlier is not None:
                for message in earlier:
                    await output.send_response(session_id, message)
                await output.flush_shopmate(session_id)
                return
            text = await plain_text(webhook.app, session_id, text)
            await on_new_message(
                UserMessage(
                    text,
                    output,
                    session_id,
                    input_channel=self.name(),
                    metadata=clean_metadata(metadata),
                    message_id=message_id,
                )
            )
            await output.flush_shopmate(session_id)

        return webhook
