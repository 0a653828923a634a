"""The openai backend against a local fake OpenAI-compatible server."""

from __future__ import annotations

import secrets
import socket
import time

import pytest

from shopmate.llm import (
    GeneratorSettings,
    LLMGenerator,
    OutcomeCounter,
    create_generator,
)
from shopmate.llm.backends import OpenAIBackend

from .fakes import ORDER_TEMPLATE_EN, FakeOpenAIServer, order_request

FAITHFUL_EN = "Good news: order A1234567 shipped with SF Express on Nov 20, 2026."


async def openai_generator(
    server_url: str, *, deadline_s: float = 2.5, max_retries: int = 2, api_key: str = ""
) -> LLMGenerator:
    """A generator for the fake server, warmed up as the action server does at start
    (importing openai takes a second or more on a busy machine: not the deadline's job)."""
    settings = GeneratorSettings(
        backend="openai",
        openai_base_url=server_url,
        openai_model="shop-model",
        openai_api_key=api_key,
        openai_max_retries=max_retries,
        deadline_s=deadline_s,
    )
    generator = create_generator(settings)
    assert isinstance(generator, LLMGenerator)
    generator.counter = OutcomeCounter()
    await generator.warm_up()
    return generator


async def test_generates_through_the_chat_completions_api(
    fake_openai_server: FakeOpenAIServer,
) -> None:
    fake_openai_server.reply = FAITHFUL_EN
    generator = await openai_generator(fake_openai_server.base_url, api_key="local-key-1234")
    result = await generator.generate(order_request("en", "where is my order?"))
    assert result.text == FAITHFUL_EN
    assert result.generated
    assert result.generated_tokens == 9
    body = fake_openai_server.requests[0]
    assert body["model"] == "shop-model"
    assert body["temperature"] == 0
    assert body["stream"] is False
    assert body["max_tokens"] == 48
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert fake_openai_server.headers[0]["authorization"] == "Bearer local-key-1234"


async def test_a_slow_server_times_out_to_the_template(
    fake_openai_server: FakeOpenAIServer,
) -> None:
    fake_openai_server.mode = "slow"
    fake_openai_server.reply = FAITHFUL_EN
    generator = await openai_generator(fake_openai_server.base_url, deadline_s=0.5)
    started = time.monotonic()
    result = await generator.generate(order_request("en"))
    assert time.monotonic() - started < 0.8
    assert result.fallback_reason == "timeout"
    assert result.text == ORDER_TEMPLATE_EN


async def test_a_failing_server_is_retried_then_the_template_is_used(
    fake_openai_server: FakeOpenAIServer,
) -> None:
    fake_openai_server.mode = "error"
    generator = await openai_generator(fake_openai_server.base_url, deadline_s=10, max_retries=2)
    result = await generator.generate(order_request("en"))
    assert fake_openai_server.hits == 3  # the first try and two retries
    assert result.fallback_reason == "error"
    assert result.text == ORDER_TEMPLATE_EN


async def test_retries_stop_at_the_deadline(fake_openai_server: FakeOpenAIServer) -> None:
    fake_openai_server.mode = "error"
    generator = await openai_generator(fake_openai_server.base_url, deadline_s=0.3, max_retries=50)
    started = time.monotonic()
    result = await generator.generate(order_request("en"))
    assert time.monotonic() - started < 0.6
    assert result.fallback_reason == "timeout"


async def test_an_unreachable_server_falls_back() -> None:
    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    generator = await openai_generator(f"http://127.0.0.1:{port}/v1", max_retries=0)
    result = await generator.generate(order_request("en"))
    assert result.fallback_reason == "error"


async def test_the_api_key_never_reaches_the_shopper(
    fake_openai_server: FakeOpenAIServer,
) -> None:
    key = "plainkey-" + secrets.token_hex(8)
    fake_openai_server.reply = f"Your key is {key}, order A1234567."
    generator = await openai_generator(fake_openai_server.base_url, api_key=key)
    result = await generator.generate(order_request("en"))
    assert result.fallback_reason == "unsafe"
    assert "plainkey" not in result.text


def test_the_backend_needs_a_url_and_a_model() -> None:
    with pytest.raises(ValueError, match="OPENAI_BASE_URL"):
        OpenAIBackend("", "m")
