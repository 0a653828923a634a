"""Start ShopMate as real processes: the action server and Rasa with the trained model.

Both run on free ports with their own SQLite tracker file, so the tests never touch
a `make run` that may be up on the default ports.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import signal
import subprocess
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from scripts.production import free_port
from shopmate.db.models import Base
from shopmate.db.session import Database
from shopmate.identity import CustomerTokens
from tests.conftest import PROJECT_ROOT, load_web_module, load_web_server, migrate, serving
from tests.factories import add_scenario

RASA_BIN = PROJECT_ROOT / ".venv-rasa" / "bin" / "rasa"
ACTIONS_PYTHON = PROJECT_ROOT / ".venv-actions" / "bin" / "python"
STARTUP_SECONDS = 240
# The edge allows 5 messages a second per conversation (EdgeSettings); a scripted
# shopper sends at most this many in any second, as a person reading replies does, so
# a fast machine never meets the limit that only tests/e2e/test_edge.py is about.
PACED_MESSAGES_PER_SECOND = 4
# Fresh secrets per test run; the processes under test get the same ones.
CUSTOMER_TOKEN_SECRET = secrets.token_urlsafe(32)
SESSION_SECRET = secrets.token_urlsafe(32)
REST_CHANNEL_TOKEN = secrets.token_urlsafe(24)


def customer_metadata(customer_id: int, sender: str, secret: str = "") -> dict[str, Any]:
    """Metadata a shop's server sends for a signed-in shopper in conversation `sender`."""
    tokens = CustomerTokens(secret or CUSTOMER_TOKEN_SECRET)
    return {"customer_token": tokens.sign(customer_id, sender)}


@dataclass
class ShopMate:
    """Handles to a running ShopMate: REST channel, HTTP API, action server."""

    rasa_url: str
    action_url: str
    auth_token: str
    action_token: str
    tracker_db: Path
    shop_db_url: str = ""
    logs: list[Path] = field(default_factory=list)
    _sent: defaultdict[str, deque[float]] = field(
        default_factory=lambda: defaultdict(lambda: deque(maxlen=PACED_MESSAGES_PER_SECOND))
    )
    _pacing: threading.Lock = field(default_factory=threading.Lock)

    def _pace(self, sender: str) -> None:
        """Wait until sending keeps `sender` within PACED_MESSAGES_PER_SECOND."""
        with self._pacing:
            sent = self._sent[sender]
            if len(sent) == sent.maxlen:
                wait = sent[0] + 1.05 - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
            sent.append(time.monotonic())

    def post(self, body: Any, token: str | None = REST_CHANNEL_TOKEN) -> requests.Response:
        """POST a body (JSON, or bytes as they are) to the REST channel, as the shop's server."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        url = f"{self.rasa_url}/webhooks/rest/webhook"
        if isinstance(body, bytes):
            headers["Content-Type"] = "application/json"
            return requests.post(url, data=body, headers=headers, timeout=120)
        return requests.post(url, json=body, headers=headers, timeout=120)

    def say(
        self,
        sender: str,
        text: str,
        metadata: dict[str, Any] | None = None,
        paced: bool = True,
    ) -> list[dict]:
        """Send one message over the REST channel; return the bot's messages. `paced`
        keeps the conversation under the edge's rate limit; a burst test turns it off."""
        body: dict[str, Any] = {"sender": sender, "message": text}
        if metadata is not None:
            body["metadata"] = metadata
        if paced:
            self._pace(sender)
        reply = self.post(body)
        reply.raise_for_status()
        return list(reply.json())

    def trigger(self, sender: str, intent: str) -> list[dict]:
        """Inject an intent through the HTTP API (trusted: needs the API token); what a
        shopper typing `/intent` can no longer do. Returns the bot's messages."""
        reply = requests.post(
            f"{self.rasa_url}/conversations/{sender}/trigger_intent",
            params={"token": self.auth_token},
            json={"name": intent},
            timeout=60,
        )
        reply.raise_for_status()
        return list(reply.json().get("messages") or [])

    def texts(self, sender: str, text: str) -> list[str]:
        return [message.get("text", "") for message in self.say(sender, text)]

    def tracker(self, sender: str) -> dict[str, Any]:
        reply = requests.get(
            f"{self.rasa_url}/conversations/{sender}/tracker",
            params={"token": self.auth_token},
            timeout=30,
        )
        reply.raise_for_status()
        return dict(reply.json())

    def parse(self, text: str) -> dict[str, Any]:
        reply = requests.post(
            f"{self.rasa_url}/model/parse",
            params={"token": self.auth_token},
            json={"text": text},
            timeout=30,
        )
        reply.raise_for_status()
        return dict(reply.json())

    def bot_actions(self, sender: str) -> list[str]:
        """Names of the actions the bot ran, in order, without action_listen."""
        return [
            event["name"]
            for event in self.tracker(sender)["events"]
            if event["event"] == "action" and event["name"] != "action_listen"
        ]


