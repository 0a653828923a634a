"""The production shape (scripts/production.py, `make run-prod`) and its faults.

nginx in front of two Rasa instances on a PostgreSQL tracker store and a Redis lock
store, two action servers, the page server, all under supervisord, on free ports. The
order database is PostgreSQL too, and Redis is a server of this module's own, so the
tests can take each of them away and bring it back. One shape serves the whole module:
its tests run in file order and each leaves it whole again.

Needs PostgreSQL on 127.0.0.1:5432 and Debian's nginx and redis-server, as on the
development machines and in CI. Outside CI a missing service skips these tests with
the reason; under CI=true it fails them.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
import requests
import socketio

from scripts.production import NGINX, Limits, Production, free_port, production
from shopmate.db import models as m
from shopmate.db.session import Database
from shopmate.sessions import SessionTokens
from tests.conftest import fresh_postgres_database, migrate, require_service, response_texts
from tests.e2e.conftest import (
    CUSTOMER_TOKEN_SECRET,
    REST_CHANNEL_TOKEN,
    SESSION_SECRET,
    ShopMate,
    customer_metadata,
    reset_scenario,
)
from tests.e2e.log_audit import personal_data_in_logs, seeded_personal_data

pytestmark = pytest.mark.e2e

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
# Loose enough for the module's own bursts from 127.0.0.1, tight enough to test.
LIMITS = Limits(rate_per_address="40r/s", burst=60)


@dataclass
class RedisServer:
    """A redis-server of the test's own: it can be stopped and started again."""

    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/1"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(redis.RedisError):
                if redis.Redis.from_url(self.url, socket_timeout=1).ping():
                    return
            time.sleep(0.1)
        pytest.fail("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@dataclass
class Shape:
    running: Production
    public: ShopMate  # through nginx's public listener
    api: ShopMate  # Rasa's HTTP API on nginx's internal listener
    redis: RedisServer
    shop_db_url: str

    def access_log(self) -> str:
        return (self.running.log_dir / "nginx-access.log").read_text(errors="replace")


def postgres_admin(url: str) -> str:
    return url.rsplit("/", 1)[0] + "/postgres"


def set_database_up(url: str, up: bool) -> None:
    """Take a PostgreSQL database away (no new connections, the open ones closed) or
    give it back: what the action servers see when their database goes down."""
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(postgres_admin(url), autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(up).lower()}')
        if not up:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )


@pytest.fixture(scope="module")
def shape(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shape]:
    require_service("nginx", lambda: NGINX.stat())
    require_service("redis-server", lambda: Path(REDIS_SERVER).stat())
    server = RedisServer(free_port())
    server.start()
    with (
        fresh_postgres_database("shopmate_prod_tracker") as tracker_url,
        fresh_postgres_database("shopmate_prod_shop") as shop_url,
    ):
        shop_db_url = shop_url.replace("postgresql://", "postgresql+psycopg://", 1)
        migrate(shop_db_url)
        reset_scenario(shop_db_url)
        env = {
            "TRACKER_DB_URL": tracker_url,
            "REDIS_URL": server.url,
            "DATABASE_URL": shop_db_url,
            # The e2e helpers' secrets, so ShopMate.say and customer tokens work here.
            "REST_CHANNEL_TOKEN": REST_CHANNEL_TOKEN,
            "SESSION_SECRET": SESSION_SECRET,
            "CUSTOMER_TOKEN_SECRET": CUSTOMER_TOKEN_SECRET,
            "SHOP_ORIGINS": "http://127.0.0.1:*",
            "SUPPORT_HOURS": "00:00-00:00",
            "EDGE_RATE_PER_ADDRESS": "200/1,20000/60",
        }
        workdir = tmp_path_factory.mktemp("production")
        try:
            with production(workdir, env=env, limits=LIMITS) as running:
                yield Shape(
                    running=running,
                    public=ShopMate(
                        rasa_url=running.public_url,
                        action_url=running.action_urls[0],
                        auth_token=running.auth_token,
                        action_token=running.env["ACTION_SERVER_TOKEN"],
                        tracker_db=workdir / "unused",
                        shop_db_url=shop_db_url,
                        logs=running.logs(),
                    ),
                    api=ShopMate(
                        rasa_url=f"http://127.0.0.1:{running.shape.rasa_api_port}",
                        action_url=running.action_urls[0],
                        auth_token=running.auth_token,
                        action_token=running.env["ACTION_SERVER_TOKEN"],
                        tracker_db=workdir / "unused",
                    ),
                    redis=server,
                    shop_db_url=shop_db_url,
                )
        finally:
            set_database_up(shop_url, True)
            server.stop()


def user_texts(shape: Shape, sender: str) -> list[str]:
    return [e["text"] for e in shape.api.tracker(sender)["events"] if e["event"] == "user"]


