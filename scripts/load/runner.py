"""A closed-loop load run: `concurrency` virtual shoppers replay flows back to back (think
time 0: the next message goes as soon as the reply is judged complete) for warm-up +
`duration_s`, then each finishes the turn it is in and stops.

Each conversation is new (a new REST sender id; a new socket and signed session for
Socket.IO). With transport "mixed", even shoppers use REST and odd ones Socket.IO.
Shopper i starts at flow i and goes round the list, so every flow meets both transports.

Abuse (optional, AbuseConfig) runs beside the shoppers through the REST channel, at
fixed rates (an open loop: it does not wait for replies): oversized bodies (100 KB of
Chinese, 1 MB of English), malformed JSON, requests without the channel token, and a
flood on one conversation faster than the per-conversation limit. It is counted apart
from the shoppers' turns; each request must be refused politely (a 4xx, or a 200 whose
reply is one of the edge's refusal texts); the flood's messages within the limit may be
answered, the rest must be refused. Whether the shoppers were harmed is judged by
comparing their error rate with a run without abuse (scripts/bench_load.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import secrets
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from scripts.load.clients import (
    QuietPolicy,
    Reply,
    RestClient,
    SocketIOConversation,
    SocketStats,
)
from scripts.load.flows import (
    SCENARIO_ORDERS,
    Flow,
    check_reply,
    click_payload,
    message_text,
    texts,
)
from scripts.load.stats import (
    PidSource,
    RssSampler,
    Turn,
    Window,
    latency_summary,
    percentile,
    summarise_turns,
)

Transport = Literal["rest", "socketio", "mixed"]
FLOOD_TEXTS = ("谢谢", "thanks")


@dataclass(frozen=True)
class Target:
    """A bot to load: REST at base_url/webhooks/rest/webhook, Socket.IO at base_url."""

    name: str
    base_url: str
    rest_token: str | None = None
    session_secret: str | None = None
    customer_token_secret: str | None = None
    orders: Mapping[int, Sequence[str]] = field(default_factory=lambda: dict(SCENARIO_ORDERS))
    refusals: frozenset[str] = frozenset()  # the edge's polite refusal texts
    pids: PidSource | None = None  # program name -> pid, for RSS
    socketio_path: str = "/socket.io"


@dataclass(frozen=True)
class AbuseConfig:
    """Requests per second of each kind of abuse (0 = off)."""

    oversized_100kb_per_s: float = 0.5
    oversized_1mb_per_s: float = 0.2
    malformed_per_s: float = 1.0
    unauthenticated_per_s: float = 1.0
    flood_per_s: float = 20.0  # on one conversation; the bench allows 10/s and 60/min
    max_in_flight: int = 200  # the flood's accepted messages queue on their conversation


@dataclass
class LoadResult:
    target: str
    transport: str
    concurrency: int
    duration_s: float
    warmup_s: float
    summary: dict[str, Any]
    rss: dict[str, Any]
    loadgen: dict[str, float]
    socketio: dict[str, Any] | None = None
    abuse: dict[str, Any] | None = None
    turns: list[Turn] = field(default_factory=list, repr=False)

    @property
    def throughput(self) -> float:
        return float(self.summary["turns_per_s"])

    @property
    def p95_ms(self) -> float | None:
        value = self.summary["latency"]["p95_ms"]
        return None if value is None else float(value)

    @property
    def error_rate(self) -> float:
        return float(self.summary["error_rate"])

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("turns")
        return data


def sign_customer(secret: str, customer_id: int, sender: str) -> dict[str, Any]:
    """Metadata a shop's server sends for a signed-in shopper (tests/e2e/conftest.py)."""
    from shopmate.identity import CustomerTokens

    return {"customer_token": CustomerTokens(secret).sign(customer_id, sender)}


