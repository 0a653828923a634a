"""Shared fixtures: trackers, dispatcher, the merged domain and the NLU data."""

from __future__ import annotations

import importlib.util
import os
import re
import secrets
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import psycopg
import pytest
import yaml
from alembic import command
from alembic.config import Config
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from shopmate.db.session import Database
from shopmate.guest_proof import GuestProofGuard, GuestProofPolicy
from shopmate.search.query import QueryParser
from tests.factories import NOW

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RESPONSE_PLACEHOLDER = re.compile(r"\{(\w+)\}")

TrackerBuilder = Callable[..., Tracker]
# The conversation id of trackers built by `tracker_for` (customer tokens name it).
SHOPPER = "test-shopper"


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


@pytest.fixture
def tracker_for() -> TrackerBuilder:
    """Build a tracker whose latest user message is `text`, in `language` unless told."""

    def build(
        text: str = "",
        intent: str = "ask_faq",
        language: str | None = "zh",
        slots: dict[str, Any] | None = None,
        entities: list[dict[str, Any]] | None = None,
        events: list[dict[str, Any]] | None = None,
        metadata: dict[str, Any] | None = None,
        sender_id: str = SHOPPER,
    ) -> Tracker:
        latest_message = {
            "text": text,
            "intent": {"name": intent, "confidence": 1.0},
            "entities": entities or [],
            "metadata": metadata or {},
        }
        return Tracker(
            sender_id=sender_id,
            slots={"language": language, **(slots or {})},
            latest_message=latest_message,
            events=events or [],
            paused=False,
            followup_action=None,
            active_loop={},
            latest_action_name="action_listen",
        )

    return build


def load_domain() -> dict[str, Any]:
    """The domain/ directory merged into one dict, as Rasa merges it."""
    merged: dict[str, Any] = {"intents": [], "entities": [], "slots": {}, "responses": {}}
    merged["actions"] = []
    for path in sorted((PROJECT_ROOT / "domain").glob("*.yml")):
        part = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for key in ("intents", "entities", "actions"):
            merged[key].extend(part.get(key, []))
        for key in ("slots", "responses"):
            merged[key].update(part.get(key, {}))
        if "session_config" in part:
            merged["session_config"] = part["session_config"]
    return merged


@pytest.fixture(scope="session")
def domain() -> dict[str, Any]:
    return load_domain()


def load_nlu_examples() -> dict[str, list[str]]:
    """Every NLU training example, by intent."""
    examples: dict[str, list[str]] = {}
    for path in sorted((PROJECT_ROOT / "data" / "nlu").glob("*.yml")):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []):
            if "intent" not in block:
                continue
            lines = [line[2:].strip() for line in block["examples"].splitlines() if line.strip()]
            examples.setdefault(block["intent"], []).extend(lines)
    return examples


@pytest.fixture(scope="session")
def nlu_examples() -> dict[str, list[str]]:
    return load_nlu_examples()


def response_texts(
    domain: dict[str, Any], name: str, language: str, mood: str | None = None
) -> list[str]:
    """The texts of response `name` for the given language slot value; with `mood`
    ("negative"), the variations for that sentiment, else those for any mood."""
    texts = []
    for variation in domain["responses"][name]:
        conditions = variation.get("condition", [])
        moods = [c.get("value") for c in conditions if c.get("name") == "sentiment"]
        if moods != ([mood] if mood else []):
            continue
        if any(c.get("name") == "language" and c.get("value") == language for c in conditions):
            texts.append(variation["text"])
    return texts


def response_pattern(template: str, values: dict[str, str] | None = None) -> re.Pattern[str]:
    """A response template as a regex: given values exact, other {slots} any text."""
    values = values or {}
    parts, last = [], 0
    for match in RESPONSE_PLACEHOLDER.finditer(template):
        parts.append(re.escape(template[last : match.start()]))
        name = match.group(1)
        parts.append(re.escape(values[name]) if name in values else ".+?")
        last = match.end()
    parts.append(re.escape(template[last:]))
    return re.compile("".join(parts), re.DOTALL)


def is_response(domain: dict[str, Any], text: str, name: str, language: str) -> bool:
    """`text` is response `name` in `language`, its {slots} filled with anything."""
    return any(response_pattern(t).fullmatch(text) for t in response_texts(domain, name, language))


def load_web_module(name: str) -> ModuleType:
    """A module from web/ (not a package: its files run as scripts), e.g. "server"."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, PROJECT_ROOT / "web" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


def load_web_server() -> ModuleType:
    return load_web_module("server")


@contextmanager
def serving(server: Any) -> Iterator[str]:
    """Run a web/server.py server in a thread; yields its base URL."""
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# --- order database ------------------------------------------------------------------

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def migrate(url: str) -> None:
    config = Config(str(PROJECT_ROOT / "shopmate" / "db" / "alembic.ini"))
    config.attributes["database_url"] = url
    command.upgrade(config, "head")


RASA_PYTHON = PROJECT_ROOT / ".venv-rasa" / "bin" / "python"


def run_in_rasa_runtime(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m module` in the Rasa runtime (Python 3.10): addons/ code that
    imports Rasa is checked there. Skips without that runtime; under CI=true, fails."""
    if not RASA_PYTHON.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("the Rasa runtime (.venv-rasa) is missing (required under CI)")
        pytest.skip("the Rasa runtime (.venv-rasa) is not installed: run `make install`")
    return subprocess.run(
        [str(RASA_PYTHON), "-m", module, *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def require_service(name: str, check: Callable[[], object]) -> None:
    """Skip (with the reason) when a service is unreachable; under CI=true, fail."""
    try:
        check()
    except Exception as error:  # noqa: BLE001 - any failure means the service is unusable
        reason = f"{name} not reachable: {type(error).__name__}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (required under CI)")
        pytest.skip(reason)


@contextmanager
def fresh_postgres_database(prefix: str) -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped afterwards."""
    require_service("PostgreSQL", lambda: psycopg.connect(POSTGRES_URL, connect_timeout=3).close())
    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database migrated with the project's Alembic migrations."""
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'shop.db'}"
        else:
            url = stack.enter_context(fresh_postgres_database("shopmate_db"))
        migrate(url)
        db = Database(url)
        stack.callback(db.dispose)
        yield db


# --- clock and guest proof limits ------------------------------------------------------


class FakeClock:
    """A clock the test moves by hand (services take `clock=` callables)."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(scope="session")
def query_parser() -> QueryParser:
    """The real query parser over the catalog's vocabulary (spaCy pipelines build on
    first use, once per test session)."""
    return QueryParser.from_catalog_vocabulary()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def guard(database: Database, clock: FakeClock) -> GuestProofGuard:
    """The default limits (5 failures, waits 0/0/2/5 s, 60 minutes) on the test database."""
    return GuestProofGuard(database, GuestProofPolicy(), clock=clock)


def product_cards(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The products of the ShopMate product cards (shopmate/payloads.py) among bot
    messages (the dispatcher's or the REST channel's), with their list position."""
    from shopmate import payloads

    found = []
    for message in messages:
        card = payloads.extract(message.get("custom"))
        if card is not None and card["type"] == "product_card":
            found.append({**card["product"], "index": card["position"], "buttons": card["buttons"]})
    return found