def wait_for(check: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):
            if check():
                return
        time.sleep(0.5)
    pytest.fail(f"{what} within {seconds:.0f} s")


def upstream_ports(shape: Shape) -> set[str]:
    """The Rasa ports nginx's access log shows REST messages going to (it is written
    every 2 s)."""
    return {
        line.split()[-2].rsplit(":", 1)[-1]
        for line in shape.access_log().splitlines()
        if "/webhooks/rest/webhook" in line
    }


def both_instances_up(shape: Shape) -> None:
    wait_for(
        lambda: all(
            requests.get(f"{url}/status", params={"token": shape.running.auth_token}, timeout=2).ok
            for url in shape.running.rasa_urls
        ),
        240,
        "both Rasa instances up again",
    )


# ------------------------------------------------------------------------ the shape


def test_a_conversation_is_shared_by_both_instances_through_nginx(
    shape: Shape, domain: dict[str, Any]
) -> None:
    sender = "prod-shared-conversation"
    said = [("你好", "utter_greet", "zh"), ("are you a bot", "utter_iamabot", "en")]
    said += [("谢谢", "utter_you_are_welcome", "zh"), ("hello", "utter_greet", "en")]
    for text, response, language in said:
        assert shape.public.texts(sender, text) == response_texts(domain, response, language)
    # Round robin: the four turns reached both instances, and both read one tracker.
    assert user_texts(shape, sender) == [text for text, _, _ in said]
    instance_ports = {url.rsplit(":", 1)[1] for url in shape.running.rasa_urls}
    wait_for(lambda: instance_ports <= upstream_ports(shape), 10, "both instances in the log")
    with psycopg.connect(shape.running.env["TRACKER_DB_URL"]) as db:
        stored = db.execute(
            "SELECT count(*) FROM events WHERE sender_id = %s AND type_name = 'user'", (sender,)
        ).fetchone()
    assert stored == (4,)


def test_a_rest_message_sent_again_with_its_request_id_is_handled_once(
    shape: Shape, domain: dict[str, Any]
) -> None:
    """A shop's server retrying with the same X-Request-ID (or nginx retrying on the
    other instance) gets the same reply, and the turn is in the tracker once."""
    sender = "prod-retried-request"
    headers = {
        "Authorization": f"Bearer {REST_CHANNEL_TOKEN}",
        "X-Request-ID": secrets.token_hex(16),
    }
    body = {"sender": sender, "message": "are you a bot"}
    url = f"{shape.running.public_url}/webhooks/rest/webhook"
    first = requests.post(url, json=body, headers=headers, timeout=60).json()
    second = requests.post(url, json=body, headers=headers, timeout=60).json()
    assert [m["text"] for m in first] == response_texts(domain, "utter_iamabot", "en")
    assert [(m.get("text"), m.get("buttons")) for m in second] == [
        (m.get("text"), m.get("buttons")) for m in first
    ]
    assert user_texts(shape, sender) == ["are you a bot"]


def test_rasa_http_api_is_not_public(shape: Shape) -> None:
    token = {"token": shape.running.auth_token}
    for path in ("/conversations/x/tracker", "/model/parse", "/status", "/version"):
        reply = requests.get(f"{shape.running.public_url}{path}", params=token, timeout=10)
        assert reply.status_code == 404, path


def test_the_page_and_its_socket_are_served_through_nginx(shape: Shape) -> None:
    page = requests.get(shape.running.public_url, timeout=10)
    assert page.status_code == 200
    assert "ShopMate" in page.text


@contextmanager
def joined_socket(shape: Shape, transport: str) -> Iterator[tuple[Any, str, list[dict[str, Any]]]]:
    """A widget's socket through nginx, joined to a fresh conversation: yields the
    client, the conversation id and the list its bot_uttered messages arrive in."""
    session_id, token = SessionTokens(SESSION_SECRET).issue()
    replies: list[dict[str, Any]] = []
    confirmed = threading.Event()
    client = socketio.Client(reconnection=False)
    client.on("session_confirm", lambda _: confirmed.set())
    client.on("bot_uttered", replies.append)
    client.connect(
        shape.running.public_url,
        transports=[transport],
        socketio_path="/socket.io",
        headers={"Origin": shape.running.public_url},
    )
    try:
        client.emit("session_request", {"session_id": session_id, "session_token": token})
        assert confirmed.wait(20)
        yield client, session_id, replies
    finally:
        client.disconnect()


def test_socketio_polling_stays_on_one_instance(shape: Shape, domain: dict[str, Any]) -> None:
    """Polling sends a Socket.IO session's requests one by one: without the sticky
    cookie half of them would reach the instance that never heard of the session."""
    with joined_socket(shape, "polling") as (client, session_id, replies):
        for n, text in enumerate(["你好", "谢谢", "hello"], start=1):
            client.emit("user_uttered", {"message": text, "session_id": session_id})
            wait_for(lambda n=n: len(replies) >= n, 30, f"reply {n} over polling")
    assert replies[0]["text"] in response_texts(domain, "utter_greet", "zh")


