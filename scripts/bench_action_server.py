"""Start-up time and memory of the action server, optionally against another checkout.

Usage: .venv-actions/bin/python -m scripts.bench_action_server [--runs 3]
           [--checkout DIR ...] [--settle 90]

For each checkout (default: this one) and each run, a fresh `python -m actions.server`
on a free port: seconds until /health answers, resident memory then, and resident
memory once the background warm-up (knowledge base, product search, recommender) has
settled (no growth for 5 s, at most --settle seconds). Runs alternate between
checkouts so machine noise hits them alike. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests

from scripts.bench_spine import free_port, rss_mb

ROOT = Path(__file__).resolve().parent.parent


def one_start(checkout: Path, settle_s: float) -> dict[str, float]:
    port = free_port()
    env = {
        **os.environ,
        "ACTION_SERVER_TOKEN": secrets.token_urlsafe(16),
        "HF_HUB_OFFLINE": "1",
        "LOG_LEVEL": "WARNING",
    }
    start = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "-m", "actions.server", "--port", str(port)],
        cwd=checkout,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"action server in {checkout} exited {server.returncode}")
            try:
                if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.05)
        ready = time.perf_counter() - start
        at_ready = rss_mb(server.pid)
        last, stable_since, deadline = at_ready, time.monotonic(), time.monotonic() + settle_s
        while time.monotonic() < deadline and time.monotonic() - stable_since < 5:
            time.sleep(0.5)
            now = rss_mb(server.pid)
            if now > last + 1:
                last, stable_since = now, time.monotonic()
        return {"ready_s": ready, "rss_ready_mb": at_ready, "rss_warm_mb": rss_mb(server.pid)}
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--checkout", type=Path, action="append", default=[])
    parser.add_argument("--settle", type=float, default=90.0)
    args = parser.parse_args()
    checkouts = [ROOT, *args.checkout]
    results: dict[Path, list[dict[str, float]]] = {c: [] for c in checkouts}
    for _ in range(args.runs):
        for checkout in checkouts:
            results[checkout].append(one_start(checkout, args.settle))
    print("| checkout | ready (median of runs) | RSS at ready | RSS warm |")
    print("|---|---|---|---|")
    for checkout, runs in results.items():
        ready = statistics.median(r["ready_s"] for r in runs)
        at_ready = statistics.median(r["rss_ready_mb"] for r in runs)
        warm = statistics.median(r["rss_warm_mb"] for r in runs)
        print(f"| {checkout} | {ready:.2f} s | {at_ready:.0f} MB | {warm:.0f} MB |")


if __name__ == "__main__":
    main()
