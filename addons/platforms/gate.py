"""What the Telegram, Slack and Messenger connectors share before a callback reaches
Rasa: the "off" blueprint, bounded body reading, the edge's checks and rate limit,
callback dedupe, command neutralising against the payloads the bot offered, and
background turns for platforms that want a fast 200."""

from __future__ import annotations

import asyncio
import json
import logging
from asyncio import CancelledError
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from addons.channels import domain_responses, plain_text
from addons.edge import (
    DEFAULT_LANGUAGE,
    RATE_LIMITED_RESPONSE,
    EdgeSettings,
    RateLimiter,
    check_text,
    guess_language,
    render_response,
)
from addons.platforms.dedupe import CallbackDeduplicator
from addons.settings import PLATFORMS, PlatformSettings
from shopmate import payloads

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]

# A platform's callback is small (a Slack interaction carries the message it came
# from, a carousel of blocks at most); anything bigger is refused unread.
MAX_CALLBACK_BYTES = 256 * 1024


def off_blueprint(platform: str, blueprint_name: str) -> Blueprint:
    """The webhook of a platform that is not configured: 404 for everything."""
    prefix, _, required, _ = PLATFORMS[platform]
    names = ", ".join(f"{prefix}_{key.upper()}" for key in required)
    logger.info("%s channel is off (set %s to turn it on)", platform, names)
    off = Blueprint(blueprint_name, __name__)

    @off.route("/", methods=["GET", "POST"])
    @off.route("/webhook", methods=["GET", "POST"])
    async def not_found(_: Request) -> HTTPResponse:
        return response.json({"error": "not found"}, status=404)

    return off


async def read_body(request: Request, limit: int = MAX_CALLBACK_BYTES) -> bytes | None:
    """The body of a `stream=True` route, or None when it is over `limit` (the rest
    is read and dropped, never kept)."""
    kept = bytearray()
    over = False
    while True:
        chunk = await request.stream.read()
        if chunk is None:
            break
        if len(kept) + len(chunk) > limit:
            over = True
        elif not over:
            kept += chunk
    return None if over else bytes(kept)


def json_object(body: bytes) -> dict[str, Any] | None:
    """`body` as a JSON object, or None (not JSON, not an object, nested too deep)."""
    try:
        data = json.loads(body or b"")
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def chosen_payload(value: str, offered: set[str]) -> str | None:
    """What a pressed button means: the offered payload it carries (itself or as
    its short id), or None for a stale or forged button."""
    value = value.strip()
    if value in offered:
        return value
    return payloads.resolve_button_id(value, offered)


class PlatformGate:
    """What a platform's message passes before Rasa sees it, and the turn itself:
    callback dedupe, the edge's text checks and rate limit, command syntax, and the
    end of the turn (ShopMate's collected cards flushed, failures logged)."""

    def __init__(
        self,
        settings: PlatformSettings,
        edge: EdgeSettings | None = None,
        channel: str | None = None,
    ) -> None:
        self.platform = settings.name
        # Rasa's name of the input channel (Messenger's is "facebook"): the tracker's
        # latest input channel, through which an agent's replies reach the shopper.
        self.channel = channel or settings.name
        self.edge = edge or EdgeSettings.from_env()
        self.limiter = RateLimiter.from_settings(self.edge)
        self.dedupe = CallbackDeduplicator(settings.dedupe_ttl_s, settings.redis_url)
        self._tasks: set[asyncio.Task[Any]] = set()

    async def first_time(self, callback_id: str) -> bool:
        fresh = await self.dedupe.claim(self.platform, callback_id)
        if not fresh:
            logger.info("%s: a retried callback was dropped", self.platform)
        return fresh

    async def say(self, app: Any, output: Any, sender_id: str, name: str, language: str) -> None:
        """Send the domain's response `name` (the edge's own answers)."""
        text = render_response(domain_responses(app), name, language)
        try:
            await output.send_text_message(sender_id, text)
        except Exception as error:  # noqa: BLE001 - the platform is down: nothing to say
            logger.error("%s: reply failed: %s", self.platform, type(error).__name__)

    async def refused(self, app: Any, output: Any, sender_id: str, text: str) -> bool:
        """Answer an over-long or too frequent message here; True when it was."""
        refusal = check_text(text, sender_id, self.edge)
        if refusal is not None and refusal.response:
            await self.say(app, output, sender_id, refusal.response, refusal.language)
            return True
        if not await self.limiter.allow(f"{self.platform}:{sender_id}", None):
            await self.say(app, output, sender_id, RATE_LIMITED_RESPONSE, guess_language(text))
            return True
        return False

    async def language(self, app: Any, sender_id: str) -> str:
        """The conversation's `language` slot (the store's first language before any)."""
        agent = getattr(getattr(app, "ctx", None), "agent", None)
        store = getattr(agent, "tracker_store", None)
        try:
            tracker = await store.retrieve(sender_id) if store is not None else None
        except Exception:  # noqa: BLE001 - unreadable store: the default language
            tracker = None
        value = tracker.get_slot("language") if tracker is not None else None
        return value if value in ("zh", "en") else DEFAULT_LANGUAGE

    async def turn(self, on_new_message: OnNewMessage, message: UserMessage) -> None:
        """One shopper message through Rasa; the output's pending cards at the end."""
        try:
            await on_new_message(message)
        except CancelledError:
            logger.error("%s: message handling timed out", self.platform)
        except Exception as error:  # noqa: BLE001 - the shopper got what was said so far
            logger.error("%s: message handling failed: %s", self.platform, type(error).__name__)
        finally:
            flush = getattr(message.output_channel, "flush_shopmate", None)
            if flush is not None:
                try:
                    await flush(message.sender_id)
                except Exception as error:  # noqa: BLE001
                    logger.error(
                        "%s: sending cards failed: %s", self.platform, type(error).__name__
                    )

    async def handle(
        self,
        app: Any,
        on_new_message: OnNewMessage,
        output: Any,
        sender_id: str,
        text: str,
        trusted: bool = False,
    ) -> None:
        """The edge, then the turn. `trusted`: `text` is a payload the bot offered."""
        if await self.refused(app, output, sender_id, text):
            return
        if not trusted:
            text = await plain_text(app, sender_id, text)
        message = UserMessage(text, output, sender_id, input_channel=self.channel, metadata=None)
        await self.turn(on_new_message, message)

    def in_background(self, work: Awaitable[Any]) -> None:
        """Run `work` after the webhook has answered (Slack wants an answer in 3 s)."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
