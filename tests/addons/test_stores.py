"""The tracker store's cache returns what a full read of the stored rows returns.

The store runs inside Rasa (Python 3.10), so the checks run in that runtime
(tests/addons/rasa_runtime/check_stores.py), on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from tests.conftest import fresh_postgres_database, run_in_rasa_runtime

CHECK = "tests.addons.rasa_runtime.check_stores"


def test_cached_trackers_match_a_full_read_on_sqlite() -> None:
    result = run_in_rasa_runtime(CHECK)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "stores: ok" in result.stdout


def test_cached_trackers_match_a_full_read_on_postgresql() -> None:
    with fresh_postgres_database("shopmate_stores") as url:
        result = run_in_rasa_runtime(CHECK, url)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "stores: ok" in result.stdout
