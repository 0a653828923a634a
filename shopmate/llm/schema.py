"""The request and result types shared by every generator and backend."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Literal, Protocol, TypedDict

Language = Literal["zh", "en"]

# Why the template text was returned instead of generated text:
# timeout         the deadline passed first
# error           the backend failed (or returned nothing)
# unsafe          safety.py: abuse, politics, competitors, prompt leak, secrets, others' data
# wrong_language  not in the request's language
# low_quality     quality.py: off-topic, looping, garbled, or cut off mid-sentence
# ungrounded      grounding.py: a fact (number, date, name, promise) not in the facts
# The last three are kept apart because their fixes differ (model, prompt, facts).
FallbackReason = Literal[
    "timeout", "error", "unsafe", "wrong_language", "low_quality", "ungrounded"
]


class TaskKind(str, Enum):
    """What the text is for; each kind has its own instruction in the prompt."""

    ANSWER_FROM_FACTS = "answer_from_facts"
    REPHRASE = "rephrase"
    MARKETING_COPY = "marketing_copy"
    # What an agent reads first when a conversation is handed over (shopmate/support).
    SUMMARISE_FOR_AGENT = "summarise_for_agent"


class ChatMessage(TypedDict):
    """One chat turn, in the shape both transformers' chat templates and OpenAI take."""

    role: Literal["system", "user", "assistant"]
    content: str


Facts = Sequence[str] | Mapping[str, object]


@dataclass(frozen=True)
class GenerationRequest:
    """Everything one generation needs.

    ``template`` is the complete, correct reply the action would send without a model;
    it is returned whenever generated text cannot be trusted, so it must never be empty
    for a reply the shopper is waiting for. ``user_text`` is the shopper's message: it is
    data for the model, never instructions (see ``prompt.py``).
    """

    task: TaskKind
    language: Language
    facts: Facts
    template: str
    user_text: str = ""
    # Product names from the catalog that the output may mention only if the facts do
    # (the names of every product, or of the ones a search returned).
    known_product_names: Sequence[str] = ()
    # Overrides of the settings for this call (None: use the settings).
    deadline_s: float | None = None
    max_new_tokens: int | None = None

    def fact_lines(self) -> list[str]:
        """The facts as lines of text, the form they take in the prompt."""
        if isinstance(self.facts, Mapping):
            return [f"{key}: {_format_value(value)}" for key, value in self.facts.items()]
        return [str(fact) for fact in self.facts]


def _format_value(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {_format_value(v)}" for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(_format_value(v) for v in value)
    return str(value)


@dataclass(frozen=True)
class Generation:
    """The text to send and how it was made.

    ``text`` is always safe to send: generated text that passed every check, or the
    request's template. ``fallback_reason`` is None when nothing went wrong (including the
    template backend, which never generates).
    """

    text: str
    backend: str
    fallback_reason: FallbackReason | None = None
    latency_s: float = 0.0
    # Tokens the model generated (also for rejected text), None when unknown.
    generated_tokens: int | None = None
    # Seconds the backend spent producing them (None when it timed out or failed).
    backend_s: float | None = None

    @property
    def generated(self) -> bool:
        """True when ``text`` came from a model rather than the template."""
        return self.fallback_reason is None and self.backend != "template"


@dataclass(frozen=True)
class Completion:
    """What a backend returns: raw model text, not yet checked."""

    text: str
    generated_tokens: int | None = None
    seconds: float = 0.0
    # True when generation stopped at max_new_tokens rather than at its own end.
    truncated: bool = False


@dataclass(frozen=True)
class Prompt:
    """The messages sent to a model, plus the parts the output checks need."""

    messages: list[ChatMessage]
    # Instruction text (system prompt, task instruction) the output must not echo.
    instructions: tuple[str, ...] = field(default_factory=tuple)
    # Short structural strings of the prompt (section headings) that no reply contains.
    markers: tuple[str, ...] = field(default_factory=tuple)


class Backend(Protocol):
    """A model that turns chat messages into text.

    ``deadline`` is a ``time.monotonic()`` value: a backend should give up by then (the
    generator stops waiting at that moment whatever the backend does). ``complete`` must
    not block the event loop: blocking work (a model's forward pass) belongs on a thread.
    """

    name: str

    async def complete(
        self, messages: Sequence[ChatMessage], *, max_new_tokens: int, deadline: float
    ) -> Completion: ...

    async def warm_up(self) -> None: ...


class Generator(Protocol):
    """What actions use. ``generate`` never raises and never outlives the deadline."""

    async def generate(self, request: GenerationRequest) -> Generation: ...

    async def warm_up(self) -> None: ...
