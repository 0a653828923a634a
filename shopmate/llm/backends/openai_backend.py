"""Any OpenAI-compatible chat-completions server: vLLM, llama.cpp's server, Ollama, or a
hosted API, through the official ``openai`` client (its retries with backoff on 408,
409, 429 and 5xx, and its timeouts, are well kept; we only bound them by the deadline).
"""

from __future__ import annotations

import asyncio
import importlib
import sys
import time
from collections.abc import Sequence
from typing import Any

from ..config import GeneratorSettings
from ..schema import ChatMessage, Completion


class OpenAIBackend:
    name = "openai"

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str = "",
        *,
        timeout_s: float = 10.0,
        max_retries: int = 2,
    ) -> None:
        if not base_url or not model:
            raise ValueError("the openai backend needs OPENAI_BASE_URL and OPENAI_MODEL")
        self.base_url = base_url
        self.model = model
        self._api_key = api_key
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self._client: Any = None
        self._client_loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def from_settings(cls, settings: GeneratorSettings) -> OpenAIBackend:
        return cls(
            settings.openai_base_url,
            settings.openai_model,
            settings.openai_api_key,
            timeout_s=settings.openai_timeout_s,
            max_retries=settings.openai_max_retries,
        )

    async def _client_for_loop(self) -> Any:
        # Importing openai takes a second or more: do it off the event loop, where it
        # would otherwise stall every conversation (and blow this call's deadline).
        openai = await asyncio.to_thread(importlib.import_module, "openai")
        # An async HTTP client's connections belong to the loop that opened them; a new
        # loop (tests, a worker restart) gets a new client.
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            self._client = openai.AsyncOpenAI(
                base_url=self.base_url,
                # Local servers accept any key; the client insists on one.
                api_key=self._api_key or "not-needed",
                timeout=self.timeout_s,
                max_retries=self.max_retries,
            )
            self._client_loop = loop
        return self._client

    async def warm_up(self) -> None:
        await self._client_for_loop()

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def complete(
        self, messages: Sequence[ChatMessage], *, max_new_tokens: int, deadline: float
    ) -> Completion:
        client = await self._client_for_loop()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("deadline passed before the request")
        openai = sys.modules["openai"]
        started = time.monotonic()
        try:
            response = await client.chat.completions.create(
                model=self.model,
                messages=list(messages),
                max_tokens=max_new_tokens,
                temperature=0,
                stream=False,
                timeout=min(self.timeout_s, remaining),
            )
        except openai.APITimeoutError as exc:
            raise TimeoutError("chat completion timed out") from exc
        choice = response.choices[0] if response.choices else None
        text = (choice.message.content or "") if choice is not None else ""
        usage = getattr(response, "usage", None)
        tokens = getattr(usage, "completion_tokens", None) if usage is not None else None
        return Completion(
            text=text,
            generated_tokens=tokens,
            seconds=time.monotonic() - started,
            truncated=choice is not None and choice.finish_reason == "length",
        )
