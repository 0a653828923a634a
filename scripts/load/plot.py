"""Latency (p50/p95/p99) and throughput against concurrency, one line per configuration,
to a PNG (matplotlib, no display needed; ASCII labels only)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Point:
    concurrency: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    turns_per_s: float


def point_of(result: Mapping[str, Any]) -> Point:
    """A Point from a LoadResult.to_dict()."""
    summary = result["summary"]
    latency = summary["latency"]
    return Point(
        int(result["concurrency"]),
        latency.get("p50_ms"),
        latency.get("p95_ms"),
        latency.get("p99_ms"),
        float(summary["turns_per_s"]),
    )


def plot(
    series: Mapping[str, Sequence[Point]],
    out: Path,
    *,
    p95_target_ms: float | None = 1000.0,
    title: str = "ShopMate load: latency and throughput vs concurrency",
) -> Path:
    """Write the chart of `series` (configuration -> points) to `out`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (latency_axes, throughput_axes) = plt.subplots(1, 2, figsize=(12, 4.8))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    styles = {"p50_ms": (":", "o"), "p95_ms": ("-", "s"), "p99_ms": ("--", "^")}
    for index, (name, points) in enumerate(series.items()):
        ordered = sorted(points, key=lambda p: p.concurrency)
        colour = colours[index % len(colours)]
        xs = [p.concurrency for p in ordered]
        for key, (line, marker) in styles.items():
            ys = [getattr(p, key) for p in ordered]
            if any(y is not None for y in ys):
                latency_axes.plot(
                    xs,
                    [float("nan") if y is None else y for y in ys],
                    line,
                    marker=marker,
                    color=colour,
                    label=f"{name} {key.removesuffix('_ms')}",
                )
        throughput_axes.plot(
            xs, [p.turns_per_s for p in ordered], "-", marker="o", color=colour, label=name
        )
    levels = sorted({p.concurrency for points in series.values() for p in points})
    for axes in (latency_axes, throughput_axes):
        axes.set_xticks(levels)
    if p95_target_ms is not None:
        latency_axes.axhline(p95_target_ms, color="grey", linewidth=0.8, linestyle="-.")
        latency_axes.annotate(
            f"p95 target {p95_target_ms:.0f} ms",
            (0.01, p95_target_ms),
            xycoords=("axes fraction", "data"),
            fontsize=8,
            color="grey",
            va="bottom",
        )
    latency_axes.set_xlabel("concurrent conversations")
    latency_axes.set_ylabel("turn latency (ms)")
    latency_axes.set_title("latency")
    latency_axes.legend(fontsize=7)
    latency_axes.grid(alpha=0.3)
    throughput_axes.set_xlabel("concurrent conversations")
    throughput_axes.set_ylabel("successful turns per second")
    throughput_axes.set_title("throughput")
    throughput_axes.legend(fontsize=7)
    throughput_axes.grid(alpha=0.3)
    throughput_axes.set_ylim(bottom=0)
    figure.suptitle(title)
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=110)
    plt.close(figure)
    return out