def _wait_until_up(url: str, processes: list[subprocess.Popen[bytes]], logs: list[Path]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        for process in processes:
            if process.poll() is not None:
                tails = "\n".join(log.read_text(errors="replace")[-3000:] for log in logs)
                pytest.fail(f"a ShopMate process exited early:\n{tails}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    pytest.fail(f"ShopMate did not come up within {STARTUP_SECONDS}s")


@contextmanager
def running_shopmate(workdir: Path, extra_env: dict[str, str] | None = None) -> Iterator[ShopMate]:
    """Start the action server and Rasa on free ports; stop both afterwards."""
    if not list((PROJECT_ROOT / "models").glob("*.tar.gz")):
        pytest.fail("no trained model in models/: run `make train` first")
    rasa_port, action_port = free_port(), free_port()
    auth_token, action_token = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    # The project's own endpoints.yml; it finds the action server at ${ACTION_PORT}.
    endpoints = PROJECT_ROOT / "endpoints.yml"
    tracker_db = workdir / "tracker.db"
    # The order database: migrated with the project's migrations, with the exact
    # scenario of tests/factories.py (Alice = customer 1, Bob = customer 2).
    shop_db_url = f"sqlite:///{workdir / 'shop.db'}"
    migrate(shop_db_url)
    reset_scenario(shop_db_url)
    env = {
        **os.environ,
        "RASA_TELEMETRY_ENABLED": "false",
        "HF_HUB_OFFLINE": "1",
        "TRACKER_SQLITE_PATH": str(tracker_db),
        "ACTION_SERVER_TOKEN": action_token,
        "ACTION_PORT": str(action_port),
        "DATABASE_URL": shop_db_url,
        "CUSTOMER_TOKEN_SECRET": CUSTOMER_TOKEN_SECRET,
        "SESSION_SECRET": SESSION_SECRET,
        "REST_CHANNEL_TOKEN": REST_CHANNEL_TOKEN,
        # The widget test serves the page on a free port of this machine.
        "SHOP_ORIGINS": "http://127.0.0.1:*",
        # Every socket of the whole e2e session comes from 127.0.0.1, hundreds a minute:
        # the per-address limit is raised here (its logic: tests/addons/test_edge.py);
        # the per-conversation limit stays the shipped one (tests/e2e/test_edge.py).
        "EDGE_RATE_PER_ADDRESS": "200/1,20000/60",
        # People answer around the clock here, so a handoff's reply does not depend on
        # the hour CI runs (the after-hours reply: tests/actions/test_handoff.py).
        "SUPPORT_HOURS": "00:00-00:00",
    }
    env.pop("TRACKER_DB_URL", None)
    env.pop("REDIS_URL", None)
    env.update(extra_env or {})
    logs = [workdir / "actions.log", workdir / "rasa.log"]
    action_server = subprocess.Popen(
        [str(ACTIONS_PYTHON), "-m", "actions.server", "--port", str(action_port)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=logs[0].open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    rasa = subprocess.Popen(
        [
            str(RASA_BIN),
            "run",
            "--enable-api",
            # "=" form: a random token may start with "-" and read as an option.
            f"--auth-token={auth_token}",
            "--interface",
            "127.0.0.1",
            "--port",
            str(rasa_port),
            "--model",
            "models",
            "--endpoints",
            str(endpoints),
            "--credentials",
            "credentials.yml",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=logs[1].open("wb"),
        stderr=subprocess.STDOUT,
        # Its own process group: Sanic workers (SANIC_WORKERS > 1) are stopped with it.
        start_new_session=True,
    )
    processes = [action_server, rasa]
    try:
        _wait_until_up(f"http://127.0.0.1:{action_port}/health", processes, logs)
        _wait_until_up(f"http://127.0.0.1:{rasa_port}/status?token={auth_token}", processes, logs)
        yield ShopMate(
            rasa_url=f"http://127.0.0.1:{rasa_port}",
            action_url=f"http://127.0.0.1:{action_port}",
            auth_token=auth_token,
            action_token=action_token,
            tracker_db=tracker_db,
            shop_db_url=shop_db_url,
            logs=logs,
        )
    finally:
        stop_process_groups(processes)


def reset_scenario(database_url: str) -> None:
    """Empty the order database and put the scenario of tests/factories.py back."""
    database = Database(database_url)
    with database.session() as session:
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(table.delete())
    # The action server reads the real clock: the scenario's dates are relative to it
    # (a fixed date would walk out of the return window as the calendar moves on).
    add_scenario(database, now=datetime.now(UTC))
    database.dispose()


def stop_process_groups(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM each process group, then SIGKILL what is still there after 20 s."""
    for process in processes:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


@contextmanager
def page_with_console(shopmate: ShopMate, accounts: dict[str, str]) -> Iterator[str]:
    """The page's server (web/server.py) with the agent console mounted, pointed at this
    Rasa and order database; yields its URL. `accounts`: name -> argon2 hash."""
    agent = load_web_module("agent")
    config = agent.ConsoleConfig(
        accounts=accounts,
        session_secret=SESSION_SECRET,
        rasa_url=shopmate.rasa_url,
        rasa_token=shopmate.auth_token,
        database_url=shopmate.shop_db_url,
        poll_s=0.3,
        canned=agent.load_canned_replies(),
    )
    server = load_web_server().build_server(
        "127.0.0.1",
        0,
        shopmate.rasa_url,
        session_secret=SESSION_SECRET,
        extra_routes=[agent.AgentConsole.from_config(config).mount()],
    )
    with serving(server) as url:
        yield url


@pytest.fixture(scope="session")
def shopmate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShopMate]:
    """ShopMate with the default stores: SQLite tracker file, in-memory lock."""
    with running_shopmate(tmp_path_factory.mktemp("shopmate")) as running:
        yield running


@pytest.fixture
def sender() -> str:
    """A fresh conversation id per test."""
    return f"e2e-{secrets.token_hex(6)}"


@pytest.fixture(scope="session")
def catalog_shopmate(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ShopMate, Database]]:
    """ShopMate over the default generated catalog (5,000 products, seed 42: what
    `make index` embedded), with customers and order history; one for the whole session
    (conversations use their own sender ids, so their carts never meet)."""
    from shopmate.db.seed import SeedConfig, seed_database

    workdir = tmp_path_factory.mktemp("catalog-shop")
    url = f"sqlite:///{workdir / 'catalog.db'}"
    migrate(url)
    database = Database(url)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    with database.session() as session:
        seed_database(session, SeedConfig(customers=300, orders=3000, anchor=today))
    with running_shopmate(workdir, {"DATABASE_URL": url}) as shopmate:
        yield shopmate, database
    database.dispose()


# --- messaging platforms ---------------------------------------------------------------
# Secrets of the six platforms for the Rasa under test (docs/channels.md names them);
# every API base points at the local fake (tests/e2e/fake_platforms.py).
PLATFORM_SECRETS: dict[str, str] = {
    # WeCom: EncodingAESKey is 43 characters of base64 (a 32-byte AES key).
    "WECOM_CORP_ID": "ww1234567890abcdef",
    "WECOM_AGENT_ID": "1000002",
    "WECOM_SECRET": secrets.token_urlsafe(24),
    "WECOM_TOKEN": secrets.token_urlsafe(12),
    "WECOM_AES_KEY": base64.b64encode(secrets.token_bytes(32)).decode().rstrip("="),
    "FEISHU_APP_ID": "cli_a1b2c3d4e5f6",
    "FEISHU_APP_SECRET": secrets.token_urlsafe(24),
    "FEISHU_VERIFICATION_TOKEN": secrets.token_urlsafe(16),
    "FEISHU_ENCRYPT_KEY": secrets.token_urlsafe(16),
    "DINGTALK_APP_SECRET": secrets.token_urlsafe(32),
    "DINGTALK_WEBHOOK_HOSTS": "127.0.0.1",
    "TELEGRAM_TOKEN": "123456:" + secrets.token_urlsafe(24),
    "TELEGRAM_BOT_NAME": "shopmate_test_bot",
    "TELEGRAM_SECRET_TOKEN": secrets.token_urlsafe(24),
    "SLACK_BOT_TOKEN": "xoxb-" + secrets.token_hex(12),
    "SLACK_SIGNING_SECRET": secrets.token_hex(16),
    "FACEBOOK_VERIFY_TOKEN": secrets.token_urlsafe(16),
    "FACEBOOK_APP_SECRET": secrets.token_hex(16),
    "FACEBOOK_PAGE_ACCESS_TOKEN": secrets.token_urlsafe(32),
}
PLATFORM_PREFIXES = ("WECOM", "FEISHU", "DINGTALK", "TELEGRAM", "SLACK", "FACEBOOK")


@dataclass
class ChannelsShopMate:
    shopmate: ShopMate
    fake: Any  # tests.e2e.fake_platforms.FakePlatforms
    secrets: dict[str, str]


@pytest.fixture(scope="session")
def channels_shopmate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChannelsShopMate]:
    """ShopMate with all six messaging platforms on, their APIs faked on this machine."""
    from tests.e2e.fake_platforms import fake_platforms

    with fake_platforms() as fake:
        env = dict(PLATFORM_SECRETS)
        for prefix in PLATFORM_PREFIXES:
            env[f"{prefix}_API_BASE"] = fake.url
        env["TELEGRAM_WEBHOOK_URL"] = f"{fake.url}/telegram-webhook"
        with running_shopmate(tmp_path_factory.mktemp("channels"), env) as running:
            yield ChannelsShopMate(shopmate=running, fake=fake, secrets=env)
