"""The edge of every channel: what a message must be before Rasa spends any work on it.

Everything here runs before the NLU pipeline, so one stranger's request costs
microseconds, not the tokenizer, featurizers and DIET (a 100 KB message used to grow
Rasa to 22 GB). No Rasa imports: the channels in addons/channels.py apply it, and the
tests run it in either environment.

- Size: the HTTP body and the text are bounded; an over-long message is answered
  with the domain's `utter_message_too_long` in the shopper's language and never
  parsed further. The body beyond the limit is read and dropped, never kept.
- Shape: a body that is not a JSON object with a text message is a 400 with a bare
  reason; metadata that is not an object is dropped, the message is still answered.
- Commands: Rasa obeys text such as `/restart` or `/inform{"order_id": ...}`. A
  message starting with `/` is plain text unless it is the payload of a button the
  bot offered in its last turn in that conversation.
- Metadata: only the keys ShopMate uses pass (the customer token), as short strings.
- Sessions: a widget conversation id is bound to a token signed by the shop page's
  server (SESSION_SECRET), so knowing someone's session id is not enough to join it.
- Rate limits per conversation and per client address.

EdgeSettings (addons/settings.py, where the Rasa-side runtime reads its environment).
"""

from __future__ import annotations

import fnmatch
import json
import logging
import re
import time
from collections import OrderedDict, defaultdict, deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from addons.language import detect_language
from addons.settings import EdgeSettings, csv_values
from shopmate import payloads as rich_messages

logger = logging.getLogger(__name__)

TOO_LONG_RESPONSE = "utter_message_too_long"
RATE_LIMITED_RESPONSE = "utter_rate_limited"
UNREADABLE_RESPONSE = "utter_message_unreadable"
DEFAULT_LANGUAGE = "zh"  # the store's first language (the `language` slot's initial value)

# Metadata keys a client may send, with the longest value accepted.
# customer_token: the shop server's signed token; page_product: the product page the
# widget is on (a product code; the actions check it against the catalog).
ALLOWED_METADATA = {"customer_token": 2048, "page_product": 16}
SENDER_ID = re.compile(r"[A-Za-z0-9_.:@\-]{1,128}")
COMMAND_PREFIX = "/"
# What a refused command becomes: the same text, with a slash Rasa does not act on.
NEUTRAL_PREFIX = "\uff0f"  # FULLWIDTH SOLIDUS


# ---------------------------------------------------------------- languages, answers


def origin_allowed(
    origin: str | None, patterns: Iterable[str], own_origin: str | None = None
) -> bool:
    """A browser's Origin against SHOP_ORIGINS (`*` matches a port or a subdomain).
    No Origin at all is not a browser page, and Rasa's own address is not another
    site, so cross-site rules do not apply to either."""
    if origin is None:
        return True
    patterns = list(patterns)
    # A client that adds its own Origin to a library's default sends both: all must pass.
    return all(
        one == own_origin or any(fnmatch.fnmatchcase(one, pattern) for pattern in patterns)
        for one in (part.strip() for part in origin.split(","))
    )


def guess_language(text: str) -> str:
    """The shopper's language from the start of a message (never the whole of it)."""
    return detect_language(text[:300]) or DEFAULT_LANGUAGE


def render_response(responses: Mapping[str, Any], name: str, language: str, **values: Any) -> str:
    """The text of the domain response `name` in `language` (its slot condition)."""
    variations = list(responses.get(name) or [])
    chosen = None
    for variation in variations:
        conditions = variation.get("condition") or []
        if any(c.get("name") == "language" and c.get("value") == language for c in conditions):
            chosen = variation
            break
    if chosen is None and variations:
        chosen = variations[0]
    text = str((chosen or {}).get("text") or name)
    for key, value in values.items():
        text = text.replace("{" + key + "}", str(value))
    return text


# ---------------------------------------------------------------- request shapes


@dataclass(frozen=True)
class ShopperMessage:
    """A message that passed the edge: what Rasa is given."""

    sender_id: str
    text: str
    metadata: dict[str, Any]


