"""Rasa with a dependency down: the lock store without Redis, a custom action whose
server is slow or gone, a message sent again. The code runs inside Rasa (Python 3.10),
so the checks run in that runtime (tests/addons/rasa_runtime/check_failover.py)."""

from __future__ import annotations

import os

import redis

from tests.conftest import require_service, run_in_rasa_runtime

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/7")


def test_lock_store_action_failures_and_replay_in_the_rasa_runtime() -> None:
    require_service("Redis", lambda: redis.Redis.from_url(REDIS_URL, socket_timeout=3).ping())
    result = run_in_rasa_runtime("tests.addons.rasa_runtime.check_failover", REDIS_URL)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.splitlines() == ["lock store: ok", "action failures: ok", "replay: ok"]