class Shoppers:
    """The virtual shoppers of one run and what they recorded."""

    def __init__(
        self,
        target: Target,
        flows: Sequence[Flow],
        transport: Transport,
        deadline: float,
        timeout_s: float,
        quiet: QuietPolicy,
        rest: RestClient,
    ) -> None:
        if not flows:
            raise ValueError("no flows to run")
        if transport != "rest" and not target.session_secret:
            raise ValueError(f"{target.name}: Socket.IO needs the session secret")
        self.target = target
        self.flows = list(flows)
        self.transport = transport
        self.deadline = deadline
        self.timeout_s = timeout_s
        self.quiet = quiet
        self.rest = rest
        self.turns: list[Turn] = []
        self.socket_stats = SocketStats()
        self.customers = sorted(c for c, orders in target.orders.items() if orders)

    def transport_of(self, index: int) -> str:
        if self.transport == "mixed":
            return "rest" if index % 2 == 0 else "socketio"
        return self.transport

    def conversation(self, kind: str, index: int, n: int) -> Any:
        if kind == "rest":
            return self.rest.conversation(f"load-{index}-{n}-{secrets.token_hex(4)}")
        return SocketIOConversation(
            self.target.base_url,
            self.target.session_secret or "",
            quiet=self.quiet,
            timeout_s=self.timeout_s,
            stats=self.socket_stats,
            socketio_path=self.target.socketio_path,
        )

    def identity(self, flow: Flow, n: int, sender: str) -> tuple[dict[str, Any] | None, str | None]:
        """A signed-in flow's metadata and the order it asks about."""
        if not flow.signed_in or not self.customers or not self.target.customer_token_secret:
            return None, None
        customer = self.customers[n % len(self.customers)]
        orders = self.target.orders[customer]
        order = orders[(n // len(self.customers)) % len(orders)]
        return sign_customer(self.target.customer_token_secret, customer, sender), order

    async def run(self, index: int) -> None:
        kind = self.transport_of(index)
        n = 0
        while time.perf_counter() < self.deadline:
            flow = self.flows[(index + n) % len(self.flows)]
            await self.run_flow(flow, kind, index, n)
            n += 1

    async def run_flow(self, flow: Flow, kind: str, index: int, n: int) -> None:
        conversation = self.conversation(kind, index, n)
        started = time.perf_counter()
        try:
            await conversation.open()
        except Exception as error:  # noqa: BLE001 - a shopper who could not connect
            self.record(flow, kind, 0, started, time.perf_counter(), "socket connect", repr(error))
            await asyncio.sleep(0.2)  # not a hot loop against a refusing server
            return
        try:
            metadata, order = self.identity(flow, n, conversation.sender)
            previous: list[dict[str, Any]] = []
            for number, step in enumerate(flow.steps):
                if time.perf_counter() >= self.deadline:
                    return
                if step.click is not None:
                    text = click_payload(step, previous)
                    if text is None and step.optional:
                        continue
                    if text is None:
                        now = time.perf_counter()
                        self.record(flow, kind, number, now, now, "nothing to click", step.label)
                        return
                else:
                    text = message_text(step, order)
                started = time.perf_counter()
                reply: Reply = await conversation.say(text, metadata)
                reason = reply.error or check_reply(
                    step, flow, reply.messages, order, self.target.refusals
                )
                detail = (
                    reply.detail if reply.error else f"{step.label!r} -> {texts(reply.messages)!r}"
                )
                self.record(
                    flow,
                    kind,
                    number,
                    started,
                    started + reply.latency_s,
                    reason,
                    detail,
                    reply.first_s,
                    reply.resent,
                )
                if reason is not None:
                    return  # what follows depends on this answer
                previous = reply.messages
        finally:
            await conversation.close()

    def record(
        self,
        flow: Flow,
        kind: str,
        step: int,
        started: float,
        ended: float,
        reason: str | None,
        detail: str,
        first_s: float | None = None,
        resent: int = 0,
    ) -> None:
        self.turns.append(
            Turn(
                started=started,
                ended=ended,
                transport=kind,
                flow=f"{flow.name}-{flow.language}",
                language=flow.language,
                step=step,
                reason=reason,
                detail=detail if reason else "",
                first_s=first_s,
                resent=resent,
            )
        )

    def socket_summary(self) -> dict[str, Any]:
        stats = self.socket_stats
        return {
            "connect": latency_summary(stats.connect_s),
            "connect_errors": stats.connect_errors,
            "disconnects": stats.disconnects,
            "reconnects": stats.reconnects,
            "stray_messages": stats.strays,
            "reply_gap_max": latency_summary(stats.gaps_s),
            "replies_near_the_quiet_period": stats.close_calls,
            "quiet": asdict(self.quiet),
        }


# --- abuse ---------------------------------------------------------------------------------


def classify(status: int, messages: list[dict[str, Any]], refusals: frozenset[str]) -> str:
    """refused_http (4xx), refused_polite (a refusal text), answered, or error."""
    if 400 <= status < 500:
        return "refused_http"
    if status != 200:
        return "error"  # 5xx, or no response (timeout, connection)
    lines = texts(messages)
    if not lines:
        return "error"  # an empty 200 is not polite
    if any(line in refusals for line in lines):
        return "refused_polite"
    return "answered"


def oversized_body(size: int, language: str) -> bytes:
    """A REST body of about `size` bytes (UTF-8 JSON) of text in `language`."""
    sender = f"huge-{secrets.token_hex(4)}"
    unit, width = ("退货怎么办", 15) if language == "zh" else ("return ", 7)
    text = unit * (size // width)
    return json.dumps({"sender": sender, "message": text}, ensure_ascii=False).encode()


class Abuse:
    """Abusive requests at fixed rates until the deadline, counted by kind and outcome.

    It runs in a thread with its own event loop and HTTP client (`run_threaded`): what
    the abuse costs the load generator itself (hundreds of requests in flight) does not
    delay the shoppers' loop, which would show as the shop's latency."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        config: AbuseConfig,
        refusals: frozenset[str],
        timeout_s: float = 30.0,
    ) -> None:
        self.base_url = base_url
        self.token = token
        self.timeout_s = timeout_s
        self.client: RestClient | None = None
        self.config = config
        self.refusals = refusals
        self.outcomes: dict[str, Counter[str]] = {}
        self.latencies: dict[str, list[float]] = {}
        self.statuses: dict[str, Counter[str]] = {}
        self.in_flight: set[asyncio.Task[None]] = set()
        self.skipped = 0
        self.flood_sender = f"flood-{secrets.token_hex(4)}"
        self.flood_count = 0

    def kinds(self) -> dict[str, tuple[float, Callable[[], Awaitable[tuple[int, list[Any]]]]]]:
        c = self.config
        return {
            "oversized_100KB": (
                c.oversized_100kb_per_s,
                lambda: self.post(oversized_body(100_000, "zh")),
            ),
            "oversized_1MB": (
                c.oversized_1mb_per_s,
                lambda: self.post(oversized_body(1_000_000, "en")),
            ),
            "malformed_json": (
                c.malformed_per_s,
                lambda: self.post(b'{"sender": "x", "message": '),
            ),
            "unauthenticated": (
                c.unauthenticated_per_s,
                lambda: self.post(
                    {"sender": f"anon-{secrets.token_hex(4)}", "message": "你好"}, False
                ),
            ),
            "flood": (c.flood_per_s, self.flood),
        }

    async def post(self, body: bytes | dict[str, Any], token: bool = True) -> tuple[int, list[Any]]:
        if self.client is None:
            raise RuntimeError("Abuse.post outside run()")
        response = await self.client.post(body, token=token)
        try:
            messages = response.json() if response.status_code == 200 else []
        except ValueError:
            messages = []
        return response.status_code, messages if isinstance(messages, list) else []

    async def flood(self) -> tuple[int, list[Any]]:
        self.flood_count += 1
        text = FLOOD_TEXTS[self.flood_count % 2]
        return await self.post({"sender": self.flood_sender, "message": text})

    async def one(self, kind: str, send: Callable[[], Awaitable[tuple[int, list[Any]]]]) -> None:
        start = time.perf_counter()
        try:
            status, messages = await send()
        except Exception as error:  # noqa: BLE001 - a failed request is an outcome
            status, messages = 0, []
            self.statuses[kind][type(error).__name__] += 1
        else:
            self.statuses[kind][str(status)] += 1
        self.latencies[kind].append(time.perf_counter() - start)
        self.outcomes[kind][classify(status, messages, self.refusals)] += 1

    async def ticker(
        self, kind: str, rate: float, send: Callable[[], Awaitable[Any]], deadline: float
    ) -> None:
        interval = 1.0 / rate
        next_at = time.perf_counter()
        while next_at < deadline:
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
            next_at += interval
            if len(self.in_flight) >= self.config.max_in_flight:
                self.skipped += 1
                continue
            task = asyncio.create_task(self.one(kind, send))
            self.in_flight.add(task)
            task.add_done_callback(self.in_flight.discard)

    def run_threaded(self, start_at: float, deadline: float) -> None:
        """From `start_at` to `deadline` (time.perf_counter()), in this thread's own loop."""
        asyncio.run(self.run(start_at, deadline))

    async def run(self, start_at: float, deadline: float) -> None:
        self.client = RestClient(
            self.base_url, self.token, self.timeout_s, connections=self.config.max_in_flight
        )
        try:
            await asyncio.sleep(max(0.0, start_at - time.perf_counter()))
            await self.fire(deadline)
        finally:
            await self.client.aclose()

    async def fire(self, deadline: float) -> None:
        tickers = []
        for kind, (rate, send) in self.kinds().items():
            if rate > 0:
                self.outcomes[kind] = Counter()
                self.latencies[kind] = []
                self.statuses[kind] = Counter()
                tickers.append(self.ticker(kind, rate, send, deadline))
        await asyncio.gather(*tickers)
        if self.in_flight:
            await asyncio.wait(set(self.in_flight), timeout=self.timeout_s + 5)

    def summary(self) -> dict[str, Any]:
        kinds: dict[str, Any] = {}
        problems: list[str] = []
        for kind, outcomes in self.outcomes.items():
            sent = sum(outcomes.values())
            kinds[kind] = {
                "sent": sent,
                **{
                    o: outcomes.get(o, 0)
                    for o in ("refused_http", "refused_polite", "answered", "error")
                },
                "statuses": dict(self.statuses[kind]),
                "latency": latency_summary(self.latencies[kind]),
            }
            refused = outcomes["refused_http"] + outcomes["refused_polite"]
            if outcomes["error"]:
                problems.append(f"{kind}: {outcomes['error']} errors (5xx, timeout or empty reply)")
            if kind == "flood":
                if sent and not refused:
                    problems.append("flood: nothing was refused")
            elif outcomes["answered"]:
                problems.append(f"{kind}: {outcomes['answered']} answered instead of refused")
        return {
            "config": asdict(self.config),
            "kinds": kinds,
            "skipped_in_flight_cap": self.skipped,
            "refused_politely": not problems,
            "problems": problems,
        }


# --- the run -------------------------------------------------------------------------------


async def loop_lag(stop: asyncio.Event, lags: list[float], interval_s: float = 0.1) -> None:
    """How much later than asked this loop wakes up, every `interval_s`, until `stop`."""
    while not stop.is_set():
        asked = time.perf_counter()
        await asyncio.sleep(interval_s)
        lags.append(max(0.0, time.perf_counter() - asked - interval_s))


async def run_load(
    target: Target,
    flows: Sequence[Flow],
    concurrency: int,
    duration_s: float,
    transport: Transport = "rest",
    warmup_s: float = 5.0,
    *,
    abuse: AbuseConfig | None = None,
    timeout_s: float = 30.0,
    quiet: QuietPolicy | None = None,
    rss_interval_s: float = 1.0,
) -> LoadResult:
    """Run `concurrency` closed-loop shoppers for warm-up + `duration_s` seconds."""
    if concurrency < 1 or duration_s <= 0 or warmup_s < 0:
        raise ValueError("concurrency >= 1, duration_s > 0 and warmup_s >= 0")
    quiet = quiet or QuietPolicy()
    start = time.perf_counter()
    window = Window(start + warmup_s, start + warmup_s + duration_s)
    rest = RestClient(target.base_url, target.rest_token, timeout_s, connections=concurrency + 8)
    shoppers = Shoppers(target, flows, transport, window.end, timeout_s, quiet, rest)
    # Resolved once (a launcher may ask supervisorctl, a process of its own each time).
    pids: dict[str, int] = {"loadgen": os.getpid()}
    if callable(target.pids):
        pids.update(await asyncio.to_thread(target.pids))
    elif target.pids:
        pids.update(target.pids)
    sampler = RssSampler(pids, rss_interval_s)
    stop = asyncio.Event()
    sampling = asyncio.create_task(sampler.run(stop))
    lags: list[float] = []
    lagging = asyncio.create_task(loop_lag(stop, lags))
    abuser = None
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    try:
        tasks = [asyncio.create_task(shoppers.run(i)) for i in range(concurrency)]
        if abuse is not None:
            abuser = Abuse(target.base_url, target.rest_token, abuse, target.refusals, timeout_s)
            tasks.append(
                asyncio.create_task(
                    asyncio.to_thread(abuser.run_threaded, window.start, window.end)
                )
            )
        await asyncio.gather(*tasks)
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.gather(sampling, lagging)
        await rest.aclose()
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    wall = time.perf_counter() - start
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    return LoadResult(
        target=target.name,
        transport=transport,
        concurrency=concurrency,
        duration_s=duration_s,
        warmup_s=warmup_s,
        summary=summarise_turns(shoppers.turns, window),
        rss=sampler.summary(),
        loadgen={
            "cpu_s": round(cpu, 2),
            "wall_s": round(wall, 2),
            "cpu_share": round(cpu / wall, 3),
            # How late the shoppers' event loop woke up: a busy generator would show
            # here before it showed as the shop's latency.
            "loop_lag_p99_ms": round(percentile(lags, 99) * 1000, 1) if lags else 0.0,
            "loop_lag_max_ms": round(max(lags, default=0.0) * 1000, 1),
        },
        socketio=shoppers.socket_summary() if transport != "rest" else None,
        abuse=abuser.summary() if abuser is not None else None,
        turns=shoppers.turns,
    )