@dataclass(frozen=True)
class Refusal:
    """A message the edge answered itself. `response` is a domain response for the
    shopper; without one, `reason` is a bare HTTP 400 for a malformed request."""

    reason: str
    response: str | None = None
    language: str = DEFAULT_LANGUAGE
    sender_id: str | None = None


def clean_metadata(metadata: Any) -> dict[str, Any]:
    """Only the keys ShopMate reads, as short strings; anything else is dropped."""
    if not isinstance(metadata, dict):
        return {}
    kept: dict[str, Any] = {}
    for key, limit in ALLOWED_METADATA.items():
        value = metadata.get(key)
        if isinstance(value, str) and 0 < len(value) <= limit:
            kept[key] = value
    return kept


def check_text(text: str, sender_id: str, settings: EdgeSettings) -> Refusal | None:
    if len(text) > settings.max_message_chars:
        return Refusal("too_long", TOO_LONG_RESPONSE, guess_language(text), sender_id)
    return None


def read_rest_body(
    body: bytes, truncated: bool, settings: EdgeSettings
) -> ShopperMessage | Refusal:
    """The REST webhook's body, at most `max_body_bytes` of it (`truncated` says more came)."""
    if truncated:
        prefix = body[:1024].decode("utf-8", errors="ignore")
        sender = re.search(rf'"sender"\s*:\s*"({SENDER_ID.pattern})"', prefix)
        text = prefix.split('"message"', 1)[-1]
        return Refusal(
            "too_long",
            TOO_LONG_RESPONSE,
            guess_language(_unescape_json_fragment(text)),
            sender.group(1) if sender else None,
        )
    try:
        data = json.loads(body or b"")
    except (ValueError, UnicodeDecodeError, RecursionError):
        # RecursionError: JSON nested thousands deep.
        return Refusal("body is not JSON")
    if not isinstance(data, dict):
        return Refusal("body must be a JSON object")
    sender_id, text = data.get("sender"), data.get("message")
    if not isinstance(sender_id, str) or not SENDER_ID.fullmatch(sender_id):
        return Refusal("sender must be 1-128 letters, digits or _.:@-")
    if not isinstance(text, str) or not text.strip():
        return Refusal("message must be a non-empty string")
    refusal = check_text(text, sender_id, settings)
    if refusal is not None:
        return refusal
    return ShopperMessage(sender_id, text, clean_metadata(data.get("metadata")))


def _unescape_json_fragment(fragment: str) -> str:
    """Best-effort text of a cut JSON string ("\\u4f60" escapes included)."""
    match = re.search(r'"((?:[^"\\]|\\.)*)', fragment)
    raw = match.group(1) if match else fragment
    try:
        return str(json.loads(f'"{raw[:600].rstrip(chr(92))}"'))
    except ValueError:
        return raw


# ---------------------------------------------------------------- commands


