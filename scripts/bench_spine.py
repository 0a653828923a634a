"""Turn latency of ShopMate against a stock `rasa init` bot, measured in the same run.

Usage: .venv-actions/bin/python -m scripts.bench_spine [--turns 200] [--concurrency 20]

Both bots run with the same Rasa version over the REST channel on this machine.
Turns alternate between the two bots so background noise hits both alike. Writes
var/bench/spine.json and prints a markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from scripts.production import free_port
from tests.e2e.conftest import stop_process_groups

ROOT = Path(__file__).resolve().parent.parent


RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
ACTIONS_PYTHON = ROOT / ".venv-actions" / "bin" / "python"
ENV = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "HF_HUB_OFFLINE": "1"}
# ShopMate's REST channel is for servers: the bench is one, with the channel token.
REST_CHANNEL_TOKEN = secrets.token_urlsafe(24)
OVERSIZED_BYTES = (100_000, 1_000_000)

STOCK_MESSAGES = ["hello", "I am feeling great", "are you a bot?", "bye", "hi", "not good"]
SHOPMATE_MESSAGES = [
    "你好",
    "买多少钱可以包邮？",
    "hello",
    "How long does a refund take?",
    "你是机器人吗",
    "can I pay with Alipay?",
    "谢谢",
    "bye",
]


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, in MB."""
    total = 0
    pids = [pid]
    children = subprocess.run(
        ["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    pids += [int(p) for p in children]
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except FileNotFoundError:
            continue
    return total / 1024


@dataclass
class Bot:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    messages: list[str]
    token: str | None = None

    def turn(self, sender: str, text: str) -> float:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        start = time.perf_counter()
        reply = requests.post(
            f"{self.url}/webhooks/rest/webhook",
            json={"sender": sender, "message": text},
            headers=headers,
            timeout=600,
        )
        elapsed = time.perf_counter() - start
        reply.raise_for_status()
        if not reply.json():
            raise RuntimeError(f"{self.name}: no reply to {text!r}")
        return elapsed


def wait_up(url: str, process: subprocess.Popen[bytes], seconds: int = 300) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {process.returncode}")
        try:
            if requests.get(url, timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    raise RuntimeError(f"{url} did not come up")


def start_rasa(
    model: Path, cwd: Path, port: int, endpoints: Path | None, log: Path, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    command = [
        str(RASA),
        "run",
        "--enable-api",
        "--interface",
        "127.0.0.1",
        "--port",
        str(port),
        "--model",
        str(model),
    ]
    if endpoints:
        command += ["--endpoints", str(endpoints), "--credentials", str(ROOT / "credentials.yml")]
    return subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its Sanic workers stop with its process group
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(latencies: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p95_ms": round(percentile(latencies, 95) * 1000, 1),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 1),
    }


def sequential(bots: list[Bot], turns: int) -> dict[str, dict[str, float]]:
    latencies: dict[str, list[float]] = {bot.name: [] for bot in bots}
    senders = {bot.name: f"bench-{secrets.token_hex(4)}" for bot in bots}
    for bot in bots:  # warm-up: first turns load lazy parts
        for text in bot.messages[:3]:
            bot.turn(f"warmup-{bot.name}", text)
    for i in range(turns):
        for bot in bots:
            text = bot.messages[i % len(bot.messages)]
            latencies[bot.name].append(bot.turn(senders[bot.name], text))
    return {name: summary(values) for name, values in latencies.items()}


def concurrent(bot: Bot, conversations: int, turns_each: int) -> dict[str, float]:
    def conversation(n: int) -> list[float]:
        sender = f"load-{n}-{secrets.token_hex(3)}"
        return [
            bot.turn(sender, bot.messages[(n + t) % len(bot.messages)]) for t in range(turns_each)
        ]

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=conversations) as pool:
        results = list(pool.map(conversation, range(conversations)))
    wall = time.perf_counter() - start
    latencies = [x for r in results for x in r]
    return {**summary(latencies), "turns_per_s": round(len(latencies) / wall, 1)}


def oversized(bot: Bot, sizes: tuple[int, ...], repeats: int = 3) -> dict[str, Any]:
    """Time and Rasa's memory for messages of `sizes` bytes (refused at the edge)."""
    results: dict[str, Any] = {}
    for size in sizes:
        before = rss_mb(bot.process.pid)
        times = [bot.turn(f"huge-{size}-{n}", "退" * (size // 3)) for n in range(repeats)]
        results[f"{size // 1000}KB"] = {
            "max_ms": round(max(times) * 1000, 1),
            "rasa_rss_growth_mb": round(rss_mb(bot.process.pid) - before, 1),
        }
    return results


def create_database(admin_url: str) -> str:
    """A fresh PostgreSQL database for the scaled bot's tracker store; returns its URL."""
    import psycopg

    name = f"shopmate_bench_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def drop_database(admin_url: str, url: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def timed(command: list[str], cwd: Path) -> float:
    # A cache of its own: Rasa would otherwise restore components trained before in
    # this checkout, and the figure would not be a training from scratch.
    env = {**ENV, "RASA_CACHE_DIRECTORY": tempfile.mkdtemp(prefix="rasa-cache-")}
    start = time.perf_counter()
    subprocess.run(
        command, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--turns-each", type=int, default=10)
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="Sanic workers of the scaled ShopMate (Redis lock, PostgreSQL tracker)",
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/6")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument(
        "--skip-training",
        action="store_true",
        help="reuse models/ instead of timing a fresh training",
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="shopmate-bench-"))
    results: dict[str, Any] = {
        "machine": f"{platform.node()} {os.cpu_count()} cores, Python {sys.version.split()[0]}",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    processes: list[subprocess.Popen[bytes]] = []
    databases: list[str] = []
    try:
        init_dir = work / "initbot"
        init_dir.mkdir()  # rasa init refuses a path that does not exist
        print("training the stock `rasa init` bot...", flush=True)
        results["train_stock_s"] = round(
            timed([str(RASA), "init", "--no-prompt", "--init-dir", str(init_dir)], work), 1
        )
        model_dir = ROOT / "models"
        if not args.skip_training:
            print("training ShopMate from scratch...", flush=True)
            model_dir = work / "shopmate-models"
            results["train_shopmate_s"] = round(
                timed(
                    [
                        str(RASA),
                        "train",
                        "--domain",
                        "domain",
                        "--data",
                        "data/nlu",
                        "data/stories",
                        "data/rules",
                        "--config",
                        "config.yml",
                        "--out",
                        str(model_dir),
                        "--force",
                    ],
                    ROOT,
                ),
                1,
            )

        stock_port, rasa_port, action_port = free_port(), free_port(), free_port()
        token = secrets.token_urlsafe(16)
        # The project's endpoints.yml finds the action server at ${ACTION_PORT}.
        endpoints = ROOT / "endpoints.yml"
        env = {
            **ENV,
            "ACTION_SERVER_TOKEN": token,
            "ACTION_PORT": str(action_port),
            "TRACKER_SQLITE_PATH": str(work / "tracker.db"),
            "REST_CHANNEL_TOKEN": REST_CHANNEL_TOKEN,
            "SESSION_SECRET": secrets.token_urlsafe(32),
            # A bench replays one conversation faster than any shopper types: the
            # per-conversation limit is raised, the limiter itself still runs.
            "EDGE_RATE_PER_CONVERSATION": "1000/1",
        }
        actions = subprocess.Popen(
            [str(ACTIONS_PYTHON), "-m", "actions.server", "--port", str(action_port)],
            cwd=ROOT,
            env=env,
            stdout=(work / "actions.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        stock = start_rasa(init_dir / "models", init_dir, stock_port, None, work / "stock.log", ENV)
        shopmate = start_rasa(model_dir, ROOT, rasa_port, endpoints, work / "rasa.log", env)
        processes += [actions, stock, shopmate]
        scaled_port = free_port()
        scaled_env = {
            **env,
            "SANIC_WORKERS": str(args.workers),
            "REDIS_URL": args.redis_url,
            "TRACKER_DB_URL": create_database(args.postgres_url),
        }
        databases.append(scaled_env["TRACKER_DB_URL"])
        scaled = start_rasa(
            model_dir, ROOT, scaled_port, endpoints, work / "scaled.log", scaled_env
        )
        processes.append(scaled)
        wait_up(f"http://127.0.0.1:{action_port}/health", actions)
        wait_up(f"http://127.0.0.1:{stock_port}/status", stock)
        wait_up(f"http://127.0.0.1:{rasa_port}/status", shopmate)
        wait_up(f"http://127.0.0.1:{scaled_port}/status", scaled)

        bots = [
            Bot("stock", f"http://127.0.0.1:{stock_port}", stock, STOCK_MESSAGES),
            Bot(
                "shopmate",
                f"http://127.0.0.1:{rasa_port}",
                shopmate,
                SHOPMATE_MESSAGES,
                REST_CHANNEL_TOKEN,
            ),
        ]
        print(f"{args.turns} sequential turns per bot...", flush=True)
        results["sequential"] = sequential(bots, args.turns)
        print(f"{args.concurrency} concurrent conversations per bot...", flush=True)
        scaled_bot = Bot(
            f"shopmate_{args.workers}_workers",
            f"http://127.0.0.1:{scaled_port}",
            scaled,
            SHOPMATE_MESSAGES,
            REST_CHANNEL_TOKEN,
        )
        for text in SHOPMATE_MESSAGES[:4]:
            scaled_bot.turn("warmup-scaled", text)
        results["concurrent"] = {
            bot.name: concurrent(bot, args.concurrency, args.turns_each)
            for bot in [*bots, scaled_bot]
        }
        print("oversized messages (refused at the edge)...", flush=True)
        results["oversized"] = oversized(bots[1], OVERSIZED_BYTES)
        results["rss_mb"] = {
            f"shopmate_rasa_{args.workers}_workers": round(rss_mb(scaled.pid)),
            "stock_rasa": round(rss_mb(stock.pid)),
            "shopmate_rasa": round(rss_mb(shopmate.pid)),
            "shopmate_actions": round(rss_mb(actions.pid)),
        }
    finally:
        stop_process_groups(processes)
        shutil.rmtree(work, ignore_errors=True)
        for url in databases:
            drop_database(args.postgres_url, url)

    seq, conc = results["sequential"], results["concurrent"]
    results["ratios"] = {
        "sequential_p50": round(seq["shopmate"]["p50_ms"] / seq["stock"]["p50_ms"], 2),
        "sequential_p95": round(seq["shopmate"]["p95_ms"] / seq["stock"]["p95_ms"], 2),
        "concurrent_throughput": round(
            conc["shopmate"]["turns_per_s"] / conc["stock"]["turns_per_s"], 2
        ),
        "concurrent_throughput_scaled": round(
            conc[f"shopmate_{args.workers}_workers"]["turns_per_s"] / conc["stock"]["turns_per_s"],
            2,
        ),
    }
    out = ROOT / "var" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "spine.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    print()
    print("| measure | stock `rasa init` | ShopMate | ratio |")
    print("|---|---|---|---|")
    for key in ("p50_ms", "p95_ms"):
        print(
            f"| {args.turns} sequential turns, {key} | {seq['stock'][key]} | "
            f"{seq['shopmate'][key]} | {round(seq['shopmate'][key] / seq['stock'][key], 2)} |"
        )
    print(
        f"| {args.concurrency} concurrent, turns/s | {conc['stock']['turns_per_s']} | "
        f"{conc['shopmate']['turns_per_s']} | {results['ratios']['concurrent_throughput']} |"
    )
    print(
        f"| {args.concurrency} concurrent, p95 ms | {conc['stock']['p95_ms']} | "
        f"{conc['shopmate']['p95_ms']} | "
        f"{round(conc['shopmate']['p95_ms'] / conc['stock']['p95_ms'], 2)} |"
    )


if __name__ == "__main__":
    main()
