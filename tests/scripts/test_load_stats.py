"""The load generator's arithmetic and judgement, without Rasa: percentiles, the measured
window, error accounting, RSS of a process tree, the flows' checks on canned replies
(REST and Socket.IO shapes), abuse outcomes, and a short closed loop against a fake bot."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from scripts.load import flows as f
from scripts.load.clients import QuietPolicy, SocketIOConversation, SocketStats
from scripts.load.plot import Point, plot
from scripts.load.runner import AbuseConfig, Target, classify, oversized_body, run_load
from scripts.load.stats import (
    RssSampler,
    Turn,
    Window,
    children_map,
    descendants,
    latency_summary,
    percentile,
    summarise_turns,
    tree_rss_mb,
)

# --- percentiles --------------------------------------------------------------------------


def test_percentiles_interpolate_between_ranks() -> None:
    values = [float(v) for v in range(1, 11)]  # 1..10, in any order
    shuffled = values[::-1]
    assert percentile(shuffled, 50) == pytest.approx(5.5)
    assert percentile(shuffled, 95) == pytest.approx(9.55)
    assert percentile(shuffled, 99) == pytest.approx(9.91)
    assert percentile(shuffled, 0) == 1.0
    assert percentile(shuffled, 100) == 10.0
    assert percentile([0.3], 99) == 0.3


def test_percentile_of_nothing_or_out_of_range_is_an_error() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)
    with pytest.raises(ValueError, match="outside"):
        percentile([1.0], 101)


def test_a_latency_summary_is_in_milliseconds_and_empty_without_samples() -> None:
    summary = latency_summary([0.1, 0.2, 0.3, 0.4])
    assert summary == {
        "count": 4,
        "p50_ms": 250.0,
        "p95_ms": 385.0,
        "p99_ms": 397.0,
        "mean_ms": 250.0,
        "max_ms": 400.0,
    }
    assert latency_summary([]) == {
        "count": 0,
        "p50_ms": None,
        "p95_ms": None,
        "p99_ms": None,
        "mean_ms": None,
        "max_ms": None,
    }


# --- window, throughput, errors -----------------------------------------------------------


def turn(started: float, ended: float, reason: str | None = None, **kw: Any) -> Turn:
    return Turn(started=started, ended=ended, reason=reason, **kw)


def test_the_window_excludes_warm_up_and_counts_throughput_where_turns_end() -> None:
    window = Window(10.0, 20.0)
    turns = [
        turn(1.0, 2.0),  # warm-up: not measured
        turn(9.5, 10.5),  # started in the warm-up: no latency sample, but ends in the window
        *[turn(10.0 + i, 10.0 + i + 0.5) for i in range(10)],  # 10 in the window
        turn(19.8, 21.0),  # started in the window, ends after it: latency yes, throughput no
    ]
    summary = summarise_turns(turns, window)
    assert summary["window_s"] == 10.0
    assert summary["turns"] == 11  # started in [10, 20)
    assert summary["latency"]["count"] == 11
    assert summary["latency"]["max_ms"] == 1200.0
    # Ended in [10, 20]: the straddling warm-up turn and the 10 (the last ends at 21).
    assert summary["turns_per_s"] == 1.1
    assert summary["errors"] == 0
    assert summary["error_rate"] == 0.0


def test_errors_are_counted_by_reason_kept_out_of_latency_and_throughput() -> None:
    window = Window(0.0, 10.0)
    turns = [
        turn(1.0, 1.1, flow="shopping-zh", transport="rest", language="zh"),
        turn(2.0, 2.2, flow="shopping-zh", transport="socketio", language="zh"),
        turn(3.0, 8.0, "timeout", detail="no reply", flow="policy-en", language="en"),
        turn(4.0, 4.1, "no product cards", detail="a", flow="shopping-en", language="en"),
        turn(5.0, 5.1, "no product cards", detail="b", flow="shopping-en", language="en"),
        *[turn(6.0, 6.1, "http 500", detail=str(n)) for n in range(5)],
    ]
    summary = summarise_turns(turns, window)
    assert summary["turns"] == 10
    assert summary["errors"] == 8
    assert summary["error_rate"] == 0.8
    assert summary["by_reason"] == {"http 500": 5, "no product cards": 2, "timeout": 1}
    assert len(summary["examples"]["http 500"]) == 3  # a few examples, not all
    assert summary["examples"]["no product cards"][0].startswith("shopping-en step 0")
    assert summary["latency"]["count"] == 2  # successful turns only
    assert summary["turns_per_s"] == 0.2
    assert summary["by_transport"]["socketio"]["count"] == 1
    assert summary["by_language"]["en"]["errors"] == 3
    assert summary["by_flow"]["shopping-en"] == {**latency_summary([]), "errors": 2}


def test_socketio_first_message_times_and_resends_are_summarised() -> None:
    turns = [
        turn(1.0, 1.5, transport="socketio", first_s=0.2, resent=1),
        turn(2.0, 2.3, transport="socketio", first_s=0.3),
    ]
    summary = summarise_turns(turns, Window(0.0, 5.0))
    assert summary["socketio_first_message"]["p50_ms"] == 250.0
    assert summary["socketio_resent"] == 1


# --- RSS of a process tree ----------------------------------------------------------------


def fake_process(proc: Path, pid: int, ppid: int, rss_kb: int | None, comm: str = "python") -> None:
    directory = proc / str(pid)
    directory.mkdir(parents=True)
    (directory / "stat").write_text(f"{pid} ({comm}) S {ppid} {pid} {pid} 0 -1 4194560\n")
    status = f"Name:\t{comm}\nPPid:\t{ppid}\n"
    if rss_kb is not None:
        status += f"VmRSS:\t{rss_kb} kB\n"
    (directory / "status").write_text(status)


@pytest.fixture
def proc(tmp_path: Path) -> Path:
    root = tmp_path / "proc"
    fake_process(root, 100, 1, 1024, comm="rasa (main) x")  # a name with ") (" in it
    fake_process(root, 101, 100, 2048)  # a Sanic worker
    fake_process(root, 102, 101, 1024)  # its child
    fake_process(root, 103, 100, None)  # a zombie: no VmRSS
    fake_process(root, 200, 1, 4096)  # someone else
    (root / "self").mkdir()  # not a pid
    return root


def test_rss_sums_a_process_and_all_its_descendants(proc: Path) -> None:
    tree = children_map(proc)
    assert sorted(tree[100]) == [101, 103]
    assert sorted(descendants(100, tree)) == [101, 102, 103]
    assert tree_rss_mb(100, proc) == 4.0
    assert tree_rss_mb(200, proc) == 4.0
    assert tree_rss_mb(999, proc) == 0.0


def test_the_load_generator_is_counted_without_the_bots_it_started(proc: Path) -> None:
    sampler = RssSampler({"loadgen": 100, "rasa-1": 101}, proc=proc)
    sampler.sample()
    summary = sampler.summary()
    assert summary["loadgen"]["max_mb"] == 1.0  # its own 1 MB, not its children's
    assert summary["rasa-1"]["max_mb"] == 3.0  # the worker and its child


def test_the_sampler_keeps_max_and_mean_and_skips_gone_processes(proc: Path) -> None:
    sampler = RssSampler({"rasa-1": 100, "gone": 999}, proc=proc)
    sampler.sample()
    (proc / "102" / "status").write_text("VmRSS:\t5120 kB\n")  # grows to 8 MB
    sampler.sample()
    assert sampler.summary() == {"rasa-1": {"max_mb": 8.0, "mean_mb": 6.0, "samples": 2}}


# --- flows and their checks on canned replies ---------------------------------------------


def card(code: str, position: int, count: int = 2) -> dict[str, Any]:
    product = {"code": code, "title": f"Dress {code}", "price": "¥199.00"}
    cart = {"title": "Add to cart", "payload": f'/add_to_cart{{"product_code":"{code}"}}'}
    return {
        "v": 1,
        "type": "product_card",
        "language": "en",
        "product": product,
        "position": position,
        "count": count,
        "buttons": [cart],
    }


REST_CARDS = [
    {"recipient_id": "s", "text": "Here are dresses for you:"},
    {"recipient_id": "s", "custom": {"shopmate": card("P1", 1)}},
    {"recipient_id": "s", "custom": {"shopmate": card("P2", 2)}},
]
SOCKET_CARDS = [
    {"text": "Here are dresses for you:"},
    {
        "text": "",
        "shopmate": {
            "v": 1,
            "type": "carousel",
            "language": "en",
            "items": [
                {**card("P1", 1)["product"], "buttons": card("P1", 1)["buttons"]},
                {**card("P2", 2)["product"], "buttons": card("P2", 2)["buttons"]},
            ],
        },
    },
]
EN = f.Flow("shopping", "en", (f.Step("show me dresses", expect=(f.CARDS, f.LANGUAGE)),))
ZH = f.Flow("policy", "zh", (f.Step("包邮吗", expect=(f.TEXT, f.LANGUAGE)),))


@pytest.mark.parametrize("reply", [REST_CARDS, SOCKET_CARDS], ids=["rest", "socketio"])
def test_cards_and_their_buttons_are_read_in_both_shapes(reply: list[dict[str, Any]]) -> None:
    assert [p["code"] for p in f.product_cards(reply)] == ["P1", "P2"]
    assert [b["payload"] for b in f.offered_buttons(reply)] == [
        '/add_to_cart{"product_code":"P1"}',
        '/add_to_cart{"product_code":"P2"}',
    ]
    assert f.check_reply(EN.steps[0], EN, reply) is None


@pytest.mark.parametrize(
    "message",
    [
        {"text": "Which size?", "buttons": [{"title": "M", "payload": '/add_to_cart{"size":"M"}'}]},
        {
            "text": "Which size?",
            "quick_replies": [{"title": "M", "payload": '/add_to_cart{"size":"M"}'}],
        },
    ],
    ids=["rest", "socketio"],
)
def test_a_click_sends_the_offered_payload(message: dict[str, Any]) -> None:
    click = f.Step(click="/add_to_cart")
    assert f.click_payload(click, [message]) == '/add_to_cart{"size":"M"}'
    assert f.click_payload(f.Step(click="/affirm"), [message]) is None
    assert f.check_reply(f.Step("add it", expect=(f.CART,)), EN, [message]) is None


@pytest.mark.parametrize(
    ("step", "flow", "reply", "reason"),
    [
        (EN.steps[0], EN, [], "empty reply"),
        (EN.steps[0], EN, [{"text": "  "}], "empty reply"),
        (EN.steps[0], EN, [{"text": "Sorry, I found nothing."}], "no product cards"),
        (ZH.steps[0], ZH, [{"text": "Orders over ¥99 ship free."}], "answered in en, asked in zh"),
        (
            EN.steps[0],
            EN,
            [{"text": "为你找到以下连衣裙："}, *REST_CARDS[1:]],
            "answered in zh, asked in en",
        ),
        (
            f.Step("status of {order}", expect=(f.ORDER,)),
            EN,
            [{"text": "Order A1000002 is on its way"}],
            "order number not in the answer",
        ),
        (f.Step("hi", expect=(f.BUTTONS,)), EN, [{"text": "hello"}], "no buttons offered"),
        (f.Step("add", expect=(f.CART,)), EN, [{"text": "Sorry?"}], "no cart answer"),
        (ZH.steps[0], ZH, [{"text": "您发消息有点快"}], "refused by the edge"),
    ],
)
def test_a_reply_that_is_not_what_the_shopper_must_see_is_an_error(
    step: f.Step, flow: f.Flow, reply: list[dict[str, Any]], reason: str
) -> None:
    refusals = frozenset({"您发消息有点快"})
    assert f.check_reply(step, flow, reply, order="A1000001", refusals=refusals) == reason


def test_the_right_answers_pass() -> None:
    order = f.Step("订单{order}发货了吗", expect=(f.ORDER, f.LANGUAGE))
    assert f.message_text(order, "A1000001") == "订单A1000001发货了吗"
    reply = [{"text": "订单 A1000001 已付款，商家正在备货。Silk dress ×1"}]
    assert f.check_reply(order, ZH, reply, order="A1000001") is None
    # An English answer naming a Chinese carrier is still English.
    tracking = [{"text": "Order A1000001 is in transit with 顺丰速运, tracking SF1000001001."}]
    assert f.check_reply(f.Step("where", expect=(f.LANGUAGE,)), EN, tracking) is None
    assert f.language_of(["¥199.00"]) is None


def test_a_step_says_or_clicks() -> None:
    with pytest.raises(ValueError, match="either"):
        f.Step()
    with pytest.raises(ValueError, match="either"):
        f.Step("hi", click="/affirm")
    assert f.Step(click="").label == "[click first]"


def test_shopmates_flows_are_half_chinese_half_english_and_cover_the_mix() -> None:
    languages = [flow.language for flow in f.SHOPMATE_FLOWS]
    assert languages.count("zh") == languages.count("en")
    names = {flow.name for flow in f.SHOPMATE_FLOWS}
    assert {"shopping", "order_status", "policy", "small_talk"} <= names
    assert all(flow.signed_in for flow in f.SHOPMATE_FLOWS if flow.name == "order_status")
    assert any(step.click for flow in f.SHOPMATE_FLOWS for step in flow.steps)


def test_the_refusal_texts_come_from_the_domain() -> None:
    texts = f.refusal_texts(Path(__file__).resolve().parents[2] / "domain")
    assert len(texts) >= 6  # three responses, two languages
    assert any("稍等" in text for text in texts)


# --- Socket.IO quiet period, abuse outcomes -----------------------------------------------


def test_the_quiet_period_follows_the_first_message_within_bounds() -> None:
    quiet = QuietPolicy(min_s=0.25, factor=0.5, max_s=1.0)
    assert quiet.quiet_for(0.1) == 0.25
    assert quiet.quiet_for(1.0) == 0.5
    assert quiet.quiet_for(5.0) == 1.0


def test_abuse_outcomes() -> None:
    refusals = frozenset({"Your message is too long."})
    assert classify(401, [], refusals) == "refused_http"
    assert classify(413, [], refusals) == "refused_http"
    assert classify(200, [{"text": "Your message is too long."}], refusals) == "refused_polite"
    assert classify(200, [{"text": "You're welcome!"}], refusals) == "answered"
    assert classify(200, [], refusals) == "error"  # an empty reply is not polite
    assert classify(502, [], refusals) == "error"
    assert classify(0, [], refusals) == "error"  # timeout, connection refused


def test_oversized_bodies_have_the_size_they_say() -> None:
    assert 99_000 <= len(oversized_body(100_000, "zh")) <= 101_000
    assert 990_000 <= len(oversized_body(1_000_000, "en")) <= 1_010_000


# --- a short closed loop against a fake bot -----------------------------------------------

TOKEN = "t" * 24
TOO_LONG = "Your message is too long."
SLOW_DOWN = "You are sending messages too fast."


class FakeBot(BaseHTTPRequestHandler):
    """Rasa's REST channel as ShopMate's edge answers it: token, JSON, size, rate."""

    seen: ClassVar[dict[str, int]] = {}
    metadata: ClassVar[dict[str, Any]] = {}
    lock: ClassVar[threading.Lock] = threading.Lock()

    def log_message(self, *args: Any) -> None:
        pass

    def reply(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self.reply(401, {"error": "unauthorised"})
        try:
            body = json.loads(raw)
        except ValueError:
            return self.reply(400, {"error": "bad json"})
        sender, text = body["sender"], body["message"]
        if "metadata" in body:
            self.metadata[sender] = body["metadata"]
        if len(raw) > 16_384:
            return self.reply(200, [{"recipient_id": sender, "text": TOO_LONG}])
        with self.lock:
            self.seen[sender] = self.seen.get(sender, 0) + 1
            count = self.seen[sender]
        if sender.startswith("flood-") and count > 5:
            return self.reply(200, [{"recipient_id": sender, "text": SLOW_DOWN}])
        return self.reply(200, [{"recipient_id": sender, "text": f"you said {text}"}])


@pytest.fixture
def fake_bot() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeBot)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


async def test_a_closed_loop_runs_until_the_deadline_and_abuse_is_counted_apart(
    fake_bot: str,
) -> None:
    target = Target("fake", fake_bot, TOKEN, refusals=frozenset({TOO_LONG, SLOW_DOWN}))
    abuse = AbuseConfig(
        oversized_100kb_per_s=4,
        oversized_1mb_per_s=2,
        malformed_per_s=4,
        unauthenticated_per_s=4,
        flood_per_s=20,
    )
    result = await run_load(
        target, f.STOCK_FLOWS, concurrency=3, duration_s=1.0, warmup_s=0.2, abuse=abuse
    )
    summary = result.summary
    assert summary["errors"] == 0, summary["by_reason"]
    assert summary["turns"] > 10
    assert result.throughput > 5
    assert summary["by_transport"].keys() == {"rest"}
    # Shoppers stop by themselves: no turn starts after the deadline.
    last_start = max(t.started for t in result.turns)
    first_start = min(t.started for t in result.turns)
    assert last_start - first_start <= 1.2 + 0.05
    kinds = result.abuse["kinds"] if result.abuse else {}
    assert kinds["unauthenticated"]["refused_http"] == kinds["unauthenticated"]["sent"] > 0
    assert kinds["malformed_json"]["refused_http"] == kinds["malformed_json"]["sent"] > 0
    assert kinds["oversized_1MB"]["refused_polite"] == kinds["oversized_1MB"]["sent"] > 0
    assert kinds["flood"]["answered"] == 5
    assert kinds["flood"]["refused_polite"] > 5
    assert result.abuse is not None
    assert result.abuse["refused_politely"]
    assert "loadgen" in result.rss
    assert result.to_dict()["summary"] == summary


async def test_a_bot_that_answers_abuse_fails_the_politeness_check(fake_bot: str) -> None:
    # Without the refusal texts every 200 reads as an answer: oversized bodies "served".
    target = Target("fake", fake_bot, TOKEN)
    abuse = AbuseConfig(0, 3, 0, 0, 0)
    result = await run_load(target, f.STOCK_FLOWS, 1, 0.5, warmup_s=0, abuse=abuse)
    assert result.abuse is not None
    assert not result.abuse["refused_politely"]
    assert result.abuse["problems"][0].startswith("oversized_1MB:")


async def test_a_click_needs_a_button_unless_optional_and_signed_in_shoppers_sign(
    fake_bot: str,
) -> None:
    flows = (
        f.Flow("optional", "en", (f.Step("hi"), f.Step(click="/x", optional=True), f.Step("bye"))),
        f.Flow("click", "en", (f.Step("hi"), f.Step(click="/x"), f.Step("never said"))),
        f.Flow("orders", "en", (f.Step("status of {order}", expect=(f.ORDER,)),), signed_in=True),
    )
    secret = "s" * 32
    target = Target("fake", fake_bot, TOKEN, customer_token_secret=secret, orders={7: ["A7000001"]})
    result = await run_load(target, flows, concurrency=3, duration_s=0.6, warmup_s=0)
    by_flow = result.summary["by_flow"]
    assert by_flow["optional-en"]["errors"] == 0
    assert by_flow["click-en"]["errors"] > 0  # each "hi" answered, then nothing to click
    assert result.summary["by_reason"].keys() == {"nothing to click"}
    assert not any(t.flow == "click-en" and t.step == 2 for t in result.turns)
    assert by_flow["orders-en"]["errors"] == 0  # "you said status of A7000001"
    from shopmate.identity import CustomerTokens

    signed = {s: m for s, m in FakeBot.metadata.items() if s.startswith("load-2-")}
    assert signed
    for sender, metadata in signed.items():
        assert CustomerTokens(secret).verify(metadata["customer_token"], sender) == 7


def test_the_bench_judges_its_targets() -> None:
    from scripts.bench_load import evaluate, tables

    def run(config: str, kind: str, tps: float, p95: float, errors: int, c: int = 20) -> Any:
        return {
            "config": config,
            "kind": kind,
            "transport": "rest",
            "concurrency": c,
            "summary": {
                "turns_per_s": tps,
                "turns": 100,
                "errors": errors,
                "error_rate": errors / 100,
                "by_reason": {"timeout": errors} if errors else {},
                "latency": {"p50_ms": p95 / 2, "p95_ms": p95, "p99_ms": p95 * 1.2},
                "by_transport": {},
            },
            "rss": {"rasa-1": {"max_mb": 950.0, "mean_mb": 940.0}},
            "abuse": {"kinds": {}, "problems": [], "refused_politely": True}
            if kind == "abuse"
            else None,
        }

    results = {
        "runs": [
            run("stock", "main", 30.0, 900.0, 0),
            run("shopmate-1x", "main", 20.0, 1200.0, 0),
            run("shopmate-2x", "main", 46.0, 950.0, 0),
            run("shopmate-2x", "abuse", 40.0, 1100.0, 2),
            run("shopmate-2x", "sweep", 60.0, 1500.0, 0, c=40),
            run("shopmate-2x", "sweep", 20.0, 300.0, 0, c=5),
        ]
    }
    verdicts = {row["target"]: row["passed"] for row in evaluate(results)}
    assert verdicts["throughput at 20 >= 1.5x stock (shopmate-2x)"] is True  # 46 / 30
    assert verdicts["p95 <= 1000 ms at 20 (shopmate-2x)"] is True
    assert verdicts["no errors at 20 (shopmate-1x)"] is True
    assert verdicts["abuse refused politely (4xx or a refusal reply)"] is True
    assert verdicts["abuse does not raise the shoppers' error rate"] is False
    rows = {row["target"]: row["measured"] for row in evaluate(results)}
    assert rows["highest concurrency with p95 <= 1000 ms, no errors (shopmate-2x)"] == "20"
    results["targets"] = evaluate(results)
    table = tables(results)
    assert "| shopmate-2x | main | rest | 20 | 46.0 | 1.53 |" in table
    assert "| abuse does not raise the shoppers' error rate |" in table


# --- Socket.IO against an in-process server -----------------------------------------------

SESSION_SECRET = "z" * 32


@pytest.fixture
async def socket_bot() -> Any:
    """A Socket.IO server speaking ShopMate's session protocol: "two" gets two messages
    0.1 s apart; the first "lost" gets no answer (the test drops the socket)."""
    pytest.importorskip("aiohttp")  # python-socketio[asyncio_client]
    import socketio
    from aiohttp import web

    from shopmate.sessions import SessionTokens

    server = socketio.AsyncServer(async_mode="aiohttp")
    app = web.Application()
    server.attach(app)
    heard: list[str] = []

    @server.on("session_request")
    async def session_request(sid: str, data: dict[str, Any]) -> None:
        session = SessionTokens(SESSION_SECRET).verify(data.get("session_token"))
        if session is None:
            await server.emit("session_rejected", {"reason": "invalid session"}, room=sid)
            return
        server.enter_room(sid, session)
        await server.emit("session_confirm", session, room=sid)

    @server.on("user_uttered")
    async def user_uttered(sid: str, data: dict[str, Any]) -> None:
        text, room = data["message"], data["session_id"]
        heard.append(text)
        if text == "lost" and heard.count("lost") == 1:
            return
        await server.emit("bot_uttered", {"text": f"you said {text}"}, room=room)
        if text == "two":
            await asyncio.sleep(0.1)
            await server.emit("bot_uttered", {"text": "and more"}, room=room)

    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}", heard
    finally:
        await runner.cleanup()


async def test_a_socketio_reply_is_complete_after_its_quiet_period(socket_bot: Any) -> None:
    url, _ = socket_bot
    stats = SocketStats()
    conversation = SocketIOConversation(url, SESSION_SECRET, stats=stats, timeout_s=5)
    await conversation.open()
    try:
        reply = await conversation.say("two")
        assert [m["text"] for m in reply.messages] == ["you said two", "and more"]
        assert reply.first_s is not None
        assert reply.latency_s - reply.first_s == pytest.approx(0.1, abs=0.08)
        assert reply.gap_max_s == pytest.approx(0.1, abs=0.08)
        again = await conversation.say("hello")  # nothing of the first reply left over
        assert [m["text"] for m in again.messages] == ["you said hello"]
    finally:
        await conversation.close()
    assert stats.strays == 0
    assert len(stats.connect_s) == 1


async def test_a_rejected_session_fails_at_once(socket_bot: Any) -> None:
    url, _ = socket_bot
    stats = SocketStats()
    conversation = SocketIOConversation(url, "w" * 32, stats=stats, timeout_s=20)
    started = asyncio.get_running_loop().time()
    with pytest.raises(ConnectionRefusedError, match="session rejected"):
        await conversation.open()
    assert asyncio.get_running_loop().time() - started < 5
    assert stats.connect_errors == 1
    assert not conversation.sio.connected


async def test_an_unanswered_socketio_message_is_sent_again_after_a_reconnect(
    socket_bot: Any,
) -> None:
    url, heard = socket_bot
    stats = SocketStats()
    conversation = SocketIOConversation(url, SESSION_SECRET, stats=stats, timeout_s=10)
    await conversation.open()

    async def drop_the_socket() -> None:  # what a network drop or a dying instance does
        await asyncio.sleep(0.3)
        await conversation.sio.eio.ws.close()

    dropping = asyncio.create_task(drop_the_socket())
    try:
        reply = await conversation.say("lost")
    finally:
        await dropping
        await conversation.close()
    assert [m["text"] for m in reply.messages] == ["you said lost"]
    assert reply.resent == 1
    assert reply.latency_s >= 0.3  # counted from the first send
    assert heard == ["lost", "lost"]
    assert (stats.disconnects, stats.reconnects) == (1, 1)


def test_the_chart_is_written(tmp_path: Path) -> None:
    out = plot(
        {
            "stock (rest)": [Point(20, 100.0, 300.0, 500.0, 30.0)],
            "shopmate-2x (mixed)": [
                Point(5, 80.0, 150.0, 200.0, 20.0),
                Point(20, 200.0, 800.0, 1200.0, 45.0),
                Point(40, None, None, None, 0.0),
            ],
        },
        tmp_path / "chart.png",
    )
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
