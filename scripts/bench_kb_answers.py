#!/usr/bin/env python
"""Knowledge-base answers end to end (issue 6): retrieval, then the generated answer.

For every question of data/eval/kb_questions.yml (73 zh + 73 en, each with the article
that answers it and a reference answer written from that article's facts):

  * retrieval, as the FAQ action does it (``KnowledgeBase(settings.knowledge_dir,
    settings.faq_min_score).answer(question, language)``): hit@1, hit@3 (the expected
    article among the top 3 candidates), the answerable rate, and how many questions
    would be answered with the wrong article;
  * the answer, as ``actions/faq.py`` ``KnowledgeAnswerMixin.send_answer`` builds it
    (facts: "title: body" plus up to 3 body chunks; template: the article body), through
    each backend asked for: BLEU (sacrebleu corpus BLEU, tokenize="zh" for Chinese) and
    ROUGE-L F1 (rouge-score; Chinese cut with jieba first) against the reference, over
    the questions the bot answers (answerable with an article; the others get "not
    found", which is not scored as an answer) and, as "e2e ROUGE-L", over all questions
    with 0 for a question not answered; the faithfulness rate (share of the answers
    sent that pass ``check_grounding(answer, facts)``); the share that was generated
    rather than the template and why the rest fell back; p50/p95 latency.
  * for model backends also the model's raw output (cleaned as the generator does, but
    before any check) for every call that returned one in time: how many there were and
    how many stopped at max_new_tokens, how often a non-empty one passes the grounding
    check, and its BLEU / ROUGE-L. That is what the model writes; the "sent" columns are
    what the shopper gets.

Read "faithful (sent)" with care: the template is the article body, which is among the
facts, and generated text is only sent after the generator's own grounding check, so
it is near 100% by construction; it would catch a regression in that wiring, not a
weak model. The raw columns measure the model. Passing the grounding check is not the
same as being right either: it checks numbers, dates, names, materials and promises,
so a prompt echo with none of them passes (the safety check is what rejects it), and
an answer from the wrong article is faithful to the wrong facts (see "answered, wrong
article"). ``--deadline 30`` measures what the model says apart from how fast.

    .venv-actions/bin/python -m scripts.bench_kb_answers                      # template
    .venv-actions/bin/python -m scripts.bench_kb_answers \\
        --backends template,transformers --limit 10

``--limit N`` takes N questions per language, spread evenly over the set, for model
backends (about 2.5 s a call on 2 cores); the template backend costs nothing and always
runs on every question, and is also reported on the same subset for a paired
comparison. openai runs only when OPENAI_BASE_URL is set. Prints markdown tables and
writes var/bench/kb_answers.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import jieba
import sacrebleu
import yaml
from rouge_score import rouge_scorer, tokenizers

from actions.faq import MAX_FACT_CHUNKS
from shopmate.knowledge import KnowledgeAnswer, KnowledgeBase
from shopmate.llm import (
    Backend,
    ChatMessage,
    Completion,
    Generation,
    GenerationRequest,
    Generator,
    GeneratorSettings,
    LLMGenerator,
    OutcomeCounter,
    TaskKind,
    TemplateGenerator,
    check_grounding,
    clean_output,
    create_generator,
)
from shopmate.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")


EVAL = ROOT / "data" / "eval" / "kb_questions.yml"
OUT = ROOT / "var" / "bench" / "kb_answers.json"
LANGUAGES = ("zh", "en")
REASONS = ("timeout", "error", "unsafe", "wrong_language", "low_quality", "ungrounded")

jieba.setLogLevel(logging.WARNING)


# ----------------------------------------------------------------------------- metrics


def segment_zh(text: str) -> str:
    """Chinese text cut into words by jieba, joined by spaces; punctuation and spaces
    dropped (rouge-score's English tokenizer drops punctuation too), Latin lower-cased."""
    words = (word.strip().lower() for word in jieba.lcut(text))
    return " ".join(word for word in words if word and any(ch.isalnum() for ch in word))


class WhitespaceTokenizer(tokenizers.Tokenizer):
    """Splits on whitespace only: rouge-score's default tokenizer keeps [a-z0-9] and
    would turn a Chinese sentence into no tokens at all."""

    def tokenize(self, text: str) -> list[str]:
        return text.split()


_ROUGE = {
    "en": rouge_scorer.RougeScorer(["rougeL"]),
    "zh": rouge_scorer.RougeScorer(["rougeL"], tokenizer=WhitespaceTokenizer()),
}


def bleu(hypotheses: Sequence[str], references: Sequence[str], language: str) -> float:
    """Corpus BLEU (0-100); sacrebleu's "zh" tokenizer splits Chinese by character."""
    if not hypotheses:
        return float("nan")
    tokenize = "zh" if language == "zh" else "13a"
    return float(
        sacrebleu.corpus_bleu(list(hypotheses), [list(references)], tokenize=tokenize).score
    )


def rouge_l(hypothesis: str, reference: str, language: str) -> float:
    """ROUGE-L F1 (0-1) of one answer; Chinese is cut into words by jieba first."""
    if language == "zh":
        hypothesis, reference = segment_zh(hypothesis), segment_zh(reference)
    return float(
        _ROUGE["en" if language == "en" else "zh"].score(reference, hypothesis)["rougeL"].fmeasure
    )


def mean_rouge_l(hypotheses: Sequence[str], references: Sequence[str], language: str) -> float:
    if not hypotheses:
        return float("nan")
    return statistics.fmean(
        rouge_l(h, r, language) for h, r in zip(hypotheses, references, strict=True)
    )


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


# ----------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Question:
    language: str
    text: str
    article: str
    reference: str


@dataclass(frozen=True)
class Retrieved:
    question: Question
    found: KnowledgeAnswer
    seconds: float

    @property
    def candidate_ids(self) -> list[str]:
        return [candidate.article.id for candidate in self.found.candidates]

    @property
    def answered(self) -> bool:
        return self.found.answerable and self.found.article is not None


def load_questions() -> list[Question]:
    data = yaml.safe_load(EVAL.read_text(encoding="utf-8"))
    return [
        Question(item["language"], item["question"], item["article"], item["reference"])
        for item in data["questions"]
    ]


def spread(items: Sequence[Retrieved], limit: int | None) -> list[Retrieved]:
    """`limit` items spread evenly over `items` (the set is grouped by article, so the
    first N would cover only the first few articles)."""
    if limit is None or limit >= len(items):
        return list(items)
    return [items[(i * len(items)) // limit] for i in range(limit)]


def answer_request(retrieved: Retrieved) -> GenerationRequest:
    """The request actions/faq.py KnowledgeAnswerMixin.send_answer makes."""
    found = retrieved.found
    article = found.article
    if article is None:
        raise ValueError("only answered questions have an answer to generate")
    passages = [scored.chunk.text for scored in found.chunks if scored.chunk.kind == "body"]
    return GenerationRequest(
        task=TaskKind.ANSWER_FROM_FACTS,
        language="en" if retrieved.question.language == "en" else "zh",
        facts=[f"{article.title}: {article.body}", *passages[:MAX_FACT_CHUNKS]],
        template=article.body,
        user_text=retrieved.question.text,
    )


# ----------------------------------------------------------------------------- running


class RecordingBackend:
    """Wraps a backend to keep the model's last raw completion (None: none came back)."""

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.name = inner.name
        self.last: Completion | None = None

    async def complete(
        self, messages: Sequence[ChatMessage], *, max_new_tokens: int, deadline: float
    ) -> Completion:
        self.last = None
        completion = await self.inner.complete(
            messages, max_new_tokens=max_new_tokens, deadline=deadline
        )
        self.last = completion
        return completion

    async def warm_up(self) -> None:
        await self.inner.warm_up()


@dataclass
class Row:
    """One backend on one language's questions."""

    backend: str
    language: str
    subset: str  # "all" or "limit N"
    questions: int = 0
    answered: int = 0
    hypotheses: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    unanswered_references: int = 0
    faithful: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    raw_hypotheses: list[str] = field(default_factory=list)
    raw_references: list[str] = field(default_factory=list)
    raw_faithful: int = 0
    raw_truncated: int = 0
    samples: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        rouge = mean_rouge_l(self.hypotheses, self.references, self.language)
        e2e_n = self.answered + self.unanswered_references
        e2e = rouge * self.answered / e2e_n if e2e_n and self.answered else 0.0
        raw_n = len(self.raw_hypotheses)
        return {
            "backend": self.backend,
            "language": self.language,
            "subset": self.subset,
            "questions": self.questions,
            "answered": self.answered,
            "bleu": bleu(self.hypotheses, self.references, self.language),
            "rouge_l": rouge,
            "rouge_l_e2e": e2e,
            "faithful_rate": self.faithful / self.answered if self.answered else float("nan"),
            "generated_rate": (
                self.outcomes["generated"] / self.answered if self.answered else float("nan")
            ),
            "outcomes": dict(self.outcomes),
            "latency_p50_ms": 1000 * percentile(self.latencies, 0.5),
            "latency_p95_ms": 1000 * percentile(self.latencies, 0.95),
            "raw_outputs": raw_n,
            "raw_faithful_rate": self.raw_faithful / raw_n if raw_n else float("nan"),
            "raw_truncated": self.raw_truncated,
            "raw_bleu": bleu(self.raw_hypotheses, self.raw_references, self.language),
            "raw_rouge_l": mean_rouge_l(self.raw_hypotheses, self.raw_references, self.language),
        }


async def run_backend(
    generator: Generator,
    recorder: RecordingBackend | None,
    name: str,
    language: str,
    items: Sequence[Retrieved],
    subset: str,
    samples: int,
) -> Row:
    row = Row(name, language, subset, questions=len(items))
    for item in items:
        if not item.answered:
            row.unanswered_references += 1
            continue
        request = answer_request(item)
        started = time.perf_counter()
        generation: Generation = await generator.generate(request)
        row.latencies.append(time.perf_counter() - started)
        row.answered += 1
        row.hypotheses.append(generation.text)
        row.references.append(item.question.reference)
        facts = request.fact_lines()
        if check_grounding(generation.text, facts).ok:
            row.faithful += 1
        outcome = generation.fallback_reason or (
            "generated" if generation.generated else "template"
        )
        row.outcomes[outcome] += 1
        raw = uncleaned = None
        if recorder is not None and recorder.last is not None:
            uncleaned = recorder.last.text
            raw = clean_output(uncleaned, truncated=recorder.last.truncated)
            row.raw_truncated += recorder.last.truncated
            row.raw_hypotheses.append(raw)
            row.raw_references.append(item.question.reference)
            if raw and check_grounding(raw, facts).ok:
                row.raw_faithful += 1
        if len(row.samples) < samples:
            row.samples.append(
                {
                    "question": item.question.text,
                    "article": item.found.article.id if item.found.article else None,
                    "outcome": outcome,
                    "raw": raw,
                    "raw_uncleaned": uncleaned,
                    "sent": generation.text,
                }
            )
    return row


def build_generator(
    name: str, settings: GeneratorSettings
) -> tuple[Generator, RecordingBackend | None]:
    generator = create_generator(replace(settings, backend=name))  # type: ignore[arg-type]
    if isinstance(generator, LLMGenerator):
        recorder = RecordingBackend(generator.backend)
        wrapped = LLMGenerator(
            recorder, generator.settings, secrets=generator.secrets, counter=OutcomeCounter()
        )
        return wrapped, recorder
    return TemplateGenerator(OutcomeCounter()), None


def retrieval_summary(items: Sequence[Retrieved]) -> dict[str, Any]:
    n = len(items)
    hit1 = sum(1 for r in items if r.candidate_ids[:1] == [r.question.article])
    hit3 = sum(1 for r in items if r.question.article in r.candidate_ids[:3])
    answered = [r for r in items if r.answered]
    wrong = sum(1 for r in answered if r.found.article and r.found.article.id != r.question.article)
    seconds = [r.seconds for r in items]
    return {
        "questions": n,
        "hit@1": hit1 / n,
        "hit@3": hit3 / n,
        "answerable_rate": len(answered) / n,
        "answered_wrong_article": wrong,
        "latency_p50_ms": 1000 * percentile(seconds, 0.5),
        "latency_p95_ms": 1000 * percentile(seconds, 0.95),
    }


# ----------------------------------------------------------------------------- output


def _pct(value: float) -> str:
    return "-" if value != value else f"{100 * value:.0f}%"  # NaN check


def _num(value: float, digits: int = 1) -> str:
    return "-" if value != value else f"{value:.{digits}f}"


def retrieval_table(summaries: dict[str, dict[str, Any]]) -> str:
    lines = [
        "| lang | n | hit@1 | hit@3 | answerable | answered, wrong article | p50 ms | p95 ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for language, s in summaries.items():
        lines.append(
            f"| {language} | {s['questions']} | {_pct(s['hit@1'])} | {_pct(s['hit@3'])} | "
            f"{_pct(s['answerable_rate'])} | {s['answered_wrong_article']} | "
            f"{_num(s['latency_p50_ms'])} | {_num(s['latency_p95_ms'])} |"
        )
    return "\n".join(lines)


def answers_table(summaries: Sequence[dict[str, Any]]) -> str:
    lines = [
        "| backend | lang | questions | answered | BLEU | ROUGE-L | e2e ROUGE-L | faithful "
        "(sent) | generated | fallbacks | p50 ms | p95 ms | raw outputs (cut at max tokens) | "
        "raw passes grounding | raw BLEU | raw ROUGE-L |",
        "|" + "---|" * 16,
    ]
    for s in summaries:
        fallbacks = ", ".join(
            f"{reason} {s['outcomes'][reason]}" for reason in REASONS if s["outcomes"].get(reason)
        )
        generated = "- (template)" if s["backend"] == "template" else _pct(s["generated_rate"])
        raw = "-" if not s["raw_outputs"] else None
        lines.append(
            f"| {s['backend']} | {s['language']} | {s['questions']} ({s['subset']}) | "
            f"{s['answered']} | {_num(s['bleu'])} | {_num(s['rouge_l'], 3)} | "
            f"{_num(s['rouge_l_e2e'], 3)} | {_pct(s['faithful_rate'])} | {generated} | "
            f"{fallbacks or '-'} | {_num(s['latency_p50_ms'])} | {_num(s['latency_p95_ms'])} | "
            + (
                f"{raw} | {raw} | {raw} | {raw} |"
                if raw
                else f"{s['raw_outputs']} ({s['raw_truncated']}) | "
                f"{_pct(s['raw_faithful_rate'])} | "
                f"{_num(s['raw_bleu'])} | {_num(s['raw_rouge_l'], 3)} |"
            )
        )
    return "\n".join(lines)


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


# ----------------------------------------------------------------------------- main


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--backends", default="template", help="comma-separated: template,transformers,openai"
    )
    parser.add_argument(
        "--limit", type=int, default=None, help="questions per language for model backends"
    )
    parser.add_argument("--deadline", type=float, default=None, help="seconds per call")
    parser.add_argument("--samples", type=int, default=3, help="answers kept per row in JSON")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("bm25s").setLevel(logging.WARNING)

    settings = get_settings()
    generator_settings = get_settings().generator
    if args.deadline is not None:
        generator_settings = replace(generator_settings, deadline_s=args.deadline)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    notes: list[str] = []
    if "openai" in backends and not generator_settings.openai_base_url:
        backends.remove("openai")
        notes.append("openai skipped: OPENAI_BASE_URL is not set")

    kb = KnowledgeBase(settings.knowledge_dir, settings.faq_min_score)
    started = time.perf_counter()
    kb.warm_up()
    notes.append(f"knowledge base ({kb.retrieval}) loaded in {time.perf_counter() - started:.1f} s")

    retrieved: dict[str, list[Retrieved]] = {language: [] for language in LANGUAGES}
    for question in load_questions():
        began = time.perf_counter()
        found = kb.answer(question.text, question.language)
        retrieved[question.language].append(Retrieved(question, found, time.perf_counter() - began))
    retrieval = {language: retrieval_summary(items) for language, items in retrieved.items()}

    rows: list[Row] = []
    for name in backends:
        generator, recorder = build_generator(name, generator_settings)
        began = time.perf_counter()
        await generator.warm_up()
        if name != "template":
            notes.append(f"{name}: warm-up (model load) {time.perf_counter() - began:.1f} s")
        for language in LANGUAGES:
            items = retrieved[language]
            if name == "template":
                rows.append(
                    await run_backend(generator, None, name, language, items, "all", args.samples)
                )
                if args.limit is not None and args.limit < len(items):
                    rows.append(
                        await run_backend(
                            generator,
                            None,
                            name,
                            language,
                            spread(items, args.limit),
                            f"limit {args.limit}",
                            args.samples,
                        )
                    )
            else:
                subset = "all" if args.limit is None else f"limit {args.limit}"
                rows.append(
                    await run_backend(
                        generator,
                        recorder,
                        name,
                        language,
                        spread(items, args.limit),
                        subset,
                        args.samples,
                    )
                )

    summaries = [row.summary() for row in rows]
    load = os.getloadavg()
    header = (
        f"retrieval {kb.retrieval}, min confidence {kb.min_confidence}; deadline "
        f"{generator_settings.deadline_s} s, max_new_tokens {generator_settings.max_new_tokens}, "
        f"torch threads {generator_settings.torch_threads}; {os.cpu_count()} cores, load "
        f"average {load[0]:.1f} / {load[1]:.1f} at the end"
    )
    print(header + "\n")
    print("Retrieval (all questions)\n")
    print(retrieval_table(retrieval))
    print("\nAnswers (scored on answered questions; e2e ROUGE-L counts unanswered as 0)\n")
    print(answers_table(summaries))
    print()
    print("\n".join(f"- {note}" for note in notes))

    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "settings": header,
        "retrieval": retrieval,
        "answers": summaries,
        "samples": [
            {"backend": row.backend, "language": row.language, "subset": row.subset, **sample}
            for row in rows
            for sample in row.samples
        ],
        "notes": notes,
    }
    args.out.write_text(
        json.dumps(_json_safe(report), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    print(
        f"- written to {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}"
    )


if __name__ == "__main__":
    asyncio.run(main())
