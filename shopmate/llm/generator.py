"""The generators actions call, and the checks between a model and a shopper.

``LLMGenerator.generate`` is the whole contract: build the prompt, ask the backend, and
return checked text or the template, within the deadline, without raising. Every
outcome is counted per task kind and reason; logs carry the reason, task kind and
backend only, never the shopper's text, the facts or the output (they hold personal
data: names, addresses, order numbers).
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Iterable

from .backends import OpenAIBackend, TransformersBackend
from .config import GeneratorSettings
from .grounding import check_grounding
from .prompt import build_prompt
from .quality import echoes_shopper, is_degenerate, is_on_topic
from .safety import check_safety
from .schema import (
    Backend,
    Completion,
    FallbackReason,
    Generation,
    GenerationRequest,
    Generator,
    Language,
    Prompt,
)

logger = logging.getLogger(__name__)

MAX_OUTPUT_CHARS = 600


class OutcomeCounter:
    """How often each task kind ended in each outcome ("generated", "template", or a
    fallback reason). In-process and thread-safe; exported by whoever needs metrics."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()

    def record(self, task: str, outcome: str) -> None:
        with self._lock:
            self._counts[(task, outcome)] += 1

    def snapshot(self) -> dict[str, dict[str, int]]:
        with self._lock:
            result: dict[str, dict[str, int]] = {}
            for (task, outcome), count in sorted(self._counts.items()):
                result.setdefault(task, {})[outcome] = count
            return result

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


OUTCOMES = OutcomeCounter()


def outcome_counts() -> dict[str, dict[str, int]]:
    """Counts of this process's generations: {task kind: {outcome: count}}."""
    return OUTCOMES.snapshot()


# ----------------------------------------------------------------------- output checks

_LEADING_LABEL = re.compile(
    r"^\s*(?:assistant|shopmate|客服|助手|回复|答复|reply|answer)\s*[:：]\s*", re.IGNORECASE
)
_SENTENCE_END = '。！？!?.…）)"”'
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")


def clean_output(text: str, *, truncated: bool = False) -> str:
    """Trim what a small model adds around the answer, and cut an unfinished last
    sentence. Text that was cut off (``truncated``) and has no finished sentence is
    returned empty: half a sentence is not a reply."""
    text = _LEADING_LABEL.sub("", text.strip()).strip()
    if len(text) >= 2 and text[0] in '"“「' and text[-1] in '"”」':
        text = text[1:-1].strip()
    if len(text) > MAX_OUTPUT_CHARS:
        text, truncated = text[:MAX_OUTPUT_CHARS], True
    if text and text[-1] not in _SENTENCE_END:
        cut = max(max(text.rfind(mark) for mark in "。！？!?"), text.rfind(". "))
        if cut > 0:
            text = text[: cut + 1]
        elif truncated:
            return ""
    return text.strip()


