"""ShopMate under load beside a stock `rasa init` bot, measured in the same run.

Usage: .venv-actions/bin/python -m scripts.bench_load [--quick] [--duration 60]
       [--sweep-duration 30] [--concurrency 20] [--sweep 5,10,20,40] [--shapes 1,2]

Closed-loop virtual shoppers (scripts/load/) replay scripted conversations, zh and en,
over REST and Socket.IO, for a fixed time each:

1. the stock `rasa init` bot (trained in a temp dir), 20 concurrent, REST;
2. ShopMate's production shape (scripts/production.py: nginx, Rasa instances sharing a
   PostgreSQL tracker store and a Redis lock store, action servers) with 1 Rasa instance
   and with 2, 20 concurrent, mixed flows, half REST and half Socket.IO;
3. on the 2-instance shape: the same 20 with abuse mixed in (oversized bodies,
   malformed JSON, requests without the token, a flood on one conversation), then a
   concurrency sweep to find the highest concurrency with p95 <= 1 s.

Closed-loop shoppers send faster than people and all come from 127.0.0.1, so the
per-address limits (Rasa's edge and nginx's) are raised, and the per-conversation limit
to 10 a second (a six-turn flow can take under a second); its 60 a minute stays, which
no scripted conversation (at most six messages) reaches. The flood (20 a second on one
conversation) meets it: a saturated Rasa takes requests in at its own pace, so the
1-second window alone may never see more than 10, but past 60 in the minute every
message of the flood is refused politely, before any NLU.

Writes var/bench/load.json and docs/images/latency-vs-concurrency.png, and prints the
markdown tables for docs/benchmarks.md with PASS/FAIL per target (>= 1.5x the stock
bot's throughput at 20, p95 <= 1 s, no errors). `--launcher e2e` loads one Rasa and one
action server (tests/e2e/conftest.py) instead of the production shape.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from scripts.load.flows import (
    SCENARIO_ORDERS,
    SHOPMATE_FLOWS,
    STOCK_FLOWS,
    Flow,
    customer_orders,
    refusal_texts,
)
from scripts.load.plot import plot, point_of
from scripts.load.runner import AbuseConfig, Target, Transport, run_load
from scripts.load.stats import children_map, descendants

ROOT = Path(__file__).resolve().parent.parent
OUT_JSON = ROOT / "var" / "bench" / "load.json"
OUT_PNG = ROOT / "docs" / "images" / "latency-vs-concurrency.png"
OUT_LOGS = ROOT / "var" / "bench" / "load-logs"
THROUGHPUT_TARGET = 1.5  # x the stock bot's turns/s at 20 concurrent
P95_TARGET_MS = 1000.0
# Closed-loop shoppers are not people: see the module docstring.
BENCH_ENV = {
    "EDGE_RATE_PER_CONVERSATION": "10/1,60/60",
    "EDGE_RATE_PER_ADDRESS": "5000/1,300000/60",
}
NGINX_LIMITS: dict[str, Any] = {
    "rate_per_address": "5000r/s",
    "burst": 5000,
    "sockets_per_address": 2000,
}


@dataclass(frozen=True)
class Plan:
    duration_s: float = 60.0
    sweep_duration_s: float = 30.0
    warmup_s: float = 5.0
    prewarm_s: float = 10.0
    prewarm_limit_s: float = 60.0
    concurrency: int = 20
    levels: tuple[int, ...] = (5, 10, 20, 40)
    shapes: tuple[int, ...] = (1, 2)
    transport: Transport = "mixed"
    stock: bool = True
    abuse: bool = True

    def estimate_s(self, startup_s: float = 100.0) -> float:
        runs = (self.duration_s + self.warmup_s) * (len(self.shapes) + int(self.abuse))
        sweep = [c for c in self.levels if c != self.concurrency]
        runs += (self.sweep_duration_s + self.warmup_s) * len(sweep)
        runs += (self.prewarm_s + startup_s) * len(self.shapes)
        if self.stock:
            runs += self.duration_s + self.warmup_s + self.prewarm_s + 90
        return runs


# --- the bots -------------------------------------------------------------------------------


@contextmanager
def stock_bot(work: Path, stock_dir: Path | None) -> Iterator[tuple[Target, float | None]]:
    """The stock `rasa init` bot on a free port (REST, no token); its training time
    (None when --stock-dir already held a model)."""
    from scripts.bench_spine import ENV, RASA, free_port, start_rasa, timed, wait_up
    from tests.e2e.conftest import stop_process_groups

    init_dir = stock_dir or work / "initbot"
    init_dir.mkdir(parents=True, exist_ok=True)
    trained: float | None = None
    if not list((init_dir / "models").glob("*.tar.gz")):
        say("training the stock `rasa init` bot...")
        trained = round(
            timed([str(RASA), "init", "--no-prompt", "--init-dir", str(init_dir)], work), 1
        )
    port = free_port()
    process = start_rasa(init_dir / "models", init_dir, port, None, work / "stock.log", ENV)
    try:
        wait_up(f"http://127.0.0.1:{port}/status", process)
        yield (
            Target("stock", f"http://127.0.0.1:{port}", pids={"stock-rasa": process.pid}),
            trained,
        )
    finally:
        stop_process_groups([process])


def pid_by_command(*parts: str) -> int:
    """The topmost process whose command line holds all of `parts` (for the e2e
    launcher, which keeps its Popen objects to itself); 0 when there is none."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            words = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
            if all(part in words for part in parts):
                found.append(int(entry.name))
    tree = children_map()
    nested = {child for pid in found for child in descendants(pid, tree)}
    return next((pid for pid in found if pid not in nested), 0)


