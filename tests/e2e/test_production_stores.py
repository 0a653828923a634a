"""Production stores: PostgreSQL tracker store and Redis lock store, two Sanic workers.

Needs PostgreSQL on 127.0.0.1:5432 (database `test`) and Redis on 127.0.0.1:6379, as
on the development machines and in CI. Outside CI a missing service skips these tests
with the reason; under CI=true it fails them.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import redis

from tests.conftest import fresh_postgres_database, require_service, response_texts
from tests.e2e.conftest import ShopMate, running_shopmate

pytestmark = pytest.mark.e2e

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/5")


@pytest.fixture(scope="module")
def tracker_database_url() -> Iterator[str]:
    """A fresh PostgreSQL database per run, so its events table starts empty."""
    require_service("Redis", lambda: redis.Redis.from_url(REDIS_URL, socket_timeout=3).ping())
    with fresh_postgres_database("shopmate_e2e") as url:
        yield url


@pytest.fixture(scope="module")
def shopmate_production(
    tmp_path_factory: pytest.TempPathFactory, tracker_database_url: str
) -> Iterator[ShopMate]:
    with running_shopmate(
        tmp_path_factory.mktemp("shopmate-prod"),
        {"TRACKER_DB_URL": tracker_database_url, "REDIS_URL": REDIS_URL, "SANIC_WORKERS": "2"},
    ) as running:
        yield running


def test_conversation_is_stored_in_postgresql_with_two_workers(
    shopmate_production: ShopMate, tracker_database_url: str, domain: dict[str, Any]
) -> None:
    sender = f"pg-{secrets.token_hex(4)}"
    # Several turns so both workers serve the same conversation through the shared
    # tracker store and the Redis lock.
    assert shopmate_production.texts(sender, "你好") == response_texts(domain, "utter_greet", "zh")
    assert shopmate_production.texts(sender, "are you a bot") == response_texts(
        domain, "utter_iamabot", "en"
    )
    assert shopmate_production.texts(sender, "谢谢") == response_texts(
        domain, "utter_you_are_welcome", "zh"
    )
    with psycopg.connect(tracker_database_url) as db:
        rows = db.execute(
            "SELECT action_name FROM events WHERE sender_id = %s AND type_name = 'action'",
            (sender,),
        ).fetchall()
    assert ("utter_greet",) in rows
    assert ("utter_you_are_welcome",) in rows
    assert shopmate_production.bot_actions(sender)[-3:] == [
        "utter_greet",
        "utter_iamabot",
        "utter_you_are_welcome",
    ]
