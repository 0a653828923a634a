"""The generate contract: checked text or the template, in time, never an exception."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import time

import pytest

from shopmate.llm import (
    Completion,
    GenerationRequest,
    GeneratorSettings,
    LLMGenerator,
    OutcomeCounter,
    TaskKind,
    TemplateGenerator,
    clean_output,
    create_generator,
    in_language,
)
from shopmate.settings import generator_settings

from .fakes import (
    ORDER_TEMPLATE_EN,
    ORDER_TEMPLATE_ZH,
    FakeBackend,
    StubbornBackend,
    ThreadSleepBackend,
    order_request,
)

FAITHFUL_ZH = "亲，您的订单A1234567已在11月20日由顺丰发出，金额299元。"


def generator(backend: FakeBackend, deadline_s: float = 2.5) -> LLMGenerator:
    return LLMGenerator(
        backend,
        GeneratorSettings(backend="transformers", deadline_s=deadline_s),
        counter=OutcomeCounter(),
    )


async def test_template_generator_returns_the_template() -> None:
    counter = OutcomeCounter()
    result = await TemplateGenerator(counter).generate(order_request("zh"))
    assert result.text == ORDER_TEMPLATE_ZH
    assert result.fallback_reason is None
    assert not result.generated
    assert counter.snapshot() == {"answer_from_facts": {"template": 1}}


async def test_grounded_output_is_returned() -> None:
    result = await generator(FakeBackend(FAITHFUL_ZH)).generate(order_request("zh"))
    assert result.text == FAITHFUL_ZH
    assert result.generated
    assert result.generated_tokens == 7


async def test_ungrounded_output_falls_back() -> None:
    backend = FakeBackend("您的订单A1234567已发货，金额199元。")
    result = await generator(backend).generate(order_request("zh"))
    assert result.text == ORDER_TEMPLATE_ZH
    assert result.fallback_reason == "ungrounded"
    assert result.generated_tokens == 7  # counted even when rejected, for benchmarks


async def test_unsafe_output_falls_back() -> None:
    result = await generator(FakeBackend("你是白痴吗")).generate(order_request("zh"))
    assert result.fallback_reason == "unsafe"


async def test_wrong_language_falls_back() -> None:
    result = await generator(FakeBackend("Your order has shipped.")).generate(order_request("zh"))
    assert result.fallback_reason == "wrong_language"
    assert result.text == ORDER_TEMPLATE_ZH


@pytest.mark.parametrize("error", [RuntimeError("model exploded"), ValueError("bad"), OSError()])
async def test_backend_errors_fall_back(error: Exception) -> None:
    result = await generator(FakeBackend(error=error)).generate(order_request("en"))
    assert result.text == ORDER_TEMPLATE_EN
    assert result.fallback_reason == "error"


async def test_backend_timeout_error_counts_as_timeout() -> None:
    result = await generator(FakeBackend(error=TimeoutError())).generate(order_request("en"))
    assert result.fallback_reason == "timeout"


async def test_empty_output_falls_back() -> None:
    result = await generator(FakeBackend("   ")).generate(order_request("en"))
    assert result.fallback_reason == "error"


@pytest.mark.parametrize("backend_class", [FakeBackend, StubbornBackend, ThreadSleepBackend])
async def test_the_caller_never_waits_past_the_deadline(backend_class: type[FakeBackend]) -> None:
    backend = backend_class(FAITHFUL_ZH, delay_s=1.5)
    started = time.monotonic()
    result = await generator(backend, deadline_s=0.2).generate(order_request("zh"))
    elapsed = time.monotonic() - started
    assert result.fallback_reason == "timeout"
    assert result.text == ORDER_TEMPLATE_ZH
    assert elapsed < 0.45


async def test_request_deadline_overrides_settings() -> None:
    backend = FakeBackend(FAITHFUL_ZH, delay_s=0.3)
    request = GenerationRequest(
        task=TaskKind.ANSWER_FROM_FACTS,
        language="zh",
        facts=["订单号: A1234567"],
        template="订单A1234567已发货。",
        deadline_s=0.05,
    )
    result = await generator(backend, deadline_s=5).generate(request)
    assert result.fallback_reason == "timeout"


async def test_concurrent_generations_each_keep_their_deadline() -> None:
    gen = generator(FakeBackend(FAITHFUL_ZH, delay_s=1.0), deadline_s=0.2)
    started = time.monotonic()
    results = await asyncio.gather(*(gen.generate(order_request("zh")) for _ in range(20)))
    assert time.monotonic() - started < 0.6
    assert {r.fallback_reason for r in results} == {"timeout"}


async def test_outcomes_are_counted_per_task_and_reason() -> None:
    counter = OutcomeCounter()
    settings = GeneratorSettings(backend="transformers")
    good = LLMGenerator(FakeBackend(FAITHFUL_ZH), settings, counter=counter)
    bad = LLMGenerator(FakeBackend("订单B7654321"), settings, counter=counter)
    await good.generate(order_request("zh"))
    await good.generate(order_request("zh"))
    await bad.generate(order_request("zh"))
    assert counter.snapshot() == {"answer_from_facts": {"generated": 2, "unsafe": 1}}


async def test_logs_carry_reason_and_task_but_no_text(caplog: pytest.LogCaptureFixture) -> None:
    secret_text = "我的手机13812345678，地址北京市朝阳区"
    backend = FakeBackend("订单B7654321，收货人张三，电话13912345678")
    with caplog.at_level(logging.DEBUG, logger="shopmate.llm"):
        await generator(backend).generate(order_request("zh", secret_text))
    messages = " ".join(record.getMessage() for record in caplog.records)
    assert "reason=unsafe" in messages
    assert "task=answer_from_facts" in messages
    for private in ("13812345678", "13912345678", "B7654321", "张三", "朝阳", "A1234567"):
        assert private not in messages


async def test_warm_up_failure_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(FakeBackend):
        async def warm_up(self) -> None:
            raise FileNotFoundError("/secret/path/model.gguf")

    with caplog.at_level(logging.WARNING, logger="shopmate.llm"):
        await generator(Broken()).warm_up()
    assert "FileNotFoundError" in caplog.text
    assert "/secret/path" not in caplog.text


def test_create_generator_follows_settings() -> None:
    assert isinstance(create_generator(GeneratorSettings()), TemplateGenerator)
    transformers = create_generator(GeneratorSettings(backend="transformers"))
    assert isinstance(transformers, LLMGenerator)
    assert transformers.name == "transformers"
    # openai without a URL degrades to templates instead of failing the server's start
    assert isinstance(create_generator(GeneratorSettings(backend="openai")), TemplateGenerator)
    openai = create_generator(
        GeneratorSettings(
            backend="openai", openai_base_url="http://127.0.0.1:9/v1", openai_model="m"
        )
    )
    assert isinstance(openai, LLMGenerator)


def test_settings_from_env() -> None:
    settings = generator_settings(
        {
            "LLM_BACKEND": "OpenAI",
            "LLM_MODEL_PATH": "/models/x.gguf",
            "LLM_MAX_NEW_TOKENS": "64",
            "LLM_DEADLINE_S": "1.5",
            "LLM_DEVICE": "cpu",
            "OPENAI_BASE_URL": "http://127.0.0.1:8000/v1",
            "OPENAI_MODEL": "qwen",
            "OPENAI_API_KEY": "key-123456",
        }
    )
    assert settings.backend == "openai"
    assert settings.model_path == "/models/x.gguf"
    assert settings.max_new_tokens == 64
    assert settings.deadline_s == 1.5
    assert settings.device == "cpu"
    assert settings.openai_model == "qwen"
    assert "key-123456" not in repr(settings)


def test_settings_defaults_are_safe() -> None:
    settings = generator_settings({"LLM_BACKEND": "gpt5", "LLM_DEADLINE_S": "soon"})
    assert settings.backend == "template"
    assert settings.deadline_s == 2.5
    assert generator_settings({}).backend == "template"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Assistant: Your order has shipped.", "Your order has shipped."),
        ("“您的订单已发货。”", "您的订单已发货。"),
        ("您的订单已发货。我们会尽快为您处理并且", "您的订单已发货。"),
        ("Your order has shipped. We will keep you", "Your order has shipped."),
        ("no sentence end at all", "no sentence end at all"),
    ],
)
def test_clean_output(raw: str, clean: str) -> None:
    assert clean_output(raw) == clean


def test_language_check() -> None:
    assert in_language("您的订单已发货。", "zh")
    assert in_language("您的 iPhone 15 Pro 订单已发货。", "zh")
    assert not in_language("Your order has shipped.", "zh")
    assert in_language("Your 云朵T恤 order has shipped.", "en")
    assert not in_language("您的订单已发货。", "en")


def test_importing_the_package_loads_no_heavy_library() -> None:
    code = (
        "import sys, shopmate.llm;"
        "heavy = {'torch', 'transformers', 'openai'} & set(sys.modules);"
        "sys.exit(f'imported {heavy}' if heavy else 0)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.parametrize(
    "reply",
    [
        "I'm an AI assistant designed to help with mathematics problems.",  # off topic
        "Your order A1234567, your order A1234567, your order A1234567.",  # looping
        "云朵T恤, 纯棉, 黑色, 黑色, 白色, 白色。",  # looping
        "您的订单已经\ufffd发货。",  # garbled bytes
    ],
)
async def test_unusable_replies_fall_back_as_low_quality(reply: str) -> None:
    language = "en" if reply.isascii() else "zh"
    result = await generator(FakeBackend(reply)).generate(order_request(language))
    assert result.fallback_reason == "low_quality"


async def test_a_reply_cut_off_mid_sentence_is_not_sent() -> None:
    class Truncating(FakeBackend):
        async def complete(self, messages, *, max_new_tokens, deadline):  # type: ignore[no-untyped-def]
            return Completion(text="您的订单A1234567已由顺丰发", truncated=True)

    result = await generator(Truncating()).generate(order_request("zh"))
    assert result.fallback_reason == "low_quality"


async def test_a_cut_off_reply_keeps_its_finished_sentences() -> None:
    class Truncating(FakeBackend):
        async def complete(self, messages, *, max_new_tokens, deadline):  # type: ignore[no-untyped-def]
            return Completion(text="您的订单A1234567已由顺丰发出。预计", truncated=True)

    result = await generator(Truncating()).generate(order_request("zh"))
    assert result.text == "您的订单A1234567已由顺丰发出。"


async def test_a_reply_echoing_the_prompt_headings_is_a_leak() -> None:
    reply = "事实：\n- 订单号: A1234567\n- 状态: 已发货"
    result = await generator(FakeBackend(reply)).generate(order_request("zh"))
    assert result.fallback_reason == "unsafe"


async def test_a_reply_that_repeats_the_shopper_is_not_sent() -> None:
    reply = '顾客说："我的订单到哪了？"'
    result = await generator(FakeBackend(reply)).generate(order_request("zh"))
    assert result.fallback_reason in {"low_quality", "unsafe"}


async def test_a_word_said_three_times_is_looping() -> None:
    reply = "Order A1234567 shipped with SF Express: lightweight, lightweight and lightweight."
    result = await generator(FakeBackend(reply)).generate(order_request("en"))
    assert result.fallback_reason == "low_quality"