def production_kwargs(launcher: Any) -> dict[str, Any]:
    """nginx's per-address limits raised, where the launcher takes limits."""
    if "limits" not in inspect.signature(launcher).parameters:
        return {}
    from scripts.production import Limits

    fields = inspect.signature(Limits).parameters
    return {"limits": Limits(**{k: v for k, v in NGINX_LIMITS.items() if k in fields})}


@contextmanager
def shopmate(
    work: Path, launcher: str, instances: int, database_url: str, args: argparse.Namespace
) -> Iterator[Target]:
    """ShopMate's production shape with `instances` Rasa instances and as many action
    servers (or, with the e2e launcher, one of each), as a load target."""
    refusals = refusal_texts(ROOT / "domain")
    orders = customer_orders(database_url) or SCENARIO_ORDERS
    env = {**BENCH_ENV, "DATABASE_URL": database_url}
    if launcher == "e2e":
        from tests.e2e.conftest import (
            CUSTOMER_TOKEN_SECRET,
            REST_CHANNEL_TOKEN,
            SESSION_SECRET,
            running_shopmate,
        )

        with running_shopmate(work, env) as running:
            rasa_port = running.rasa_url.rsplit(":", 1)[1]
            action_port = running.action_url.rsplit(":", 1)[1]

            def pids() -> dict[str, int]:
                return {
                    "rasa-1": pid_by_command("run", "--port", rasa_port),
                    "actions-1": pid_by_command("actions.server", action_port),
                }

            yield Target(
                "shopmate-e2e",
                running.rasa_url,
                REST_CHANNEL_TOKEN,
                SESSION_SECRET,
                CUSTOMER_TOKEN_SECRET,
                orders,
                refusals,
                pids,
            )
        return
    from scripts.bench_spine import create_database, drop_database
    from scripts.production import production

    tracker_url = create_database(args.postgres_url)
    try:
        env |= {"TRACKER_DB_URL": tracker_url, "REDIS_URL": args.redis_url}
        with production(
            work,
            rasa_instances=instances,
            action_servers=instances,
            env=env,
            **production_kwargs(production),
        ) as prod:
            yield Target(
                f"shopmate-{instances}x",
                prod.public_url,
                prod.rest_token,
                prod.session_secret,
                prod.customer_token_secret,
                orders,
                refusals,
                prod.pids,
            )
    finally:
        drop_database(args.postgres_url, tracker_url)


