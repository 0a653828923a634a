"""NLU quality, cost and speed: pipelines compared on one fixed held-out set.

Usage: .venv-actions/bin/python -m scripts.eval_nlu
           [--pipelines shipped=config.yml,light=eval/pipelines/light.yml,...]
           [--folds 5] [--cv-pipeline shipped] [--stock] [--out var/eval]

The held-out set is data/eval/nlu_heldout.yml: 20 % of each intent's examples per
language, moved out of data/nlu/ once (`--make-heldout`) and never trained on, not by
the eval models and not by the shipped model. For every pipeline it:
- trains an NLU model on data/nlu (timed);
- tests it on the held-out set per language: intent macro-F1 and accuracy, entity F1
  (micro average over entity types, Rasa's token-level report), and the same Chinese
  examples written in Traditional characters (converted with OpenCC s2t);
- serves the model with `rasa run --enable-api` and times /model/parse over HTTP on
  every held-out text (p50/p95) and reads the server's RSS.
`--folds 5` adds 5-fold cross-validation of one pipeline over data/nlu. `--stock`
times the training of a stock `rasa init` bot in the same run. Results go to
var/eval/nlu.json; the confusion-matrix picture of the first pipeline to
docs/images/intent_confusion.png.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import requests
import yaml

from addons.language import detect_language
from scripts.bench_spine import free_port, percentile, rss_mb, wait_up

ROOT = Path(__file__).resolve().parent.parent


RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
# PYTHONPATH: the pipelines' custom components live in addons/.
ENV = {
    **os.environ,
    "RASA_TELEMETRY_ENABLED": "false",
    "HF_HUB_OFFLINE": "1",
    "PYTHONPATH": str(ROOT),
}
NLU_DIR = ROOT / "data" / "nlu"
HELDOUT = ROOT / "data" / "eval" / "nlu_heldout.yml"
DEFAULT_PIPELINES = (
    "shipped=config.yml,"
    "baseline=eval/pipelines/baseline.yml,"
    "dense=eval/pipelines/dense.yml,"
    "light-crf=eval/pipelines/light-crf.yml"
)
# Annotations: [text](entity), [text](entity:value), [text]{"entity": ...}.
ANNOTATION = re.compile(r"\[([^\]]+)\](\([^)]*\)|\{[^}]*\})")


def plain(example: str) -> str:
    """The text a shopper typed: an annotated example without its annotations."""
    return ANNOTATION.sub(lambda m: m.group(1), example)


def language_of(example: str) -> str:
    return detect_language(plain(example)) or "en"


def read_examples(paths: list[Path]) -> dict[str, list[str]]:
    """Annotated examples by intent, from Rasa YAML NLU files."""
    examples: dict[str, list[str]] = {}
    for path in paths:
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []):
            if "intent" in block:
                lines = [ln.strip()[2:].strip() for ln in block["examples"].splitlines()]
                examples.setdefault(block["intent"], []).extend(x for x in lines if x)
    return examples


def nlu_yaml(examples: dict[str, list[str]], extra: list[dict[str, Any]] | None = None) -> str:
    """Rasa NLU YAML with block-style examples, as a person would write the file."""
    lines = ['version: "3.1"', "nlu:"]
    for intent, texts in sorted(examples.items()):
        if texts:
            lines += [f"- intent: {intent}", "  examples: |"]
            lines += [f"    - {text}" for text in texts]
    body = "\n".join(lines) + "\n"
    if extra:
        # Regexes and lookups, as yaml writes them (no hand formatting needed).
        body += yaml.safe_dump(extra, allow_unicode=True, sort_keys=False)
    return body


def write_nlu(path: Path, examples: dict[str, list[str]], extra: list[dict[str, Any]]) -> None:
    path.write_text(nlu_yaml(examples, extra), encoding="utf-8")


def non_intent_blocks() -> list[dict[str, Any]]:
    blocks = []
    for path in sorted(NLU_DIR.glob("*.yml")):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []):
            if "intent" not in block:
                blocks.append(block)
    return blocks


def bucket(example: str) -> int:
    """A stable number 0-99 per example: splits do not move when other data changes."""
    return int(hashlib.sha256(plain(example).encode("utf-8")).hexdigest()[:8], 16) % 100


def make_heldout(share: int) -> None:
    """Move `share` % of each intent's examples per language into the held-out file.

    Rewrites data/nlu/*.yml line by line, so comments and layout stay as they are.
    """
    held: dict[str, list[str]] = {}
    for path in sorted(NLU_DIR.glob("*.yml")):
        kept: list[str] = []
        intent = None
        for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
            stripped = line.strip()
            if stripped.startswith("- intent:"):
                intent = stripped.split(":", 1)[1].strip()
            elif stripped.startswith(("- regex:", "- lookup:", "- synonym:")):
                intent = None
            if (
                intent
                and intent != "nlu_fallback"
                and stripped.startswith("- ")
                and (not stripped.startswith("- intent:"))
            ):
                example = stripped[2:].strip()
                if bucket(example) < share:
                    held.setdefault(intent, []).append(example)
                    continue
            kept.append(line)
        path.write_text("".join(kept), encoding="utf-8")
    header = (
        "# Held out of training for `make eval` (scripts/eval_nlu.py --make-heldout): the\n"
        "# shipped model never trains on these. Add new shopper phrasings here or in\n"
        "# data/nlu/, never both.\n"
    )
    existing = read_examples([HELDOUT]) if HELDOUT.exists() else {}
    for intent, texts in existing.items():
        held.setdefault(intent, []).extend(texts)
    body = nlu_yaml(held)
    HELDOUT.write_text(header + body, encoding="utf-8")
    print(f"held out {sum(len(v) for v in held.values())} examples into {HELDOUT}")


def by_language(examples: dict[str, list[str]]) -> dict[str, dict[str, list[str]]]:
    split: dict[str, dict[str, list[str]]] = {"zh": {}, "en": {}}
    for intent, texts in examples.items():
        for text in texts:
            split[language_of(text)].setdefault(intent, []).append(text)
    return split


def to_traditional(examples: dict[str, list[str]]) -> dict[str, list[str]]:
    import opencc

    converter = opencc.OpenCC("s2t")
    converted: dict[str, list[str]] = {}
    for intent, texts in examples.items():
        # Annotated offsets are recomputed by Rasa from the brackets; only characters
        # change, the brackets stay where they were.
        converted[intent] = [str(converter.convert(t)) for t in texts]
    return converted


def train(config: Path, nlu_file: Path, out: Path, name: str) -> float:
    # A cache of its own per training: a time, not a restore of earlier components.
    env = {**ENV, "RASA_CACHE_DIRECTORY": str(out / ".cache")}
    start = time.perf_counter()
    subprocess.run(
        [
            str(RASA), "train", "nlu", "--nlu", str(nlu_file), "--config", str(config),
            "--out", str(out), "--fixed-model-name", name,
        ],
        cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return round(time.perf_counter() - start, 1)


def entity_f1(out: Path) -> dict[str, float] | None:
    """Micro/macro F1 of the trained entity extractor (not the whole-message ones)."""
    for name in ("DIETClassifier", "CRFEntityExtractor"):
        report_file = out / f"{name}_report.json"
        if report_file.exists():
            report = json.loads(report_file.read_text())
            micro = report.get("micro avg") or report.get("accuracy")
            return {
                "extractor": name,
                "micro_f1": round(micro["f1-score"] if isinstance(micro, dict) else micro, 3),
                "macro_f1": round(report["macro avg"]["f1-score"], 3),
                "per_entity": {
                    label: round(values["f1-score"], 3)
                    for label, values in report.items()
                    if isinstance(values, dict) and "avg" not in label
                },
            }
    return None


def evaluate_on(
    model: Path, examples: dict[str, list[str]], work: Path, tag: str
) -> dict[str, Any]:
    test_file = work / f"test_{tag}.yml"
    write_nlu(test_file, examples, [])
    out = work / f"results_{tag}"
    subprocess.run(
        [str(RASA), "test", "nlu", "--nlu", str(test_file), "--model", str(model),
         "--out", str(out)],
        cwd=ROOT, env=ENV, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    report = json.loads((out / "intent_report.json").read_text())
    errors_file = out / "intent_errors.json"
    errors = json.loads(errors_file.read_text()) if errors_file.exists() else []
    return {
        "examples": sum(len(v) for v in examples.values()),
        "macro_f1": round(report["macro avg"]["f1-score"], 3),
        "accuracy": round(report["accuracy"], 3),
        "per_intent": {
            k: round(v["f1-score"], 3)
            for k, v in report.items()
            if isinstance(v, dict) and "avg" not in k
        },
        "entities": entity_f1(out),
        "errors": [
            {
                "text": e["text"],
                "intent": e["intent"],
                "predicted": e["intent_prediction"]["name"],
                "confidence": round(e["intent_prediction"]["confidence"], 3),
            }
            for e in errors
        ],
        "results_dir": str(out),
    }


def serve_and_time(model: Path, texts: list[str], work: Path, tag: str) -> dict[str, float]:
    """p50/p95 of /model/parse over HTTP on `texts`, and the server's RSS."""
    port = free_port()
    log = work / f"serve_{tag}.log"
    process = subprocess.Popen(
        [str(RASA), "run", "--enable-api", "--interface", "127.0.0.1", "--port", str(port),
         "--model", str(model)],
        cwd=work, env=ENV, stdout=log.open("wb"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        wait_up(f"http://127.0.0.1:{port}/status", process)
        url = f"http://127.0.0.1:{port}/model/parse"
        for text in texts[:5]:  # first calls build TensorFlow graphs
            requests.post(url, json={"text": text}, timeout=120)
        latencies = []
        for text in texts:
            start = time.perf_counter()
            requests.post(url, json={"text": text}, timeout=120).raise_for_status()
            latencies.append(time.perf_counter() - start)
        return {
            "parse_p50_ms": round(statistics.median(latencies) * 1000, 1),
            "parse_p95_ms": round(percentile(latencies, 95) * 1000, 1),
            "rss_mb": round(rss_mb(process.pid)),
        }
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=60)


def evaluate_pipeline(
    name: str, config: Path, held: dict[str, dict[str, list[str]]], work: Path
) -> dict[str, Any]:
    train_file = work / "train.yml"
    if not train_file.exists():
        write_nlu(train_file, read_examples(sorted(NLU_DIR.glob("*.yml"))), non_intent_blocks())
    print(f"[{name}] training on data/nlu ...", flush=True)
    seconds = train(config, train_file, work / "models", name)
    model = work / "models" / f"{name}.tar.gz"
    result: dict[str, Any] = {"config": str(config.relative_to(ROOT)), "train_nlu_s": seconds}
    for language in ("zh", "en"):
        print(f"[{name}] held-out {language} ...", flush=True)
        result[language] = evaluate_on(model, held[language], work, f"{name}_{language}")
    result["zh_traditional"] = evaluate_on(
        model, to_traditional(held["zh"]), work, f"{name}_zh_traditional"
    )
    combined = {
        i: held["zh"].get(i, []) + held["en"].get(i, []) for i in set(held["zh"]) | set(held["en"])
    }
    result["all"] = evaluate_on(model, combined, work, f"{name}_all")
    texts = [plain(t) for ts in combined.values() for t in ts]
    print(f"[{name}] timing /model/parse ...", flush=True)
    result.update(serve_and_time(model, texts, work, name))
    return result


def cross_validate(config: Path, folds: int, work: Path) -> dict[str, Any]:
    examples = read_examples(sorted(NLU_DIR.glob("*.yml")))
    per_fold = []
    for fold in range(folds):
        train_part = {i: [t for t in ts if bucket(t) % folds != fold] for i, ts in examples.items()}
        test_part = {i: [t for t in ts if bucket(t) % folds == fold] for i, ts in examples.items()}
        fold_dir = work / f"fold{fold}"
        fold_dir.mkdir()
        write_nlu(fold_dir / "train.yml", train_part, non_intent_blocks())
        print(f"[cv] fold {fold + 1}/{folds} ...", flush=True)
        train(config, fold_dir / "train.yml", fold_dir / "models", "fold")
        model = fold_dir / "models" / "fold.tar.gz"
        split = by_language(test_part)
        scores = {}
        for language in ("zh", "en"):
            tested = evaluate_on(model, split[language], fold_dir, language)
            scores[language] = tested["macro_f1"]
            scores[f"{language}_entity_f1"] = (tested["entities"] or {}).get("micro_f1")
        per_fold.append(scores)
    summary: dict[str, Any] = {"folds": per_fold}
    for key in per_fold[0]:
        values = [f[key] for f in per_fold if f[key] is not None]
        summary[key] = {
            "mean": round(statistics.fmean(values), 3),
            "stdev": round(statistics.pstdev(values), 3),
        }
    return summary


def stock_training_seconds(work: Path) -> float:
    """`rasa init --no-prompt`: the stock bot's files, then its training from scratch
    (what docs/ compare against; a second `rasa train` would hit Rasa's cache)."""
    init_dir = work / "initbot"
    init_dir.mkdir()
    start = time.perf_counter()
    subprocess.run(
        [str(RASA), "init", "--no-prompt", "--init-dir", str(init_dir)],
        cwd=work, env=ENV, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return round(time.perf_counter() - start, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pipelines", default=DEFAULT_PIPELINES)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--cv-pipeline", default="shipped")
    parser.add_argument("--stock", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "eval")
    parser.add_argument("--make-heldout", type=int, metavar="PERCENT")
    parser.add_argument(
        "--cv-only", action="store_true", help="only the cross-validation of --cv-pipeline"
    )
    args = parser.parse_args()
    if args.make_heldout:
        make_heldout(args.make_heldout)
        return

    pipelines = dict(item.split("=", 1) for item in args.pipelines.split(",") if item)
    held = by_language(read_examples([HELDOUT]))
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{os.cpu_count()} cores",
        "heldout_examples": {lang: sum(map(len, v.values())) for lang, v in held.items()},
        "pipelines": {},
    }
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="shopmate-eval-") as tmp:
        work = Path(tmp)
        if args.stock:
            print("[stock] training a `rasa init` bot ...", flush=True)
            results["train_stock_s"] = stock_training_seconds(work)
        for index, (name, config) in enumerate([] if args.cv_only else pipelines.items()):
            result = evaluate_pipeline(name, ROOT / config, held, work)
            results["pipelines"][name] = result
            if index == 0:
                images = ROOT / "docs" / "images"
                images.mkdir(parents=True, exist_ok=True)
                picture = Path(result["all"]["results_dir"]) / "intent_confusion_matrix.png"
                if picture.exists():
                    shutil.copy(picture, images / "intent_confusion.png")
            (args.out / "nlu.json").write_text(json.dumps(results, ensure_ascii=False, indent=2))
        if args.folds > 1 and args.cv_pipeline in pipelines:
            results["cross_validation"] = {
                "pipeline": args.cv_pipeline,
                **cross_validate(ROOT / pipelines[args.cv_pipeline], args.folds, work),
            }
    (args.out / "nlu.json").write_text(json.dumps(results, ensure_ascii=False, indent=2))
    print_summary(results)


def print_summary(results: dict[str, Any]) -> None:
    if results["pipelines"]:
        print_table(results)
    if "train_stock_s" in results:
        print(f"stock `rasa init` bot, full training: {results['train_stock_s']} s")
    if "cross_validation" in results:
        cv = results["cross_validation"]
        print(f"{len(cv['folds'])}-fold CV of {cv['pipeline']}: zh {cv['zh']}, en {cv['en']}")


def print_table(results: dict[str, Any]) -> None:
    print("| pipeline | zh macro-F1 | en macro-F1 | 繁體 macro-F1 | entity F1 zh / en | "
          "train NLU s | parse p50 / p95 ms | RSS MB |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for name, r in results["pipelines"].items():
        ent = [((r[lang]["entities"] or {}).get("micro_f1")) for lang in ("zh", "en")]
        print(
            f"| {name} | {r['zh']['macro_f1']} | {r['en']['macro_f1']} | "
            f"{r['zh_traditional']['macro_f1']} | {ent[0]} / {ent[1]} | {r['train_nlu_s']} | "
            f"{r['parse_p50_ms']} / {r['parse_p95_ms']} | {r['rss_mb']} |"
        )


if __name__ == "__main__":
    main()