def offered_buttons(events: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    """The buttons of the bot's messages since the shopper's last message, in the order
    they were sent (Rasa's buttons and quick replies, and those of ShopMate's cards):
    what a pressed button or a numbered choice may stand for."""
    tail: list[Mapping[str, Any]] = []
    for event in reversed(list(events)):
        kind = event.get("event")
        if kind == "user":
            break
        if kind == "bot":
            tail.append(event.get("data") or {})
    buttons: list[dict[str, str]] = []
    for data in reversed(tail):
        rich = rich_messages.extract(data.get("custom"))
        for button in [
            *(data.get("buttons") or []),
            *(data.get("quick_replies") or []),
            *(rich_messages.buttons_of(rich) if rich else []),
        ]:
            if isinstance(button, dict) and isinstance(button.get("payload"), str):
                buttons.append(
                    {"title": str(button.get("title", "")), "payload": button["payload"]}
                )
    return buttons


def payloads_of(buttons: Iterable[Mapping[str, str]]) -> set[str]:
    """The payloads of `buttons`, as a shopper's command is compared with them."""
    return {button["payload"].strip() for button in buttons}


def offered_payloads(events: Iterable[Mapping[str, Any]]) -> set[str]:
    """Button payloads of the bot's messages since the shopper's last message."""
    return payloads_of(offered_buttons(events))


def is_command(text: str) -> bool:
    return text.strip().startswith(COMMAND_PREFIX)


def neutralise_command(text: str, payloads: set[str]) -> str:
    """`text`, unless it is a command the bot did not offer: then plain text."""
    stripped = text.strip()
    if not stripped.startswith(COMMAND_PREFIX) or stripped in payloads:
        return text
    return NEUTRAL_PREFIX + stripped[len(COMMAND_PREFIX) :]


# ---------------------------------------------------------------- rate limits


def parse_rates(spec: str) -> list[tuple[int, int]]:
    """ "5/1,60/60" → [(5 hits, per 1 s), (60 hits, per 60 s)]; "" → no limit."""
    rates = []
    for part in csv_values(spec):
        hits, _, seconds = part.partition("/")
        rates.append((int(hits), int(seconds or 1)))
    return rates


class Counter(Protocol):
    async def hit(self, key: str, window_s: int) -> int:
        """Count one hit of `key` in its current window; the count so far."""


@dataclass
class MemoryCounter:
    """Sliding-window counts in this process (one Rasa process)."""

    clock: Callable[[], float] = time.monotonic
    hits: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))

    async def hit(self, key: str, window_s: int) -> int:
        now = self.clock()
        times = self.hits[key]
        while times and times[0] <= now - window_s:
            times.popleft()
        times.append(now)
        if len(self.hits) > 100_000:
            # Bounded memory under a flood of new keys: forget idle ones.
            for idle in [k for k, v in self.hits.items() if not v or v[-1] <= now - 3600]:
                del self.hits[idle]
        return len(times)


@dataclass
class Outage:
    """A dependency seen failing: believed down for `retry_s`, then tried again, so a
    dead Redis costs one failed call per `retry_s`, not one per message."""

    retry_s: float = 5.0
    clock: Callable[[], float] = time.monotonic
    down_since: float | None = None

    def is_down(self) -> bool:
        return self.down_since is not None and self.clock() - self.down_since < self.retry_s

    def mark_down(self) -> bool:
        """True when this is news (it was up): the caller logs it once."""
        news = self.down_since is None
        self.down_since = self.clock()
        return news

    def mark_up(self) -> bool:
        news = self.down_since is not None
        self.down_since = None
        return news


def shared_redis(url: str) -> Any:
    """An asyncio Redis client for what the instances share. Short timeouts: a hung
    Redis must not hold a shopper's message."""
    from redis import asyncio as aioredis

    return aioredis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)