# --- runs -----------------------------------------------------------------------------------


STARTED = time.monotonic()


def say(text: str) -> None:
    """A progress line, with the minutes and seconds since the bench started."""
    elapsed = int(time.monotonic() - STARTED)
    print(f"[{elapsed // 60:02d}:{elapsed % 60:02d}] {text}", flush=True)


def measure(
    target: Target,
    flows: Sequence[Flow],
    concurrency: int,
    duration_s: float,
    transport: Transport,
    warmup_s: float,
    kind: str,
    abuse: AbuseConfig | None = None,
) -> dict[str, Any]:
    say(
        f"  {target.name}: {concurrency} shoppers, {transport}, {duration_s:.0f} s"
        + (" + abuse" if abuse else "")
        + "..."
    )
    result = asyncio.run(
        run_load(target, flows, concurrency, duration_s, transport, warmup_s, abuse=abuse)
    )
    latency = result.summary["latency"]
    say(
        f"    {result.throughput} turns/s, p50 {latency['p50_ms']} / p95 {latency['p95_ms']}"
        f" / p99 {latency['p99_ms']} ms, errors {result.summary['errors']}"
        f"/{result.summary['turns']} {result.summary['by_reason'] or ''}"
    )
    return {"config": target.name, "kind": kind, **result.to_dict()}


def prewarm(
    target: Target, flows: Sequence[Flow], transport: Transport, seconds: float, limit_s: float
) -> list[dict[str, Any]]:
    """Light load (4 shoppers) until a round of `seconds` has no error or `limit_s` have
    passed: lazy parts load and background warm-ups (the action server's knowledge base,
    search index, recommender) finish before anything is measured."""
    rounds = []
    started = time.monotonic()
    while True:
        rounds.append(measure(target, flows, 4, seconds, transport, 0, "prewarm"))
        if rounds[-1]["summary"]["errors"] == 0 or time.monotonic() - started > limit_s:
            return rounds


def save(results: dict[str, Any]) -> None:
    OUT_JSON.parent.mkdir(parents=True, exist_ok=True)
    OUT_JSON.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")


