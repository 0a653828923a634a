"""What a load run measured: turns (latency, errors), throughput, memory of processes.

- Percentiles interpolate linearly between the two closest ranks (numpy's default), so
  p99 of 100 samples is not simply the largest one.
- The measured window is [start + warm-up, deadline]. Latency and errors count the turns
  that *started* in it (the last turns, finished after the deadline, are real turns);
  throughput counts the successful turns that *ended* in it, over its length (turns
  that straddle the warm-up's end count once, where they end).
- RSS is VmRSS from /proc/<pid>/status, the process and all its descendants (Sanic
  workers, multiprocessing children) summed, sampled during the run: max and mean.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROC = Path("/proc")
EXAMPLES_PER_REASON = 3


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation; ValueError when empty."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is outside 0..100")
    ordered = sorted(values)
    rank = q / 100 * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_summary(latencies_s: Sequence[float]) -> dict[str, Any]:
    """Count and p50/p95/p99/mean/max in milliseconds (None for no samples)."""
    if not latencies_s:
        return {"count": 0, **dict.fromkeys(("p50_ms", "p95_ms", "p99_ms", "mean_ms", "max_ms"))}
    return {
        "count": len(latencies_s),
        "p50_ms": round(percentile(latencies_s, 50) * 1000, 1),
        "p95_ms": round(percentile(latencies_s, 95) * 1000, 1),
        "p99_ms": round(percentile(latencies_s, 99) * 1000, 1),
        "mean_ms": round(statistics.fmean(latencies_s) * 1000, 1),
        "max_ms": round(max(latencies_s) * 1000, 1),
    }


@dataclass(frozen=True)
class Turn:
    """One message sent and its reply judged. Times are time.monotonic() seconds."""

    started: float
    ended: float
    transport: str = "rest"
    flow: str = ""
    language: str = ""
    step: int = 0
    reason: str | None = None  # None: the shopper saw what they had to see
    detail: str = ""
    first_s: float | None = None  # Socket.IO: seconds to the first bot message
    resent: int = 0  # Socket.IO: times the message was sent again after a reconnect

    @property
    def latency_s(self) -> float:
        return self.ended - self.started

    @property
    def ok(self) -> bool:
        return self.reason is None


@dataclass(frozen=True)
class Window:
    """The measured part of a run: [start, end] in time.monotonic() seconds."""

    start: float
    end: float

    @property
    def length_s(self) -> float:
        return max(0.0, self.end - self.start)

    def holds(self, moment: float) -> bool:
        return self.start <= moment <= self.end


def error_accounting(turns: Iterable[Turn]) -> dict[str, Any]:
    """Errors by reason, with a few examples of each (flow, step, detail)."""
    by_reason: Counter[str] = Counter()
    examples: defaultdict[str, list[str]] = defaultdict(list)
    for turn in turns:
        if turn.reason is None:
            continue
        by_reason[turn.reason] += 1
        if len(examples[turn.reason]) < EXAMPLES_PER_REASON:
            examples[turn.reason].append(
                f"{turn.flow} step {turn.step} ({turn.transport}): {turn.detail}"[:300]
            )
    return {"by_reason": dict(by_reason.most_common()), "examples": dict(examples)}


def summarise_turns(turns: Sequence[Turn], window: Window) -> dict[str, Any]:
    """Latency, errors and throughput of the turns of a run over its measured window."""
    measured = [t for t in turns if window.start <= t.started < window.end]
    completed = [t for t in turns if t.ok and window.holds(t.ended)]
    errors = [t for t in measured if not t.ok]
    summary: dict[str, Any] = {
        "window_s": round(window.length_s, 2),
        "turns": len(measured),
        "turns_per_s": round(len(completed) / window.length_s, 2) if window.length_s else 0.0,
        "latency": latency_summary([t.latency_s for t in measured if t.ok]),
        "errors": len(errors),
        "error_rate": round(len(errors) / len(measured), 4) if measured else 0.0,
        **error_accounting(errors),
    }
    for key in ("transport", "language", "flow"):
        groups: defaultdict[str, list[Turn]] = defaultdict(list)
        for turn in measured:
            groups[str(getattr(turn, key))].append(turn)
        summary[f"by_{key}"] = {
            name: {
                **latency_summary([t.latency_s for t in group if t.ok]),
                "errors": sum(not t.ok for t in group),
            }
            for name, group in sorted(groups.items())
        }
    firsts = [t.first_s for t in measured if t.ok and t.first_s is not None]
    if firsts:
        summary["socketio_first_message"] = latency_summary(firsts)
        summary["socketio_resent"] = sum(t.resent for t in measured)
    return summary


# --- memory ------------------------------------------------------------------------------


def _parent_of(stat: str) -> int | None:
    """The ppid field of a /proc/<pid>/stat line (the command name may hold ')')."""
    fields = stat.rsplit(")", 1)[-1].split()
    return int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else None


def children_map(proc: Path = PROC) -> dict[int, list[int]]:
    """Parent pid -> its child pids, from every /proc/<pid>/stat."""
    children: defaultdict[int, list[int]] = defaultdict(list)
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = _parent_of((entry / "stat").read_text())
        except OSError:  # gone meanwhile
            continue
        if parent is not None:
            children[parent].append(int(entry.name))
    return dict(children)


def descendants(pid: int, children: Mapping[int, list[int]]) -> list[int]:
    found: list[int] = []
    todo = list(children.get(pid, []))
    while todo:
        child = todo.pop()
        if child in found or child == pid:
            continue
        found.append(child)
        todo.extend(children.get(child, []))
    return found


def vm_rss_kb(pid: int, proc: Path = PROC) -> int | None:
    """VmRSS of one process in kB; None when it is gone (or a kernel thread)."""
    try:
        for line in (proc / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def tree_rss_mb(
    pid: int, proc: Path = PROC, children: Mapping[int, list[int]] | None = None
) -> float:
    """RSS of a process and its descendants in MB (0 when it is gone)."""
    tree = children if children is not None else children_map(proc)
    total = sum(vm_rss_kb(p, proc) or 0 for p in [pid, *descendants(pid, tree)])
    return total / 1024


PidSource = Mapping[str, int] | Callable[[], Mapping[str, int]]


@dataclass
class RssSampler:
    """Samples the RSS of named processes (with their children, except those named in
    `alone`) every `interval_s`."""

    pids: PidSource
    interval_s: float = 1.0
    proc: Path = PROC
    # Counted without their children: the load generator started the bots it loads.
    alone: frozenset[str] = frozenset({"loadgen"})
    samples: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    def current_pids(self) -> Mapping[str, int]:
        return self.pids() if callable(self.pids) else self.pids

    def sample(self) -> None:
        tree = children_map(self.proc)
        for name, pid in self.current_pids().items():
            own = vm_rss_kb(pid, self.proc)
            if own is None:
                continue
            if name in self.alone:
                self.samples[name].append(own / 1024)
            else:
                self.samples[name].append(tree_rss_mb(pid, self.proc, tree))

    async def run(self, stop: asyncio.Event) -> None:
        """Sample until `stop` is set (once more at the end)."""
        while not stop.is_set():
            await asyncio.to_thread(self.sample)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.interval_s)
        await asyncio.to_thread(self.sample)

    def summary(self) -> dict[str, dict[str, float | int]]:
        return {
            name: {
                "max_mb": round(max(values), 1),
                "mean_mb": round(statistics.fmean(values), 1),
                "samples": len(values),
            }
            for name, values in sorted(self.samples.items())
            if values
        }
