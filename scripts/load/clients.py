"""How a virtual shopper talks to the bot: Rasa's REST channel or its Socket.IO channel.

REST (httpx, async): one POST per message, the reply is the JSON list of the bot's
messages, complete when the response is; latency is the POST's round trip.

Socket.IO (python-socketio's AsyncClient over the websocket transport, as the widget):
the client gets a conversation id and a session token signed with SESSION_SECRET (what
the shop page's server does, shopmate.sessions.SessionTokens), sends `session_request`,
waits for `session_confirm`, then sends `user_uttered` and collects `bot_uttered`
events. The protocol has no end-of-reply marker: Rasa emits each action's messages as
the action finishes. **A reply is judged complete after a quiet period with no further
`bot_uttered`**, counted from the last message; its length is half the time the first
message took (the gaps between the actions of one turn grow with the load, as that
time does), at least 0.25 s and at most 2 s (QuietPolicy). The turn's latency is the
time to the *last* message of the reply, so the quiet period is not in it (REST's
figure is also to the last message); the time to the first message is kept beside it.
What the quiet period costs is throughput: a Socket.IO shopper waits it out before the
next message (it is the shopper's only think time), so in a closed loop it offers less
load than a REST shopper. A message of the reply that comes after the quiet period is
counted in the next turn (its check then usually fails, e.g. the cards are missing);
`gap_max_s` of each reply shows how close the gaps come to the quiet period, and the
run counts the replies whose longest gap took more than half of it. Measured on the
2-core machine (2026-12-04): unloaded, the gaps within a reply are under 60 ms; at 20
concurrent shoppers the longest reached 0.93 s while first messages took ~2 s (quiet
~1 s), so a fixed 0.25 s would have cut replies in two under load.

After a disconnect the AsyncClient reconnects by itself; the client then sends
`session_request` again and, once confirmed, re-sends a message that got no reply yet
(`Reply.resent`); the latency still counts from the first send.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from shopmate.sessions import SessionTokens

REST_PATH = "/webhooks/rest/webhook"
SOCKETIO_PATH = "/socket.io"


@dataclass
class Reply:
    """What came back for one message."""

    messages: list[dict[str, Any]]
    latency_s: float
    status: int = 200  # HTTP status (REST); 200 for a Socket.IO reply
    error: str | None = None  # transport failure: "timeout", "connection", "http 500", ...
    detail: str = ""
    first_s: float | None = None  # Socket.IO: time to the first message
    gap_max_s: float = 0.0  # Socket.IO: the longest gap between two messages of the reply
    resent: int = 0


@dataclass(frozen=True)
class QuietPolicy:
    """How long a Socket.IO reply must stay quiet to be judged complete."""

    min_s: float = 0.25
    factor: float = 0.5
    max_s: float = 2.0

    def quiet_for(self, first_s: float) -> float:
        return min(self.max_s, max(self.min_s, self.factor * first_s))


class RestClient:
    """The REST channel of one bot, shared by all the shoppers of a run."""

    def __init__(
        self, base_url: str, token: str | None, timeout_s: float = 30.0, connections: int = 100
    ) -> None:
        self.url = base_url.rstrip("/") + REST_PATH
        self.token = token
        self.timeout_s = timeout_s
        self.http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s),
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    async def post(
        self, body: bytes | dict[str, Any], token: str | bool | None = True
    ) -> httpx.Response:
        """POST a body (a dict as JSON, bytes as they are); token True: the client's."""
        bearer = self.token if token is True else token or None
        headers = {"Content-Type": "application/json"}
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return await self.http.post(self.url, content=data, headers=headers)

    async def send(self, sender: str, text: str, metadata: dict[str, Any] | None = None) -> Reply:
        body: dict[str, Any] = {"sender": sender, "message": text}
        if metadata is not None:
            body["metadata"] = metadata
        start = time.perf_counter()
        try:
            response = await self.post(body)
        except httpx.TimeoutException:
            return Reply(
                [], time.perf_counter() - start, 0, "timeout", f"no reply in {self.timeout_s}s"
            )
        except httpx.HTTPError as error:
            return Reply([], time.perf_counter() - start, 0, "connection", type(error).__name__)
        elapsed = time.perf_counter() - start
        if response.status_code != 200:
            return Reply(
                [],
                elapsed,
                response.status_code,
                f"http {response.status_code}",
                response.text[:200],
            )
        try:
            messages = response.json()
        except ValueError:
            return Reply([], elapsed, 200, "bad json", response.text[:200])
        if not isinstance(messages, list):
            return Reply([], elapsed, 200, "bad json", response.text[:200])
        return Reply([m for m in messages if isinstance(m, dict)], elapsed)

    def conversation(self, sender: str) -> RestConversation:
        return RestConversation(self, sender)


@dataclass
class RestConversation:
    client: RestClient
    sender: str

    async def open(self) -> float:
        return 0.0

    async def say(self, text: str, metadata: dict[str, Any] | None = None) -> Reply:
        return await self.client.send(self.sender, text, metadata)

    async def close(self) -> None:
        return None


@dataclass
class SocketStats:
    """Socket.IO events of a run that are no turn's: connections, drops, strays."""

    connect_s: list[float] = field(default_factory=list)
    connect_errors: int = 0
    disconnects: int = 0  # dropped by the server or the network, not closed by us
    reconnects: int = 0
    strays: int = 0  # bot messages that came while no message was waiting for a reply
    gaps_s: list[float] = field(default_factory=list)
    # Replies whose longest gap took more than half the quiet period they were given:
    # how near the rule came to cutting a reply in two.
    close_calls: int = 0


