"""Fakes for the generator tests: scripted backends and an OpenAI-compatible server."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from shopmate.llm import ChatMessage, Completion, GenerationRequest, TaskKind

Reply = str | Callable[[Sequence[ChatMessage]], str]


class FakeBackend:
    """Returns a scripted reply (or the result of a function of the messages)."""

    name = "fake"

    def __init__(
        self,
        reply: Reply = "",
        *,
        delay_s: float = 0.0,
        error: Exception | None = None,
        tokens: int = 7,
    ) -> None:
        self.reply = reply
        self.delay_s = delay_s
        self.error = error
        self.tokens = tokens
        self.calls: list[list[ChatMessage]] = []

    async def complete(
        self, messages: Sequence[ChatMessage], *, max_new_tokens: int, deadline: float
    ) -> Completion:
        self.calls.append(list(messages))
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.error is not None:
            raise self.error
        text = self.reply(messages) if callable(self.reply) else self.reply
        return Completion(text=text, generated_tokens=self.tokens, seconds=0.01)

    async def warm_up(self) -> None:
        return None


class StubbornBackend(FakeBackend):
    """Ignores cancellation, like a client library that swallows it."""

    async def complete(
        self, messages: Sequence[ChatMessage], *, max_new_tokens: int, deadline: float
    ) -> Completion:
        end = time.monotonic() + self.delay_s
        while time.monotonic() < end:
            try:
                await asyncio.sleep(end - time.monotonic())
            except asyncio.CancelledError:
                continue
        return Completion(text=str(self.reply))


class ThreadSleepBackend(FakeBackend):
    """Blocks a worker thread the way torch's generate does."""

    async def complete(
        self, messages: Sequence[ChatMessage], *, max_new_tokens: int, deadline: float
    ) -> Completion:
        await asyncio.to_thread(time.sleep, self.delay_s)
        return Completion(text=str(self.reply))


ORDER_FACTS_ZH = {
    "订单号": "A1234567",
    "状态": "已发货",
    "发货日期": "2026-11-20",
    "快递": "顺丰",
    "金额": "¥299.00",
}
ORDER_TEMPLATE_ZH = "您的订单A1234567已于2026-11-20通过顺丰发货，金额¥299.00。"
ORDER_FACTS_EN = {
    "order": "A1234567",
    "status": "shipped",
    "shipped on": "2026-11-20",
    "carrier": "SF Express",
    "total": "¥299.00",
}
ORDER_TEMPLATE_EN = "Your order A1234567 was shipped on 2026-11-20 with SF Express; total ¥299.00."


def order_request(language: str = "zh", user_text: str = "我的订单到哪了？") -> GenerationRequest:
    zh = language == "zh"
    return GenerationRequest(
        task=TaskKind.ANSWER_FROM_FACTS,
        language="zh" if zh else "en",
        facts=ORDER_FACTS_ZH if zh else ORDER_FACTS_EN,
        template=ORDER_TEMPLATE_ZH if zh else ORDER_TEMPLATE_EN,
        user_text=user_text,
    )


@dataclass
class FakeOpenAIServer:
    """A tiny OpenAI-compatible /v1/chat/completions server on a free local port."""

    mode: str = "ok"  # ok | slow | error
    reply: str = ""
    hits: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    base_url: str = ""


def openai_handler(state: FakeOpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return None

        def _send(self, status: int, body: dict[str, Any], **headers: str) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            state.hits += 1
            state.requests.append(body)
            state.headers.append({k.lower(): v for k, v in self.headers.items()})
            if self.path != "/v1/chat/completions":
                self._send(404, {"error": {"message": "not found"}})
                return
            if state.mode == "slow":
                state.release.wait(timeout=10)
            if state.mode == "error":
                # retry-after-ms keeps the client's backoff short in tests.
                self._send(500, {"error": {"message": "boom"}}, retry_after_ms="10")
                return
            self._send(
                200,
                {
                    "id": "chatcmpl-test",
                    "object": "chat.completion",
                    "created": 0,
                    "model": body.get("model", ""),
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": state.reply},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 50, "completion_tokens": 9, "total_tokens": 59},
                },
            )

    return Handler