def run_plan(plan: Plan, args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {
        "machine": f"{platform.node()} {os.cpu_count()} cores, Python {sys.version.split()[0]}",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "plan": {**plan.__dict__, "launcher": args.launcher, "bench_env": BENCH_ENV},
        "runs": [],
        "complete": False,
    }
    say(f"about {plan.estimate_s() / 60:.0f} minutes")
    work = Path(tempfile.mkdtemp(prefix="shopmate-load-"))
    # nginx's workers (user nobody under a root master) write request bodies over its
    # buffer (an action call with a long tracker) below this directory: mkdtemp's 0700
    # would make every such call a 500.
    work.chmod(0o755)
    try:
        if plan.stock:
            with stock_bot(work, args.stock_dir) as (stock, trained):
                results["train_stock_s"] = trained
                prewarm(stock, STOCK_FLOWS, "rest", plan.prewarm_s, plan.prewarm_limit_s)
                results["runs"].append(
                    measure(
                        stock,
                        STOCK_FLOWS,
                        plan.concurrency,
                        plan.duration_s,
                        "rest",
                        plan.warmup_s,
                        "main",
                    )
                )
                save(results)
        database_url = args.database_url or copy_database(work)
        # The e2e launcher has one shape: one Rasa, one action server.
        shapes = plan.shapes if args.launcher == "production" else (1,)
        for instances in shapes:
            shape_dir = work / f"shape-{instances}"
            shape_dir.mkdir()
            say(f"starting ShopMate ({args.launcher}, {instances} Rasa, {instances} actions)...")
            with (
                kept_logs(shape_dir, OUT_LOGS / f"{args.launcher}-{instances}"),
                shopmate(shape_dir, args.launcher, instances, database_url, args) as target,
            ):
                results[f"prewarm_{target.name}"] = [
                    {"errors": r["summary"]["errors"], "by_reason": r["summary"]["by_reason"]}
                    for r in prewarm(
                        target,
                        SHOPMATE_FLOWS,
                        plan.transport,
                        plan.prewarm_s,
                        plan.prewarm_limit_s,
                    )
                ]

                def run(concurrency: int, duration: float, kind: str, **extra: Any) -> None:
                    results["runs"].append(
                        measure(
                            target,
                            SHOPMATE_FLOWS,
                            concurrency,
                            duration,
                            plan.transport,
                            plan.warmup_s,
                            kind,
                            **extra,
                        )
                    )
                    save(results)

                run(plan.concurrency, plan.duration_s, "main")
                if instances == shapes[-1]:
                    if plan.abuse:
                        run(plan.concurrency, plan.duration_s, "abuse", abuse=AbuseConfig())
                    for level in plan.levels:
                        if level != plan.concurrency:
                            run(level, plan.sweep_duration_s, "sweep")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results["complete"] = True
    results["targets"] = evaluate(results)
    save(results)
    return results


@contextmanager
def kept_logs(work: Path, into: Path) -> Iterator[None]:
    """Copy the *.log files under `work` to `into` once its processes have stopped."""
    try:
        yield
    finally:
        shutil.rmtree(into, ignore_errors=True)
        for log in work.rglob("*.log"):
            target = into / log.relative_to(work)
            target.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(OSError):
                shutil.copyfile(log, target)


def copy_database(work: Path) -> str:
    """A copy of `make db`'s order database (var/shop.db): carts the shoppers fill stay
    out of it."""
    source = ROOT / "var" / "shop.db"
    if not source.exists():
        raise SystemExit("no var/shop.db: run `make db` (or pass --database-url)")
    copy = work / "shop.db"
    shutil.copyfile(source, copy)
    return f"sqlite:///{copy}"


# --- targets and tables ---------------------------------------------------------------------


def runs_of(
    results: dict[str, Any], config: str | None = None, kind: str | None = None
) -> list[Any]:
    return [
        run
        for run in results["runs"]
        if (config is None or run["config"] == config) and (kind is None or run["kind"] == kind)
    ]


def main_run(results: dict[str, Any], config: str) -> dict[str, Any] | None:
    found = runs_of(results, config, "main")
    return found[0] if found else None


def shopmate_configs(results: dict[str, Any]) -> list[str]:
    return sorted({run["config"] for run in results["runs"] if run["config"] != "stock"})


def verdict(passed: bool | None) -> str:
    return "n/a" if passed is None else ("PASS" if passed else "FAIL")


def evaluate(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The targets of DESIGN.md for 20 concurrent conversations, on the largest shape."""
    stock = main_run(results, "stock")
    configs = shopmate_configs(results)
    rows: list[dict[str, Any]] = []
    if not configs:
        return rows
    best = configs[-1]
    shop = main_run(results, best)
    if shop is None:
        return rows
    s = shop["summary"]
    ratio = round(s["turns_per_s"] / stock["summary"]["turns_per_s"], 2) if stock else None
    p95 = s["latency"]["p95_ms"]
    rows += [
        {
            "target": f"throughput at {shop['concurrency']} >= {THROUGHPUT_TARGET}x stock ({best})",
            "measured": f"{s['turns_per_s']} turns/s = {ratio}x"
            if ratio is not None
            else f"{s['turns_per_s']} turns/s (no stock run)",
            "passed": None if ratio is None else ratio >= THROUGHPUT_TARGET,
        },
        {
            "target": f"p95 <= {P95_TARGET_MS:.0f} ms at {shop['concurrency']} ({best})",
            "measured": f"{p95} ms",
            "passed": p95 is not None and p95 <= P95_TARGET_MS,
        },
    ]
    for config in configs:
        run = main_run(results, config)
        if run:
            rows.append(
                {
                    "target": f"no errors at {run['concurrency']} ({config})",
                    "measured": f"{run['summary']['errors']} / {run['summary']['turns']} turns",
                    "passed": run["summary"]["errors"] == 0,
                }
            )
    abused = runs_of(results, best, "abuse")
    if abused:
        a = abused[0]
        rows.append(
            {
                "target": "abuse refused politely (4xx or a refusal reply)",
                "measured": "; ".join(a["abuse"]["problems"]) or "all refused",
                "passed": a["abuse"]["refused_politely"],
            }
        )
        rows.append(
            {
                "target": "abuse does not raise the shoppers' error rate",
                "measured": f"{a['summary']['error_rate']:.2%} with abuse, "
                f"{s['error_rate']:.2%} without; p95 {a['summary']['latency']['p95_ms']}"
                f" vs {p95} ms",
                "passed": a["summary"]["error_rate"] <= s["error_rate"],
            }
        )
    sweep = sorted(
        [*runs_of(results, best, "sweep"), shop], key=lambda run: int(run["concurrency"])
    )
    within = [
        int(run["concurrency"])
        for run in sweep
        if run["summary"]["latency"]["p95_ms"] is not None
        and run["summary"]["latency"]["p95_ms"] <= P95_TARGET_MS
        and run["summary"]["errors"] == 0
    ]
    rows.append(
        {
            "target": f"highest concurrency with p95 <= {P95_TARGET_MS:.0f} ms, no errors ({best})",
            "measured": str(max(within))
            if within
            else "none of " + ", ".join(str(run["concurrency"]) for run in sweep),
            "passed": None,
        }
    )
    return rows


def ms(value: Any) -> str:
    return "—" if value is None else f"{value:,.0f}"


def tables(results: dict[str, Any]) -> str:
    stock = main_run(results, "stock")
    stock_tps = stock["summary"]["turns_per_s"] if stock else None
    lines = [
        "| configuration | run | transport | concurrency | turns/s | x stock | p50 / p95 / p99 ms"
        " | errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    ordered = sorted(
        results["runs"], key=lambda r: (r["config"], r["kind"] != "main", r["concurrency"])
    )
    for run in ordered:
        if run["kind"] == "prewarm":
            continue
        s, lat = run["summary"], run["summary"]["latency"]
        ratio = f"{s['turns_per_s'] / stock_tps:.2f}" if stock_tps else "—"
        reasons = ", ".join(f"{k}: {v}" for k, v in s["by_reason"].items())
        lines.append(
            f"| {run['config']} | {run['kind']} | {run['transport']} | {run['concurrency']} "
            f"| {s['turns_per_s']} | {ratio} | {ms(lat['p50_ms'])} / {ms(lat['p95_ms'])} / "
            f"{ms(lat['p99_ms'])} | {s['errors']} / {s['turns']}"
            + (f" ({reasons})" if reasons else "")
            + " |"
        )
    lines += [
        "",
        "| configuration | transport | turns | p50 / p95 / p99 ms | errors |",
        "|---|---|---|---|---|",
    ]
    for config in ["stock", *shopmate_configs(results)]:
        run = main_run(results, config)
        for transport, group in (run["summary"]["by_transport"] if run else {}).items():
            lines.append(
                f"| {config} | {transport} | {group['count']} | {ms(group['p50_ms'])} / "
                f"{ms(group['p95_ms'])} / {ms(group['p99_ms'])} | {group['errors']} |"
            )
        if run and run.get("socketio"):
            first = run["summary"].get("socketio_first_message") or {}
            lines.append(
                f"| {config} | socketio, first message | {first.get('count', 0)} | "
                f"{ms(first.get('p50_ms'))} / {ms(first.get('p95_ms'))} / "
                f"{ms(first.get('p99_ms'))} | |"
            )
    lines += ["", "| configuration | process | RSS max MB | RSS mean MB |", "|---|---|---|---|"]
    for config in ["stock", *shopmate_configs(results)]:
        run = main_run(results, config)
        for program, rss in (run["rss"] if run else {}).items():
            lines.append(f"| {config} | {program} | {rss['max_mb']:,.0f} | {rss['mean_mb']:,.0f} |")
    abused = [run for run in results["runs"] if run["kind"] == "abuse"]
    if abused:
        lines += [
            "",
            "| abuse | sent | refused 4xx | refused politely | answered | errors | p95 ms |",
            "|---|---|---|---|---|---|---|",
        ]
        for kind, k in abused[0]["abuse"]["kinds"].items():
            lines.append(
                f"| {kind} | {k['sent']} | {k['refused_http']} | {k['refused_polite']} | "
                f"{k['answered']} | {k['error']} | {ms(k['latency']['p95_ms'])} |"
            )
    lines += ["", "| target | measured | verdict |", "|---|---|---|"]
    for row in results.get("targets", []):
        lines.append(f"| {row['target']} | {row['measured']} | {verdict(row['passed'])} |")
    return "\n".join(lines)


def chart(results: dict[str, Any]) -> Path:
    series: dict[str, list[Any]] = {}
    for run in results["runs"]:
        if run["kind"] in ("main", "sweep"):
            label = f"{run['config']} ({run['transport']})"
            series.setdefault(label, []).append(point_of(run))
    return plot(series, OUT_PNG, p95_target_ms=P95_TARGET_MS)


def plan_from_args(args: argparse.Namespace) -> Plan:
    plan = Plan()
    if args.quick:
        plan = replace(
            plan, duration_s=15, sweep_duration_s=10, warmup_s=3, prewarm_s=5, levels=(5, 20, 40)
        )
    overrides: dict[str, Any] = {}
    if args.duration is not None:
        overrides["duration_s"] = args.duration
    if args.sweep_duration is not None:
        overrides["sweep_duration_s"] = args.sweep_duration
    if args.warmup is not None:
        overrides["warmup_s"] = args.warmup
    if args.concurrency is not None:
        overrides["concurrency"] = args.concurrency
    if args.sweep is not None:
        overrides["levels"] = tuple(int(c) for c in args.sweep.split(",") if c.strip())
    if args.shapes is not None:
        overrides["shapes"] = tuple(int(n) for n in args.shapes.split(",") if n.strip())
    if args.transport is not None:
        overrides["transport"] = args.transport
    overrides["stock"] = not args.skip_stock
    overrides["abuse"] = not args.skip_abuse
    return replace(plan, **overrides)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="15 s runs, 10 s sweep points")
    parser.add_argument("--duration", type=float, help="seconds measured per run (60)")
    parser.add_argument("--sweep-duration", type=float, help="seconds per sweep point (30)")
    parser.add_argument("--warmup", type=float, help="seconds of load before measuring (5)")
    parser.add_argument("--concurrency", type=int, help="shoppers of the main runs (20)")
    parser.add_argument("--sweep", help="concurrency levels of the sweep (5,10,20,40)")
    parser.add_argument("--shapes", help="Rasa instances of each ShopMate shape (1,2)")
    parser.add_argument("--transport", choices=["rest", "socketio", "mixed"])
    parser.add_argument("--skip-stock", action="store_true")
    parser.add_argument("--skip-abuse", action="store_true")
    parser.add_argument("--launcher", choices=["production", "e2e"], default="production")
    parser.add_argument("--stock-dir", type=Path, help="a `rasa init` dir to reuse (trained once)")
    parser.add_argument(
        "--database-url", help="the order database (default: a copy of var/shop.db)"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/6")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args(argv)
    if not list((ROOT / "models").glob("*.tar.gz")):
        raise SystemExit("no trained model in models/: run `make train`")
    results = run_plan(plan_from_args(args), args)
    print(f"\nwrote {OUT_JSON.relative_to(ROOT)} and {chart(results).relative_to(ROOT)}\n")
    print(tables(results))


if __name__ == "__main__":
    main()
