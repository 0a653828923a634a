"""What the WeCom, Feishu and DingTalk connectors share (addons/platforms/wecom.py,
feishu.py, dingtalk.py): their input channel's skeleton, an HTTP client with timeouts,
a cached access token, background turns and the edge checks of addons/channels.py.

Each platform posts a signed callback and wants a quick 200; the bot's messages go
out afterwards through the platform's send API. So a callback is checked (signature,
age, shape), claimed once by its message id (CallbackDeduplicator), answered at once,
and the turn runs as a background task that keeps a reference until it is done.

Rasa also sends on its own: a person's reply from the agent console and the rating
question (web/agent.py, output_channel=latest) go through the input channel's
get_output_channel(), with only the conversation's sender id to go by. Its parts may
be hashes (id_part), and DingTalk answers only through the latest message's
sessionWebhook, so each callback writes the platform's recipient into a RecipientBook
and such an output looks it up before its first message.

Nothing here logs message text, user ids, tokens or URLs with secrets: exception
types and platform error codes only.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import aiohttp
from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from addons.channels import domain_responses, plain_text
from addons.edge import (
    RATE_LIMITED_RESPONSE,
    UNREADABLE_RESPONSE,
    EdgeSettings,
    RateLimiter,
    check_text,
    guess_language,
    render_response,
)
from addons.platforms.dedupe import CallbackDeduplicator
from addons.settings import PlatformSettings, platform_settings

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]
# A platform's callback is a few KB (a 1000-character message, encrypted and base64'd,
# is about 6 KB); anything much larger is refused before any decryption work.
MAX_CALLBACK_BYTES = 64 * 1024
HTTP_TIMEOUT_S = 10.0
# Characters kept as they are in a sender id's parts; other ids are hashed.
ID_PART = re.compile(r"[A-Za-z0-9_.@\-]{1,64}")
HASHED_PART = re.compile(r"h[0-9a-f]{32}")
# How long, and for how many conversations, the platform recipient behind a sender id
# is remembered for messages Rasa sends on its own (RecipientBook).
RECIPIENT_TTL_S = 30 * 24 * 3600
MAX_RECIPIENTS = 100_000


def id_part(value: str) -> str:
    """A platform id as one part of a sender id: as it is when it is plain, else a
    stable hash (DingTalk ids carry "$", "/", "+", "=", which break Rasa's URLs)."""
    if ID_PART.fullmatch(value):
        return value
    return "h" + hashlib.sha256(value.encode("utf-8")).hexdigest()[:32]


def plain_part(part: str) -> str | None:
    """The platform id a sender id's part stands for, when it was kept as it is (a
    hashed part cannot be turned back: RecipientBook remembers those)."""
    if ID_PART.fullmatch(part) and not HASHED_PART.fullmatch(part):
        return part
    return None


def fresh(timestamp_s: float, now_s: float, max_age_s: int) -> bool:
    """A callback's timestamp is within `max_age_s` of now (either side: clock skew)."""
    return abs(now_s - timestamp_s) <= max_age_s


def reply_language(text: str, payload: Mapping[str, Any] | None = None) -> str:
    if payload is not None and payload.get("language") in ("zh", "en"):
        return str(payload["language"])
    return guess_language(text or "")


def split_utf8(text: str, limit_bytes: int) -> list[str]:
    """`text` in pieces of at most `limit_bytes` UTF-8 bytes, cut at line ends where
    it can be (platforms truncate or refuse longer messages)."""
    pieces: list[str] = []
    rest = text
    while len(rest.encode("utf-8")) > limit_bytes:
        cut, size = 0, 0
        for index, char in enumerate(rest):
            size += len(char.encode("utf-8"))
            if size > limit_bytes:
                break
            cut = index + 1
        newline = rest.rfind("\n", 0, cut)
        if newline > cut // 2:
            cut = newline + 1
        pieces.append(rest[:cut])
        rest = rest[cut:]
    pieces.append(rest)
    return [piece.strip("\n") for piece in pieces if piece.strip()]


# ---------------------------------------------------------------- outgoing HTTP


class HttpClient:
    """JSON over aiohttp with a total timeout; None instead of an exception (the
    caller logs what it was doing). One session per client, made on first use inside
    the server's event loop."""

    def __init__(self, timeout_s: float = HTTP_TIMEOUT_S) -> None:
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def request_json(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any] | None:
        try:
            async with self.session().request(
                method,
                url,
                params=dict(params or {}),
                json=json_body,
                headers=dict(headers or {}),
                allow_redirects=False,
            ) as answer:
                data = await answer.json(content_type=None)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
            logger.warning("platform API request failed: %s", type(error).__name__)
            return None
        return data if isinstance(data, dict) else {}

    async def get_json(self, url: str, **kwargs: Any) -> dict[str, Any] | None:
        return await self.request_json("GET", url, **kwargs)

    async def post_json(self, url: str, **kwargs: Any) -> dict[str, Any] | None:
        return await self.request_json("POST", url, **kwargs)

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


class TokenCache:
    """A platform's access token, fetched once and reused until shortly before it
    expires (WeCom and Feishu limit how often a token may be fetched). `fetch` returns
    (token, expires_in seconds) or None; concurrent callers share one fetch."""

    def __init__(
        self,
        fetch: Callable[[], Awaitable[tuple[str, int] | None]],
        clock: Callable[[], float] = time.monotonic,
        margin_s: int = 300,
    ) -> None:
        self.fetch = fetch
        self.clock = clock
        self.margin_s = margin_s
        self._token: str | None = None
        self._valid_until = 0.0
        self._lock = asyncio.Lock()

    async def get(self) -> str | None:
        if self._token is not None and self.clock() < self._valid_until:
            return self._token
        async with self._lock:
            if self._token is not None and self.clock() < self._valid_until:
                return self._token
            fetched = await self.fetch()
            if fetched is None:
                return None
            token, expires_in = fetched
            expires_in = max(1, int(expires_in))
            self._token = token
            self._valid_until = self.clock() + expires_in - min(self.margin_s, expires_in // 5)
            return token

    def invalidate(self, token: str | None = None) -> None:
        """Forget the token (the platform said it is invalid), unless it was renewed."""
        if token is None or token == self._token:
            self._token = None
            self._valid_until = 0.0


# ---------------------------------------------------------------- sending on Rasa's own


class RecipientBook:
    """The platform recipient of each conversation (sender id), as its latest callback
    named it: WeCom's user, Feishu's chat, DingTalk's sessionWebhook. Bounded and in
    memory for one Rasa process; in Redis too (SET EX, read first) when REDIS_URL is
    set, so the instance that serves the console's request finds what another one's
    callback wrote. A recipient is JSON (a tuple comes back as a list)."""

    def __init__(
        self,
        platform: str,
        redis_url: str | None = None,
        ttl_s: int = RECIPIENT_TTL_S,
        limit: int = MAX_RECIPIENTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.platform = platform
        self.clock = clock
        self.ttl_s = max(1, ttl_s)
        self.limit = max(1, limit)
        self._known: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._redis: Any = None
        if redis_url:
            import redis.asyncio as redis_asyncio  # Rasa's lock store already needs redis

            self._redis = redis_asyncio.from_url(redis_url, socket_timeout=2)

    def key(self, sender_id: str) -> str:
        return f"shopmate:recipient:{self.platform}:{sender_id}"

    async def remember(self, sender_id: str, recipient: Any, ttl_s: float | None = None) -> None:
        """`recipient` is where `sender_id`'s messages go for `ttl_s` seconds (the
        book's TTL when None). Never raises."""
        ttl = max(1, int(self.ttl_s if ttl_s is None else min(ttl_s, self.ttl_s)))
        value = json.dumps(recipient, ensure_ascii=False)
        self._known.pop(sender_id, None)
        self._known[sender_id] = (value, self.clock() + ttl)
        while len(self._known) > self.limit:
            self._known.popitem(last=False)
        if self._redis is not None:
            try:
                await self._redis.set(self.key(sender_id), value, ex=ttl)
            except Exception as error:  # noqa: BLE001 - Redis down: this process remembers
                logger.warning(
                    "%s recipients: Redis unavailable (%s)", self.platform, type(error).__name__
                )

    async def recall(self, sender_id: str) -> Any:
        """The recipient remembered for `sender_id`, None when unknown or expired."""
        if self._redis is not None:
            try:
                stored = await self._redis.get(self.key(sender_id))
            except Exception as error:  # noqa: BLE001 - Redis down: what this process knows
                logger.warning(
                    "%s recipients: Redis unavailable (%s)", self.platform, type(error).__name__
                )
            else:
                if stored is not None:
                    try:
                        return json.loads(stored)
                    except ValueError:
                        logger.warning("%s recipients: unreadable entry", self.platform)
        entry = self._known.get(sender_id)
        if entry is None:
            return None
        value, valid_until = entry
        if self.clock() >= valid_until:
            self._known.pop(sender_id, None)
            return None
        return json.loads(value)


Finder = Callable[[str], Awaitable[Any]]


class LatestRecipientMixin:
    """Put first in a connector's output channel's bases. An output made with a finder
    instead of a target (get_output_channel: Rasa sends on its own, naming only the
    conversation) looks up the target of the recipient Rasa names before its first
    message; when there is none, the messages are not sent (the finder logs why)."""

    target: Any = None
    finder: Finder | None = None
    _found_for: str | None = None

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        if self.finder is not None:
            if self._found_for != recipient_id:
                self.target = await self.finder(recipient_id)
                self._found_for = recipient_id
            if self.target is None:
                return
        await super().send_response(recipient_id, message)  # type: ignore[misc]

    async def flush_shopmate(self, recipient_id: str) -> None:
        if self.finder is not None and self.target is None:
            return
        await super().flush_shopmate(recipient_id)  # type: ignore[misc]


# ---------------------------------------------------------------- incoming
@dataclass(frozen=True)
class Inbound:
    """A shopper's message from a verified callback: the conversation it belongs to,
    its text (None: a picture, a voice note, anything the bot cannot read), the
    platform's id for it (dedupe) and where the replies go (platform-specific)."""

    sender_id: str
    text: str | None
    message_id: str
    target: Any = None


@dataclass(frozen=True)
class Verdict:
    """What a callback gets at once: an HTTP status and body, and maybe a message
    to answer in the background."""

    status: int
    body: Any = ""
    message: Inbound | None = None


def not_found() -> HTTPResponse:
    return response.text("not found", status=404)


class ChinaPlatformInput(InputChannel):
    """The skeleton of the three connectors: settings (off when a required variable
    is unset), the edge (size, command syntax, rate limit), callback dedupe, the
    HTTP client and background turns. Subclasses set `platform` and add routes."""

    platform: ClassVar[str] = ""
    label: ClassVar[str] = ""

    @classmethod
    def name(cls) -> str:
        return cls.platform

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        # Secrets come from the environment (addons/settings.py), never from the file.
        return cls()

    def __init__(
        self,
        settings: PlatformSettings | None = None,
        edge: EdgeSettings | None = None,
        http: HttpClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings or platform_settings(self.platform)
        self.edge = edge or EdgeSettings.from_env()
        self.http = http or HttpClient()
        self.clock = clock
        self.limiter = RateLimiter.from_settings(self.edge)
        self.dedupe = CallbackDeduplicator(self.settings.dedupe_ttl_s, self.settings.redis_url)
        self.recipients = RecipientBook(self.platform, self.settings.redis_url)
        self._tasks: set[asyncio.Task[Any]] = set()
        if not self.settings.enabled:
            prefix = self.platform.upper()
            missing = ", ".join(f"{prefix}_{key.upper()}" for key in self.settings.required)
            logger.info("%s channel is off (set %s): its webhook answers 404", self.label, missing)

    @property
    def enabled(self) -> bool:
        return self.settings.enabled

    def new_blueprint(self) -> Blueprint:
        webhook = Blueprint(f"{self.platform}_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"}) if self.enabled else not_found()

        @webhook.listener("after_server_stop")
        async def close_http(*_: Any) -> None:
            await self.http.close()

        return webhook

    def spawn(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run `work` after the callback has been answered; a reference is kept until
        it is done (asyncio keeps only weak ones)."""
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def drain(self) -> None:
        """Wait for the turns still running (tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def claim(self, message_id: str | None) -> bool:
        return await self.dedupe.claim(self.platform, message_id)

    async def run_turn(
        self,
        app: Any,
        on_new_message: OnNewMessage,
        output: Any,
        sender_id: str,
        text: str | None,
    ) -> None:
        """One shopper message through the edge and Rasa; the bot's messages go out
        through `output` as Rasa produces them. `text` None: a message the bot cannot
        read (a picture, a voice note). Never raises."""
        try:
            responses = domain_responses(app)
            if text is None or not text.strip():
                await output.send_text_message(
                    sender_id, render_response(responses, UNREADABLE_RESPONSE, "zh")
                )
                return
            refusal = check_text(text, sender_id, self.edge)
            if refusal is not None and refusal.response:
                await output.send_text_message(
                    sender_id, render_response(responses, refusal.response, refusal.language)
                )
                return
            if not await self.limiter.allow(sender_id, None):
                await output.send_text_message(
                    sender_id,
                    render_response(responses, RATE_LIMITED_RESPONSE, guess_language(text)),
                )
                return
            text = await self.resolve_choice(app, sender_id, text)
            text = await plain_text(app, sender_id, text)
            # A platform's signature proves only which platform user wrote: a guest.
            # No metadata, so nothing can pass for a shopper's signed token.
            await on_new_message(
                UserMessage(text, output, sender_id, input_channel=self.name(), metadata=None)
            )
            await output.flush_shopmate(sender_id)
        except asyncio.CancelledError:
            logger.error("%s: message handling cancelled", self.platform)
            raise
        except Exception as error:  # noqa: BLE001 - logged by type, the next message works
            logger.error("%s: message handling failed: %s", self.platform, type(error).__name__)

    def output_for(self, message: Inbound) -> Any:
        """The output channel that sends the replies to `message` (its target)."""
        raise NotImplementedError

    def recipient_of(self, message: Inbound) -> tuple[Any, float | None]:
        """What `recipients` keeps for `message`'s conversation, for the output of
        get_output_channel (each connector's: Rasa's own messages, output_channel=
        latest), and for how many seconds (None: the book's TTL; (None, None): keep
        nothing)."""
        return message.target, None

    async def handle(self, app: Any, on_new_message: OnNewMessage, message: Inbound) -> None:
        """A claimed message, after its callback was answered: its recipient is
        remembered, then the turn runs."""
        recipient, ttl_s = self.recipient_of(message)
        if recipient is not None:
            await self.recipients.remember(message.sender_id, recipient, ttl_s)
        await self.run_turn(
            app, on_new_message, self.output_for(message), message.sender_id, message.text
        )

    async def answer(
        self, request: Request, verdict: Verdict, on_new_message: OnNewMessage
    ) -> HTTPResponse:
        """Answer a checked callback at once; its message, claimed once by its id,
        is answered in the background."""
        message = verdict.message
        if message is not None:
            if await self.claim(message.message_id):
                self.spawn(self.handle(request.app, on_new_message, message))
            else:
                logger.info("%s: a retried callback was dropped", self.platform)
        if isinstance(verdict.body, (dict, list)):
            return response.json(verdict.body, status=verdict.status)
        return response.text(str(verdict.body), status=verdict.status)

    async def resolve_choice(self, app: Any, sender_id: str, text: str) -> str:
        """The text to give Rasa for `text` (platforms that show numbered choices map
        a number back to the button's payload here)."""
        return text