async def once_more_on_fresh_connections(client: Any, command: Callable[[], Awaitable[Any]]) -> Any:
    """Run `command`; if the connection fails, drop the pool and run it once more.
    After Redis restarts every pooled connection is dead, and each would otherwise
    fail one command and count as an outage."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    try:
        return await command()
    except RedisConnectionError:
        await client.connection_pool.disconnect()
        return await command()


@dataclass
class RedisCounter:
    """Fixed-window counts shared by every Rasa instance (REDIS_URL)."""

    url: str
    _client: Any = None

    async def hit(self, key: str, window_s: int) -> int:
        if self._client is None:
            self._client = shared_redis(self.url)
        bucket = f"shopmate:rate:{key}:{window_s}:{int(time.time() // window_s)}"
        client = self._client

        async def count() -> Any:
            pipe = client.pipeline()
            pipe.incr(bucket)
            pipe.expire(bucket, window_s + 1)
            return await pipe.execute()

        hits, _ = await once_more_on_fresh_connections(client, count)
        return int(hits)


@dataclass
class FailoverCounter:
    """Shared counts (Redis) while they can be had, this process's own while not: with
    Redis down each instance still limits what it sees, nginx still limits per
    address, and nobody is refused because a counter is unreachable."""

    shared: Counter
    local: Counter = field(default_factory=MemoryCounter)
    outage: Outage = field(default_factory=Outage)

    async def hit(self, key: str, window_s: int) -> int:
        if not self.outage.is_down():
            try:
                count = await self.shared.hit(key, window_s)
            except Exception as error:  # noqa: BLE001 - any Redis failure: count locally
                if self.outage.mark_down():
                    logger.warning(
                        "edge: shared rate limits unreachable (%s); limiting per instance",
                        type(error).__name__,
                    )
            else:
                if self.outage.mark_up():
                    logger.warning("edge: shared rate limits are back")
                return count
        return await self.local.hit(key, window_s)


MESSAGE_ID = re.compile(r"[A-Za-z0-9_\-]{8,64}")


def message_id_from(value: Any) -> str | None:
    """A client's id for a message (nginx's X-Request-ID, the widget's message_id), or
    None if it is not one: an id only ever names a message within its conversation."""
    return value if isinstance(value, str) and MESSAGE_ID.fullmatch(value) else None


@dataclass
class TurnLedger:
    """Which messages some instance has begun to handle, shared through Redis.

    nginx sends a message again to the other instance when the first died while
    handling it, with the same X-Request-ID; a widget re-sends an unanswered message
    after reconnecting, with the same message_id. The first attempt claims the id
    (SET NX, one round trip); a later one finds it claimed and the channel looks in
    the tracker store: if the turn was stored, its reply is sent again, else the
    message is handled (the first attempt died before storing anything). Without
    Redis (one instance, or Redis down) the claims are this process's own.
    """

    url: str | None
    ttl_s: int = 600
    outage: Outage = field(default_factory=Outage)
    clock: Callable[[], float] = time.monotonic
    max_local: int = 100_000
    _client: Any = None
    # This process's own claims: all there is with one instance, and what is left
    # while Redis is down.
    _local: OrderedDict[str, float] = field(default_factory=OrderedDict)

    async def first_attempt(self, conversation: str, message_id: str | None) -> bool:
        if not message_id:
            return True
        key = f"shopmate:turn:{conversation}:{message_id}"
        if self.url and not self.outage.is_down():
            claimed = await self._claim_shared(key)
            if claimed is not None:
                return claimed
        return self._claim_local(key)

    async def _claim_shared(self, key: str) -> bool | None:
        if self._client is None:
            self._client = shared_redis(self.url)
        try:
            client = self._client
            claimed = await once_more_on_fresh_connections(
                client, lambda: client.set(key, "1", nx=True, ex=self.ttl_s)
            )
        except Exception as error:  # noqa: BLE001 - Redis down: this process's claims
            if self.outage.mark_down():
                logger.warning("edge: turn ledger unreachable (%s)", type(error).__name__)
            return None
        self.outage.mark_up()
        return bool(claimed)

    def _claim_local(self, key: str) -> bool:
        now = self.clock()
        while self._local and (
            len(self._local) > self.max_local or next(iter(self._local.values())) < now
        ):
            self._local.popitem(last=False)
        if key in self._local:
            return False
        self._local[key] = now + self.ttl_s
        return True


@dataclass
class RateLimiter:
    """Per-conversation and per-address limits; a refused hit does nothing else."""

    per_conversation: list[tuple[int, int]]
    per_address: list[tuple[int, int]]
    counter: Counter

    @classmethod
    def from_settings(cls, settings: EdgeSettings) -> RateLimiter:
        counter: Counter = (
            FailoverCounter(RedisCounter(settings.redis_url))
            if settings.redis_url
            else MemoryCounter()
        )
        return cls(
            parse_rates(settings.rate_per_conversation),
            parse_rates(settings.rate_per_address),
            counter,
        )

    async def allow(self, conversation: str | None, address: str | None) -> bool:
        checks = []
        if conversation:
            checks += [(f"c:{conversation}", rate) for rate in self.per_conversation]
        if address:
            checks += [(f"a:{address}", rate) for rate in self.per_address]
        allowed = True
        for key, (hits, window) in checks:
            try:
                # One count per window: a 1 s window must not forget the minute's hits.
                count = await self.counter.hit(f"{key}/{window}", window)
            except Exception:  # noqa: BLE001 - a limiter that is down must not stop the shop
                return True
            if count > hits:
                allowed = False
        return allowed