def in_language(text: str, language: Language) -> bool:
    """zh needs mostly Chinese; en needs mostly Latin (product names may be either)."""
    cjk = len(_CJK.findall(text))
    latin_words = len(re.findall(r"[A-Za-z]+", text))
    if language == "zh":
        return cjk >= 2 and cjk >= latin_words
    return latin_words >= 2 and cjk <= max(4, latin_words // 2)


def review_output(
    text: str,
    request: GenerationRequest,
    prompt: Prompt,
    *,
    secrets: Iterable[str] = (),
) -> FallbackReason | None:
    """None if ``text`` may be sent, else why not. Safety first (the worst outcome),
    then language and quality (cheap, and they explain most rejections of a small
    model), then grounding."""
    sources = [*request.fact_lines(), request.template]
    safety = check_safety(
        text,
        facts=sources,
        instructions=prompt.instructions,
        markers=prompt.markers,
        secrets=secrets,
    )
    if not safety.ok:
        return "unsafe"
    if not in_language(text, request.language):
        return "wrong_language"
    if (
        is_degenerate(text)
        or not is_on_topic(text, sources)
        or echoes_shopper(text, request.user_text)
    ):
        return "low_quality"
    if not check_grounding(text, sources, known_product_names=request.known_product_names).ok:
        return "ungrounded"
    return None


# ----------------------------------------------------------------------- generators


class TemplateGenerator:
    """No model: the template is the reply. The default, and every fallback's text."""

    name = "template"

    def __init__(self, counter: OutcomeCounter | None = None) -> None:
        self.counter = counter or OUTCOMES

    async def generate(self, request: GenerationRequest) -> Generation:
        self.counter.record(request.task.value, "template")
        return Generation(text=request.template, backend=self.name)

    async def warm_up(self) -> None:
        return None


def _discard(task: asyncio.Future[Completion]) -> None:
    # A backend we stopped waiting for may still fail later; read its exception so
    # asyncio does not log "exception was never retrieved" with who knows what in it.
    if not task.cancelled():
        task.exception()


class LLMGenerator:
    """Generated text when it passes every check in time, else the template."""

    def __init__(
        self,
        backend: Backend,
        settings: GeneratorSettings | None = None,
        *,
        secrets: Iterable[str] = (),
        counter: OutcomeCounter | None = None,
    ) -> None:
        self.backend = backend
        self.settings = settings or GeneratorSettings()
        self.secrets = tuple(s for s in secrets if s)
        self.counter = counter or OUTCOMES

    @property
    def name(self) -> str:
        return self.backend.name

    async def warm_up(self) -> None:
        """Load the model now (at server start) rather than on the first shopper's turn.
        A failure is logged, not raised: generation then falls back to templates."""
        try:
            await self.backend.warm_up()
        except Exception as exc:  # noqa: BLE001 - a missing model must not stop the server
            logger.warning("llm warm-up failed: backend=%s error=%s", self.name, type(exc).__name__)

    async def generate(self, request: GenerationRequest) -> Generation:
        started = time.monotonic()
        deadline_s = self.settings.deadline_s if request.deadline_s is None else request.deadline_s
        deadline = started + max(deadline_s, 0.0)
        max_new_tokens = request.max_new_tokens or self.settings.max_new_tokens

        def fallback(
            reason: FallbackReason,
            completion: Completion | None = None,
            error: BaseException | None = None,
        ) -> Generation:
            self.counter.record(request.task.value, reason)
            logger.info(
                "llm fallback: reason=%s task=%s backend=%s%s",
                reason,
                request.task.value,
                self.name,
                f" error={type(error).__name__}" if error is not None else "",
            )
            return Generation(
                text=request.template,
                backend=self.name,
                fallback_reason=reason,
                latency_s=time.monotonic() - started,
                generated_tokens=completion.generated_tokens if completion else None,
                backend_s=completion.seconds if completion else None,
            )

        try:
            prompt = build_prompt(request, max_user_chars=self.settings.max_user_chars)
            task = asyncio.ensure_future(
                self.backend.complete(
                    prompt.messages, max_new_tokens=max_new_tokens, deadline=deadline
                )
            )
        except Exception as exc:  # noqa: BLE001 - the caller gets the template, never a raise
            return fallback("error", error=exc)

        try:
            done, _ = await asyncio.wait({task}, timeout=max(deadline - time.monotonic(), 0.0))
        except asyncio.CancelledError:
            task.cancel()
            raise
        if not done:
            # Not awaited: a backend that ignores cancellation must not hold the caller.
            task.cancel()
            task.add_done_callback(_discard)
            return fallback("timeout")
        try:
            completion = task.result()
        except TimeoutError as exc:
            return fallback("timeout", error=exc)
        except Exception as exc:  # noqa: BLE001 - the caller gets the template, never a raise
            return fallback("error", error=exc)

        if not completion.text.strip():
            return fallback("error", completion)
        text = clean_output(completion.text, truncated=completion.truncated)
        if not text:
            return fallback("low_quality", completion)
        try:
            reason = review_output(text, request, prompt, secrets=self.secrets)
        except Exception as exc:  # noqa: BLE001 - a checker bug must not leak unchecked text
            return fallback("error", completion, exc)
        if reason is not None:
            return fallback(reason, completion)
        self.counter.record(request.task.value, "generated")
        return Generation(
            text=text,
            backend=self.name,
            latency_s=time.monotonic() - started,
            generated_tokens=completion.generated_tokens,
            backend_s=completion.seconds,
        )


def create_generator(settings: GeneratorSettings | None = None) -> Generator:
    """The generator ``settings`` ask for (the offline default, templates, if None).

    A misconfigured openai backend degrades to templates with a warning rather than
    failing the action server's start.
    """
    settings = settings or GeneratorSettings()
    if settings.backend == "transformers":
        return LLMGenerator(TransformersBackend.from_settings(settings), settings)
    if settings.backend == "openai":
        try:
            backend = OpenAIBackend.from_settings(settings)
        except ValueError:
            logger.warning("LLM_BACKEND=openai without OPENAI_BASE_URL/OPENAI_MODEL: templates")
            return TemplateGenerator()
        return LLMGenerator(backend, settings, secrets=[settings.openai_api_key])
    return TemplateGenerator()
