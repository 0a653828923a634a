"""Text generation for the actions: rephrasing, answers from facts, marketing copy.

No Rasa imports, and nothing heavy at import time (torch, transformers and openai load
on first use, off the event loop). An action takes a ``Generator`` in its constructor
(built by the action server's composition root from its settings) and calls one method::

    generation = await self.generator.generate(
        GenerationRequest(
            task=TaskKind.ANSWER_FROM_FACTS,
            language=tracker.get_slot("language") or "zh",
            facts={"order": order.number, "status": status_text, ...},
            template=reply_from_template,   # the complete, correct reply
            user_text=tracker.latest_message.get("text", ""),
        )
    )
    dispatcher.utter_message(text=generation.text)

``generate`` never raises and returns within the deadline (LLM_DEADLINE_S, 2.5 s).
``generation.text`` is always safe to send: checked model output, or the request's
template when the model timed out, failed, or wrote something unsafe, off-topic, in the
wrong language or not backed by the facts (``generation.fallback_reason`` says which).
Call ``await generator.warm_up()`` once at server start so the first shopper does not
pay for loading the model.
"""

from .config import BackendName, GeneratorSettings
from .generator import (
    OUTCOMES,
    LLMGenerator,
    OutcomeCounter,
    TemplateGenerator,
    clean_output,
    create_generator,
    in_language,
    outcome_counts,
    review_output,
)
from .grounding import Claim, GroundingResult, check_grounding, extract_claims
from .prompt import build_prompt, sanitize_user_text
from .safety import SafetyResult, check_safety
from .schema import (
    Backend,
    ChatMessage,
    Completion,
    FallbackReason,
    Generation,
    GenerationRequest,
    Generator,
    Language,
    Prompt,
    TaskKind,
)

__all__ = [
    "OUTCOMES",
    "Backend",
    "BackendName",
    "ChatMessage",
    "Claim",
    "Completion",
    "FallbackReason",
    "Generation",
    "GenerationRequest",
    "Generator",
    "GeneratorSettings",
    "GroundingResult",
    "LLMGenerator",
    "Language",
    "OutcomeCounter",
    "Prompt",
    "SafetyResult",
    "TaskKind",
    "TemplateGenerator",
    "build_prompt",
    "check_grounding",
    "check_safety",
    "clean_output",
    "create_generator",
    "extract_claims",
    "in_language",
    "outcome_counts",
    "review_output",
    "sanitize_user_text",
]