def test_an_agents_reply_reaches_the_shopper_through_either_instance(shape: Shape) -> None:
    """The console sends a person's reply through Rasa's HTTP API, which may land on
    the instance that does not hold the shopper's socket (shared rooms, Redis)."""
    with joined_socket(shape, "websocket") as (_, session_id, replies):
        for n, url in enumerate(shape.running.rasa_urls):
            reply = requests.post(
                f"{url}/conversations/{session_id}/tracker/events",
                params={
                    "token": shape.running.auth_token,
                    "output_channel": "socketio",
                    "execute_side_effects": "true",
                },
                json=[{"event": "bot", "text": f"客服回复 {n}"}],
                timeout=30,
            )
            assert reply.status_code == 200
        wait_for(lambda: len(replies) >= 2, 20, "both replies at the shopper's socket")
    assert sorted(r["text"] for r in replies) == ["客服回复 0", "客服回复 1"]


# ------------------------------------------------------------------------- faults


def test_a_killed_instance_loses_and_duplicates_no_turn(shape: Shape) -> None:
    """Eight shoppers talk through nginx while one Rasa instance is SIGKILLed: every
    message gets one reply, and every tracker holds each message exactly once."""
    messages = ["你好", "买多少钱可以包邮？", "are you a bot", "谢谢", "hello", "bye"]
    senders = [f"prod-kill-{n}" for n in range(8)]
    failures: list[str] = []

    def shopper(sender: str) -> None:
        for text in messages:
            reply = shape.public.post({"sender": sender, "message": text})
            if reply.status_code != 200 or not reply.json():
                failures.append(f"{sender} {text!r}: {reply.status_code}")
            time.sleep(0.3)

    with ThreadPoolExecutor(len(senders)) as pool:
        running = [pool.submit(shopper, sender) for sender in senders]
        time.sleep(1.5)
        shape.running.signal("rasa-1", signal.SIGKILL)
        for future in running:
            future.result()
    assert failures == []
    for sender in senders:
        assert user_texts(shape, sender) == messages, sender
    both_instances_up(shape)


