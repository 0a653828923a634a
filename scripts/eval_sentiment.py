"""Sentiment analysers on the held-out shopper messages (eval/sentiment/{zh,en}.tsv).

    python -m scripts.eval_sentiment            # prints a table, writes var/eval/sentiment.json

The analysers' rules and lexicons were tuned on eval/sentiment/dev/ (a second set,
written separately); the held-out set is reported apart. Each language is read by its
maintained baseline as shipped (snownlp's review model;
VADER's compound score with its documented ±0.05 thresholds) and by ShopMate's shop-chat
analyser (shopmate/sentiment). The set is never used to tune anything: it is written
apart from the analysers, and this script only reads it.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from shopmate.sentiment import LABELS, SentimentAnalyser
from shopmate.sentiment.model import label_for

ROOT = Path(__file__).resolve().parent.parent
EVAL_DIR = ROOT / "eval" / "sentiment"
OUT = ROOT / "var" / "eval" / "sentiment.json"

Classifier = Callable[[str], str]


SPLITS = {"held_out": EVAL_DIR, "dev": EVAL_DIR / "dev"}


def load(language: str, split: str = "held_out") -> list[dict[str, str]]:
    with (SPLITS[split] / f"{language}.tsv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))


def scores(gold: list[str], predicted: list[str]) -> dict[str, float]:
    """Accuracy and macro-F1 over the three labels."""
    f1s = []
    for label in LABELS:
        tp = sum(g == p == label for g, p in zip(gold, predicted, strict=True))
        fp = sum(p == label != g for g, p in zip(gold, predicted, strict=True))
        fn = sum(g == label != p for g, p in zip(gold, predicted, strict=True))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    accuracy = sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold)
    return {"accuracy": round(accuracy, 3), "macro_f1": round(sum(f1s) / len(f1s), 3)}


def classifiers(
    analyser: SentimentAnalyser, lexicon_only: SentimentAnalyser
) -> dict[str, dict[str, Classifier]]:
    def snownlp(text: str) -> str:
        # snownlp gives P(praise): below 0.4 a complaint, above 0.6 praise.
        probability = (analyser.chinese.snownlp_score(text) + 1) / 2
        return "negative" if probability < 0.4 else "positive" if probability > 0.6 else "neutral"

    def vader(text: str) -> str:
        return label_for(analyser.english.vader_score(text), threshold=0.05)

    def shopmate(text: str) -> str:
        return analyser.analyse(text).label

    def shopmate_lexicon(text: str) -> str:
        # What Rasa runs by default: snownlp's models cost ~400 MB of RSS for +0.004 F1.
        return lexicon_only.analyse(text).label

    return {
        "zh": {"snownlp": snownlp, "shopmate": shopmate, "lexicon": shopmate_lexicon},
        "en": {"vader": vader, "shopmate": shopmate},
    }


def evaluate(split: str = "held_out") -> dict[str, dict[str, dict[str, object]]]:
    analyser = SentimentAnalyser()
    analyser.warm_up()
    analyser.chinese.snownlp_score("预热")
    lexicon_only = SentimentAnalyser(use_snownlp=False)
    lexicon_only.warm_up()
    results: dict[str, dict[str, dict[str, object]]] = {}
    for language, named in classifiers(analyser, lexicon_only).items():
        rows = load(language, split)
        gold = [row["label"] for row in rows]
        results[language] = {}
        for name, classify in named.items():
            predicted, took = [], []
            for row in rows:
                start = time.perf_counter()
                predicted.append(classify(row["text"]))
                took.append(time.perf_counter() - start)
            took.sort()
            by_case: dict[str, list[bool]] = {}
            for row, guess in zip(rows, predicted, strict=True):
                by_case.setdefault(row["case"], []).append(guess == row["label"])
            confusion = Counter(f"{g}->{p}" for g, p in zip(gold, predicted, strict=True) if g != p)
            results[language][name] = {
                **scores(gold, predicted),
                "n": len(rows),
                # Per message, after warm-up (the models load before the first one).
                "ms_p50": round(1000 * took[len(took) // 2], 3),
                "ms_p95": round(1000 * took[int(len(took) * 0.95)], 3),
                "accuracy_by_case": {
                    case: round(sum(hits) / len(hits), 2) for case, hits in sorted(by_case.items())
                },
                "errors": dict(confusion.most_common()),
            }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    results = {split: evaluate(split) for split in SPLITS}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    header = f"{'set':9} {'language':8} {'analyser':9} {'n':>4} {'accuracy':>8} {'macro-F1':>8}"
    print(header + f" {'ms p50':>7} {'ms p95':>7}")
    for split, by_language in results.items():
        for language, named in by_language.items():
            for name, result in named.items():
                print(
                    f"{split:9} {language:8} {name:9} {result['n']:>4} "
                    f"{result['accuracy']:>8} {result['macro_f1']:>8} "
                    f"{result['ms_p50']:>7} {result['ms_p95']:>7}"
                )
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
