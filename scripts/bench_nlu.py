"""NLU quality on a held-out split that the model never trains on.

Usage: .venv-actions/bin/python scripts/bench_nlu.py [--test-share 0.2] [--seed 42]

Splits every intent's examples per language (fixed seed), trains an NLU-only model on
the rest with config.yml, runs `rasa test nlu` on the held-out Chinese and English
examples separately and reports macro-F1 and accuracy per language. Writes
var/bench/nlu.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from addons.language import detect_language  # noqa: E402
from tests.conftest import load_nlu_examples  # noqa: E402

RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
ENV = {**os.environ, "RASA_TELEMETRY_ENABLED": "false"}


def write_nlu(path: Path, examples: dict[str, list[str]]) -> None:
    blocks = [
        {"intent": intent, "examples": "".join(f"- {text}\n" for text in texts)}
        for intent, texts in sorted(examples.items())
        if texts
    ]
    path.write_text(
        yaml.safe_dump({"version": "3.1", "nlu": blocks}, allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--test-share", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    train: dict[str, list[str]] = {}
    test: dict[str, dict[str, list[str]]] = {"zh": {}, "en": {}}
    for intent, examples in load_nlu_examples().items():
        by_language: dict[str, list[str]] = {"zh": [], "en": []}
        for text in examples:
            by_language[detect_language(text) or "en"].append(text)
        for language, texts in by_language.items():
            texts = sorted(texts)
            # One generator per (intent, language): adding an intent or an example
            # elsewhere does not reshuffle every other split.
            random.Random(f"{args.seed}:{intent}:{language}").shuffle(texts)
            held = max(1, round(len(texts) * args.test_share)) if len(texts) >= 5 else 0
            test[language].setdefault(intent, []).extend(texts[:held])
            train.setdefault(intent, []).extend(texts[held:])

    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="shopmate-nlu-") as tmp:
        work = Path(tmp)
        write_nlu(work / "train.yml", train)
        subprocess.run(
            [
                str(RASA),
                "train",
                "nlu",
                "--nlu",
                str(work / "train.yml"),
                "--config",
                "config.yml",
                "--out",
                str(work / "models"),
                "--fixed-model-name",
                "heldout",
            ],
            cwd=ROOT,
            env=ENV,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        for language, examples in test.items():
            test_file = work / f"test_{language}.yml"
            write_nlu(test_file, examples)
            out = work / f"results_{language}"
            subprocess.run(
                [
                    str(RASA),
                    "test",
                    "nlu",
                    "--nlu",
                    str(test_file),
                    "--model",
                    str(work / "models" / "heldout.tar.gz"),
                    "--out",
                    str(out),
                ],
                cwd=ROOT,
                env=ENV,
                check=True,
                stdout=subprocess.DEVNULL,
            )
            report = json.loads((out / "intent_report.json").read_text())
            results[language] = {
                "examples": sum(len(v) for v in examples.values()),
                "macro_f1": round(report["macro avg"]["f1-score"], 3),
                "accuracy": round(report["accuracy"], 3),
                "errors": [
                    {
                        "text": e["text"],
                        "intent": e["intent"],
                        "predicted": e["intent_prediction"]["name"],
                    }
                    for e in json.loads((out / "intent_errors.json").read_text())
                ]
                if (out / "intent_errors.json").exists()
                else [],
            }
    out_dir = ROOT / "var" / "bench"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "nlu.json").write_text(json.dumps(results, ensure_ascii=False, indent=2))
    print(json.dumps(results, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