def test_a_slow_then_dead_action_server_gets_a_polite_reply_within_5_s(
    shape: Shape, domain: dict[str, Any]
) -> None:
    sorry_zh = response_texts(domain, "utter_service_unavailable", "zh")
    sorry_en = response_texts(domain, "utter_service_unavailable", "en")
    pids = shape.running.pids()
    actions = [pids[name] for name in shape.running.shape.action_names]
    for pid in actions:  # slow: they take the connection and never answer
        os.kill(pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        texts = shape.public.texts("prod-slow-actions", "买多少钱可以包邮？")
        assert time.monotonic() - started < 5
        assert texts == sorry_zh
    finally:
        for pid in actions:
            os.kill(pid, signal.SIGCONT)
    shape.running.supervisorctl("stop", *shape.running.shape.action_names)
    try:
        started = time.monotonic()
        texts = shape.public.texts("prod-dead-actions", "How long does a refund take?")
        assert time.monotonic() - started < 5
        assert texts == sorry_en
    finally:
        shape.running.supervisorctl("start", *shape.running.shape.action_names)
    # A restarted action server takes connections once it is warm.
    wait_for(
        lambda: all(
            requests.get(f"{url}/health", timeout=2).ok for url in shape.running.action_urls
        ),
        180,
        "both action servers warm again",
    )
    # Back by itself: the next questions get their answers, not the apology.
    wait_for(
        lambda: shape.public.texts("prod-actions-back", "买多少钱可以包邮？") != sorry_zh,
        60,
        "answers again after the action servers are back",
    )


def test_order_database_down_mid_flow_writes_nothing_and_resumes(
    shape: Shape, domain: dict[str, Any]
) -> None:
    sender = "prod-db-down"

    def alice(text: str) -> list[str]:
        replies = shape.public.say(sender, text, metadata=customer_metadata(1, sender))
        return [message.get("text", "") for message in replies]

    shop = Database(shape.shop_db_url)
    try:
        with shop.session() as session:
            order = session.query(m.Order).filter_by(order_number="A1000001").one()
            assert order.status == m.OrderStatus.PAID
        assert alice("帮我取消订单A1000001")[0].startswith("确认取消订单 A1000001 吗？")
        set_database_up(shape.shop_db_url.replace("+psycopg", ""), False)
        try:
            answer = alice("确认")
        finally:
            set_database_up(shape.shop_db_url.replace("+psycopg", ""), True)
        polite = response_texts(domain, "utter_order_service_unavailable", "zh")
        assert answer
        assert all(text in polite for text in answer)
        with shop.session() as session:
            order = session.query(m.Order).filter_by(order_number="A1000001").one()
            assert order.status == m.OrderStatus.PAID
            assert session.query(m.Refund).count() == 0
        # Resumed once the database is back: asked again, done once.
        assert alice("帮我取消订单A1000001")[0].startswith("确认取消订单 A1000001 吗？")
        assert alice("确认")[0].startswith("订单 A1000001 已取消")
        with shop.session() as session:
            assert session.query(m.Refund).count() == 1
    finally:
        shop.dispose()


def test_with_redis_down_shoppers_go_on_and_redis_is_used_again_when_back(
    shape: Shape, domain: dict[str, Any]
) -> None:
    sender = "prod-redis-down"
    shape.redis.stop()
    try:
        for text, response, language in [
            ("你好", "utter_greet", "zh"),
            ("are you a bot", "utter_iamabot", "en"),
            ("谢谢", "utter_you_are_welcome", "zh"),
        ]:
            assert shape.public.texts(sender, text) == response_texts(domain, response, language)
    finally:
        shape.redis.start()
    # The outage is retried after 5 s; then the ledger writes its keys to Redis again.
    client = redis.Redis.from_url(shape.redis.url)

    def ledger_in_use() -> bool:
        shape.public.texts(sender, "hello")
        return bool(client.keys(f"shopmate:turn:{sender}:*"))

    wait_for(ledger_in_use, 30, "the turn ledger back in Redis")
    assert user_texts(shape, sender)[:3] == ["你好", "are you a bot", "谢谢"]


# -------------------------------------------------------------------------- abuse


def test_per_conversation_limits_are_counted_once_for_both_instances(
    shape: Shape, domain: dict[str, Any]
) -> None:
    both_instances_up(shape)
    client = redis.Redis.from_url(shape.redis.url)

    def counted_in_redis(sender: str) -> int:
        keys = client.keys(f"shopmate:rate:c:{sender}/60:*")
        return sum(int(client.get(key) or 0) for key in keys)

    # After the Redis test, each instance counts in Redis again once its retry time is
    # up: wait until a message sent to each instance directly is counted there.
    for n, url in enumerate(shape.running.rasa_urls):
        probe = f"prod-flood-probe-{n}"

        def counted_once_more(url: str = url, probe: str = probe) -> bool:
            before = counted_in_redis(probe)
            requests.post(
                f"{url}/webhooks/rest/webhook",
                json={"sender": probe, "message": "你好"},
                headers={"Authorization": f"Bearer {REST_CHANNEL_TOKEN}"},
                timeout=30,
            )
            return counted_in_redis(probe) == before + 1

        wait_for(counted_once_more, 60, f"rasa-{n + 1} counting in Redis")
    sender = "prod-flood"
    refused = response_texts(domain, "utter_rate_limited", "zh")
    with ThreadPoolExecutor(12) as pool:
        replies = list(
            pool.map(
                lambda n: shape.public.post({"sender": sender, "message": f"你好{n}"}),
                range(12),
            )
        )
    assert all(reply.status_code == 200 for reply in replies)
    texts = [reply.json()[0]["text"] for reply in replies]
    assert sum(text in refused for text in texts) >= 1
    # One count in Redis for all twelve, whichever instance each reached.
    assert counted_in_redis(sender) == 12


def test_nginx_refuses_a_flood_from_one_address_with_429(shape: Shape) -> None:
    url = f"{shape.running.public_url}/webhooks/rest/"
    with ThreadPoolExecutor(20) as pool:
        statuses = Counter(
            pool.map(lambda _: requests.get(url, timeout=10).status_code, range(300))
        )
    assert statuses[429] > 0
    assert statuses[200] > 0
    assert set(statuses) <= {200, 429}
    time.sleep(2)  # the address's bucket drains before the next test


# --------------------------------------------------------------------------- logs


def test_the_logs_of_the_whole_shape_hold_no_personal_data(shape: Shape) -> None:
    """After every test above (an order flow, a kill, faults, floods): no seeded
    customer's name, phone, e-mail or address in any log of any part."""
    needles = seeded_personal_data(shape.shop_db_url)
    assert needles  # the audit looks for something
    logs = shape.running.logs()
    assert {path.name for path in logs} >= {"rasa-1.log", "rasa-2.log", "actions-1.log", "web.log"}
    assert personal_data_in_logs(logs, needles) == []
    # Nor any of the shape's secrets (Rasa puts its tokens in URLs: nginx must not log them).
    secrets_used = [
        shape.running.env[name]
        for name in (
            "RASA_AUTH_TOKEN",
            "ACTION_SERVER_TOKEN",
            "REST_CHANNEL_TOKEN",
            "SESSION_SECRET",
        )
    ]
    assert personal_data_in_logs(logs, secrets_used) == []
