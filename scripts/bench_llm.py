#!/usr/bin/env python
"""Benchmark the text generators: speed, latency and how often each falls back, and why.

For each backend (template, transformers, and openai when OPENAI_BASE_URL is set), runs
--n generations of each task kind (answer_from_facts, rephrase, marketing_copy) in zh and
en, one at a time as one conversation would, and prints a markdown table: tokens/s
(generated tokens / backend seconds), p50/p95 latency of the whole generate call, and
the share of calls that returned generated text or fell back per reason.

    .venv-actions/bin/python -m scripts.bench_llm
    .venv-actions/bin/python -m scripts.bench_llm --backends transformers --deadline 30
    .venv-actions/bin/python -m scripts.bench_llm --model-path /models/qwen2.5-0.5b-instruct

A long --deadline measures what the model says (how often it passes the checks) apart
from how fast it says it. --show-samples prints what the model wrote for a few calls.
The requests are synthetic; no shopper data is involved.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from shopmate.llm import (
    Backend,
    ChatMessage,
    Completion,
    GenerationRequest,
    GeneratorSettings,
    LLMGenerator,
    OutcomeCounter,
    TaskKind,
    TemplateGenerator,
    create_generator,
)
from shopmate.settings import get_settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")


REASONS = ("timeout", "error", "unsafe", "wrong_language", "low_quality", "ungrounded")

ANSWER_ZH = [
    (
        {"订单号": "A1234567", "状态": "已发货", "快递": "顺丰", "发货日期": "2026-11-20"},
        "您的订单A1234567已于2026-11-20通过顺丰发货。",
        "我的订单到哪了？",
    ),
    (
        {"退款金额": "¥129.00", "退款状态": "处理中", "预计到账": "3个工作日内"},
        "您的退款¥129.00正在处理中，预计3个工作日内到账。",
        "退款什么时候到账？",
    ),
    (
        ["签收后7天内支持无理由退货", "商品需保持吊牌完好"],
        "签收后7天内可以无理由退货，请保持吊牌完好。",
        "这件衣服可以退吗？",
    ),
    (
        ["订单满99元包邮", "不满99元收取运费10元"],
        "订单满99元包邮，不满99元运费10元。",
        "运费怎么算？",
    ),
    (
        {"订单号": "A7654321", "状态": "已发货", "规则": "发货后不能取消订单，可签收后申请退货"},
        "订单A7654321已发货，无法取消；签收后可以申请退货。",
        "帮我取消订单",
    ),
]
ANSWER_EN = [
    (
        {
            "order": "A1234567",
            "status": "shipped",
            "carrier": "SF Express",
            "shipped on": "2026-11-20",
        },
        "Your order A1234567 was shipped on 2026-11-20 with SF Express.",
        "Where is my order?",
    ),
    (
        {
            "refund amount": "¥129.00",
            "refund status": "processing",
            "expected": "within 3 business days",
        },
        "Your refund of ¥129.00 is being processed and should arrive within 3 business days.",
        "When will I get my refund?",
    ),
    (
        [
            "Items can be returned within 7 days of delivery without a reason",
            "Tags must be attached",
        ],
        "You can return items within 7 days of delivery without a reason; keep the tags on.",
        "Can I return this shirt?",
    ),
    (
        ["Free shipping on orders over ¥99", "Orders under ¥99 pay ¥10 shipping"],
        "Shipping is free over ¥99; below that it costs ¥10.",
        "How much is shipping?",
    ),
    (
        {"order": "A7654321", "status": "shipped", "rule": "shipped orders cannot be cancelled"},
        "Order A7654321 has shipped, so it can't be cancelled; you can return it after delivery.",
        "Please cancel my order",
    ),
]
PRODUCTS_ZH = [
    (
        {"名称": "云朵T恤", "材质": "纯棉", "价格": "¥99", "颜色": "白色、黑色"},
        "云朵T恤：纯棉，白色和黑色，¥99。",
    ),
    (
        {"名称": "轻羽羽绒服", "填充": "90%白鸭绒", "价格": "¥599", "特点": "防风"},
        "轻羽羽绒服：90%白鸭绒，防风，¥599。",
    ),
    ({"名称": "疾风跑鞋", "鞋面": "透气网面", "价格": "¥399"}, "疾风跑鞋：透气网面，¥399。"),
    (
        {"名称": "随行保温杯", "材质": "不锈钢", "容量": "500ml", "价格": "¥89"},
        "随行保温杯：不锈钢，500ml，¥89。",
    ),
    ({"名称": "晨光围巾", "材质": "真丝", "价格": "¥259"}, "晨光围巾：真丝，¥259。"),
]
PRODUCTS_EN = [
    (
        {"name": "Cloud Tee", "material": "cotton", "price": "¥99", "colors": "white, black"},
        "Cloud Tee: cotton, white or black, ¥99.",
    ),
    (
        {
            "name": "Featherlight Down Jacket",
            "fill": "90% white duck down",
            "price": "¥599",
            "feature": "windproof",
        },
        "Featherlight Down Jacket: 90% white duck down, windproof, ¥599.",
    ),
    (
        {"name": "Swift Runner", "upper": "breathable mesh", "price": "¥399"},
        "Swift Runner: breathable mesh upper, ¥399.",
    ),
    (
        {
            "name": "Travel Flask",
            "material": "stainless steel",
            "capacity": "500ml",
            "price": "¥89",
        },
        "Travel Flask: stainless steel, 500ml, ¥89.",
    ),
    ({"name": "Dawn Scarf", "material": "silk", "price": "¥259"}, "Dawn Scarf: silk, ¥259."),
]


def requests_for(task: TaskKind, language: str, n: int) -> list[GenerationRequest]:
    lang = "zh" if language == "zh" else "en"
    if task is TaskKind.MARKETING_COPY:
        products = PRODUCTS_ZH if lang == "zh" else PRODUCTS_EN
        base = [GenerationRequest(task, lang, facts, template) for facts, template in products]
    else:
        answers = ANSWER_ZH if lang == "zh" else ANSWER_EN
        base = [
            GenerationRequest(task, lang, facts, template, user_text)
            for facts, template, user_text in answers
        ]
    return [base[i % len(base)] for i in range(n)]


class RecordingBackend:
    """Wraps a backend to keep what the model wrote, for --show-samples."""

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.name = inner.name
        self.last_text = ""

    async def complete(
        self, messages: Sequence[ChatMessage], *, max_new_tokens: int, deadline: float
    ) -> Completion:
        self.last_text = ""
        completion = await self.inner.complete(
            messages, max_new_tokens=max_new_tokens, deadline=deadline
        )
        self.last_text = completion.text
        return completion

    async def warm_up(self) -> None:
        await self.inner.warm_up()


@dataclass
class Row:
    backend: str
    task: str
    language: str
    latencies: list[float] = field(default_factory=list)
    tokens: int = 0
    backend_s: float = 0.0
    outcomes: Counter[str] = field(default_factory=Counter)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


async def bench_backend(
    name: str, settings: GeneratorSettings, n: int, show: int
) -> tuple[list[Row], float]:
    generator = create_generator(replace(settings, backend=name))  # type: ignore[arg-type]
    recorder: RecordingBackend | None = None
    if isinstance(generator, LLMGenerator):
        recorder = RecordingBackend(generator.backend)
        generator = LLMGenerator(
            recorder, generator.settings, secrets=generator.secrets, counter=OutcomeCounter()
        )
    elif isinstance(generator, TemplateGenerator):
        generator = TemplateGenerator(OutcomeCounter())
    started = time.monotonic()
    await generator.warm_up()
    warm_s = time.monotonic() - started

    rows = []
    for task in TaskKind:
        for language in ("zh", "en"):
            row = Row(name, task.value, language)
            for i, request in enumerate(requests_for(task, language, n)):
                result = await generator.generate(request)
                row.latencies.append(result.latency_s)
                if result.generated_tokens and result.backend_s:
                    row.tokens += result.generated_tokens
                    row.backend_s += result.backend_s
                outcome = result.fallback_reason or (
                    "generated" if result.generated else "template"
                )
                row.outcomes[outcome] += 1
                if recorder is not None and i < show:
                    print(
                        f"[{name} {task.value} {language}] {outcome}: {recorder.last_text!r}",
                        file=sys.stderr,
                    )
            rows.append(row)
    return rows, warm_s


def table(rows: list[Row]) -> str:
    header = (
        "| backend | task | lang | n | tokens/s | p50 ms | p95 ms | generated | "
        + " | ".join(REASONS)
        + " |"
    )
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for row in rows:
        n = len(row.latencies)
        speed = f"{row.tokens / row.backend_s:.1f}" if row.backend_s else "-"
        shares = [f"{100 * row.outcomes[key] / n:.0f}%" for key in ("generated", *REASONS)]
        if row.backend == "template":
            shares[0] = "- (template)"
        lines.append(
            f"| {row.backend} | {row.task} | {row.language} | {n} | {speed} | "
            f"{1000 * percentile(row.latencies, 0.5):.1f} | "
            f"{1000 * percentile(row.latencies, 0.95):.1f} | " + " | ".join(shares) + " |"
        )
    return "\n".join(lines)


def totals(rows: list[Row]) -> str:
    lines = []
    for backend in dict.fromkeys(row.backend for row in rows):
        mine = [row for row in rows if row.backend == backend]
        outcomes: Counter[str] = sum((row.outcomes for row in mine), Counter())
        n = sum(outcomes.values())
        latencies = [value for row in mine for value in row.latencies]
        tokens = sum(row.tokens for row in mine)
        seconds = sum(row.backend_s for row in mine)
        speed = f"{tokens / seconds:.1f} tokens/s, " if seconds else ""
        parts = ", ".join(f"{key} {100 * count / n:.0f}%" for key, count in outcomes.most_common())
        lines.append(
            f"- {backend}: {n} calls, {speed}p50 {1000 * statistics.median(latencies):.0f} ms, "
            f"p95 {1000 * percentile(latencies, 0.95):.0f} ms; {parts}"
        )
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="", help="comma-separated (default: all usable)")
    parser.add_argument("--n", type=int, default=20, help="generations per task and language")
    parser.add_argument("--model-path", default=None, help="transformers: model dir or .gguf")
    parser.add_argument("--gguf-file", default=None)
    parser.add_argument("--device", default=None)
    parser.add_argument("--deadline", type=float, default=None, help="seconds per call")
    parser.add_argument("--max-new-tokens", type=int, default=None)
    parser.add_argument("--torch-threads", type=int, default=None)
    parser.add_argument("--show-samples", type=int, default=0, help="raw outputs per row")
    args = parser.parse_args()

    settings = get_settings().generator
    overrides = {
        "model_path": args.model_path,
        "gguf_file": args.gguf_file,
        "device": args.device,
        "deadline_s": args.deadline,
        "max_new_tokens": args.max_new_tokens,
        "torch_threads": args.torch_threads,
    }
    settings = replace(settings, **{k: v for k, v in overrides.items() if v is not None})
    backends = [b for b in args.backends.split(",") if b] or ["template", "transformers"] + (
        ["openai"] if settings.openai_base_url else []
    )

    all_rows: list[Row] = []
    notes = []
    for backend in backends:
        rows, warm_s = await bench_backend(backend, settings, args.n, args.show_samples)
        all_rows += rows
        notes.append(f"- {backend}: warm-up (model load) {warm_s:.1f} s")
    load = os.getloadavg()
    print(
        f"deadline {settings.deadline_s} s, max_new_tokens {settings.max_new_tokens}, "
        f"torch threads {settings.torch_threads}, {os.cpu_count()} cores, "
        f"load average {load[0]:.1f} / {load[1]:.1f} at the end\n"
    )
    print(table(all_rows))
    print()
    print(totals(all_rows))
    print("\n".join(notes))


if __name__ == "__main__":
    asyncio.run(main())