class SocketIOConversation:
    """One widget conversation: a socket, a signed session, messages and their replies."""

    def __init__(
        self,
        base_url: str,
        session_secret: str,
        *,
        quiet: QuietPolicy | None = None,
        timeout_s: float = 30.0,
        stats: SocketStats | None = None,
        socketio_path: str = SOCKETIO_PATH,
    ) -> None:
        import socketio  # python-socketio[asyncio_client]: needs aiohttp

        self.url = base_url.rstrip("/")
        self.path = socketio_path
        self.session_id, self.session_token = SessionTokens(session_secret).issue()
        self.quiet = quiet or QuietPolicy()
        self.timeout_s = timeout_s
        self.stats = stats or SocketStats()
        self.sio = socketio.AsyncClient(
            reconnection=True,
            reconnection_attempts=5,
            reconnection_delay=0.2,
            reconnection_delay_max=1.0,
        )
        self._confirmed = asyncio.Event()
        self._session_answered = asyncio.Event()  # confirmed or rejected
        self._arrived = asyncio.Event()
        self._rejected: str | None = None
        self._pending: dict[str, Any] | None = None
        self._arrivals: list[tuple[float, dict[str, Any]]] = []
        self._dropped = False
        self._closing = False
        self._resent = 0
        self.sio.on("connect", self._on_connect)
        self.sio.on("disconnect", self._on_disconnect)
        self.sio.on("session_confirm", self._on_confirm)
        self.sio.on("session_rejected", self._on_rejected)
        self.sio.on("bot_uttered", self._on_bot_uttered)

    @property
    def sender(self) -> str:
        return self.session_id

    async def _on_connect(self) -> None:
        await self.sio.emit(
            "session_request",
            {"session_id": self.session_id, "session_token": self.session_token},
        )

    async def _on_disconnect(self, *_: Any) -> None:
        self._confirmed.clear()
        if not self._closing:  # not our own goodbye
            self._dropped = True
            self.stats.disconnects += 1

    async def _on_confirm(self, _: Any) -> None:
        self._confirmed.set()
        self._session_answered.set()
        if self._dropped:
            self._dropped = False
            self.stats.reconnects += 1
            if self._pending is not None and not self._arrivals:
                self._resent += 1
                await self.sio.emit("user_uttered", self._pending)

    async def _on_rejected(self, data: Any) -> None:
        self._rejected = str(data)[:200]
        self._session_answered.set()
        self._arrived.set()

    async def _on_bot_uttered(self, data: Any) -> None:
        if self._pending is None:
            self.stats.strays += 1
            return
        self._arrivals.append((time.perf_counter(), data if isinstance(data, dict) else {}))
        self._arrived.set()

    async def open(self) -> float:
        """Connect and join the conversation; seconds it took."""
        start = time.perf_counter()
        try:
            await asyncio.wait_for(
                self.sio.connect(
                    self.url,
                    transports=["websocket"],
                    socketio_path=self.path,
                    wait_timeout=self.timeout_s,  # the namespace's answer; 1 s by default
                ),
                self.timeout_s,
            )
            await asyncio.wait_for(self._session_answered.wait(), self.timeout_s)
            if self._rejected:
                raise ConnectionRefusedError(f"session rejected: {self._rejected}")
        except Exception:
            self.stats.connect_errors += 1
            await self.close()
            raise
        elapsed = time.perf_counter() - start
        self.stats.connect_s.append(elapsed)
        return elapsed

    async def _wait_arrival(self, until: float) -> bool:
        """Wait for a bot message (or a rejection) until `until`; False on time out."""
        remaining = until - time.perf_counter()
        if remaining <= 0:
            return False
        try:
            await asyncio.wait_for(self._arrived.wait(), remaining)
        except TimeoutError:
            return False
        return True

    async def say(self, text: str, metadata: dict[str, Any] | None = None) -> Reply:
        message: dict[str, Any] = {"message": text, "session_id": self.session_id}
        if metadata is not None:
            message["metadata"] = metadata
        self._arrivals, self._resent, self._rejected = [], 0, None
        self._arrived.clear()
        start = time.perf_counter()
        deadline = start + self.timeout_s
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._confirmed.wait(), self.timeout_s)
            self._pending = message
            if self._confirmed.is_set():
                await self.sio.emit("user_uttered", message)
            # else: sent by _on_confirm once the reconnected socket is confirmed
            while not self._arrivals and self._rejected is None:
                self._arrived.clear()
                if not await self._wait_arrival(deadline):
                    return Reply(
                        [],
                        time.perf_counter() - start,
                        0,
                        "timeout",
                        f"no bot_uttered in {self.timeout_s}s",
                        resent=self._resent,
                    )
            if self._rejected is not None:
                return Reply([], time.perf_counter() - start, 0, "session rejected", self._rejected)
            first = self._arrivals[0][0] - start
            quiet = self.quiet.quiet_for(first)
            while True:
                seen = len(self._arrivals)
                self._arrived.clear()
                last = self._arrivals[-1][0]
                arrived = await self._wait_arrival(min(deadline, last + quiet))
                if not arrived and len(self._arrivals) == seen:
                    break
        finally:
            self._pending = None
        times = [moment for moment, _ in self._arrivals]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        gap_max = max(gaps, default=0.0)
        self.stats.gaps_s.append(gap_max)
        if gap_max > quiet / 2:
            self.stats.close_calls += 1
        return Reply(
            [message for _, message in self._arrivals],
            times[-1] - start,
            first_s=first,
            gap_max_s=gap_max,
            resent=self._resent,
        )

    async def close(self) -> None:
        self._closing = True
        with contextlib.suppress(Exception):
            await self.sio.disconnect()
