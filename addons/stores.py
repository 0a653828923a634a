"""Tracker and lock stores chosen by environment variables.

endpoints.yml names these classes; Rasa instantiates them with the endpoint's
arguments. ``__new__`` returns a stock Rasa store, so Rasa's own type checks (for
example the in-memory lock store refusing several Sanic workers) still apply.

- ``TRACKER_DB_URL`` (e.g. ``postgresql://user:pw@host:5432/db``) selects an SQL
  tracker store on that database; unset, an SQLite file (``TRACKER_SQLITE_PATH``,
  default ``var/tracker.db``).
- ``REDIS_URL`` (e.g. ``redis://127.0.0.1:6379/1``) selects the Redis lock store;
  unset, the in-memory one (one Rasa process only).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional
from urllib.parse import unquote, urlsplit

from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore
from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
from rasa.shared.core.events import Event

from addons.privacy import private_events

DEFAULT_TRACKER_SQLITE_PATH = "var/tracker.db"


def sql_store_kwargs(url: str) -> dict[str, Any]:
    """Split a database URL into SQLTrackerStore's keyword arguments."""
    parts = urlsplit(url)
    dialect = parts.scheme.split("+")[0]
    if dialect == "postgres":
        dialect = "postgresql"
    kwargs = {
        "dialect": dialect,
        "host": parts.hostname,
        "port": parts.port,
        "db": parts.path.lstrip("/") or None,
        "username": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
    }
    # Leave out what the URL does not give so SQLTrackerStore's defaults apply.
    return {key: value for key, value in kwargs.items() if value is not None}


def redis_kwargs(url: str) -> dict[str, Any]:
    """Split a redis:// or rediss:// URL into RedisLockStore's keyword arguments."""
    parts = urlsplit(url)
    db = parts.path.lstrip("/")
    return {
        "host": parts.hostname or "localhost",
        "port": parts.port or 6379,
        "db": int(db) if db else 1,
        "password": unquote(parts.password) if parts.password else None,
        "use_ssl": parts.scheme == "rediss",
    }


class PrivateSQLTrackerStore(SQLTrackerStore):
    """Rasa's SQL tracker store that never writes a token or phone digits (addons/privacy.py).

    Rasa stores the events a turn added (it counts those already stored); this hands
    it the same number of events, each as it may be kept.
    """

    def _additional_events(self, session: Any, tracker: Any) -> Iterator:
        stored = self._event_query(
            session, tracker.sender_id, fetch_events_from_all_sessions=False
        ).count()
        events = list(tracker.events)
        # The state (which slot the form asks for) starts at the session's first event.
        private = private_events(event.as_dict() for event in events)
        return (
            Event.from_parameters(data) for data in itertools.islice(private, stored, len(events))
        )


class EnvTrackerStore(TrackerStore):
    """SQL tracker store: PostgreSQL from TRACKER_DB_URL, else an SQLite file."""

    def __new__(  # type: ignore[misc]
        cls, domain: Any = None, event_broker: Optional[Any] = None, **_: Any
    ) -> PrivateSQLTrackerStore:
        url = os.environ.get("TRACKER_DB_URL")
        if url:
            return PrivateSQLTrackerStore(
                domain=domain, event_broker=event_broker, **sql_store_kwargs(url)
            )
        path = Path(os.environ.get("TRACKER_SQLITE_PATH", DEFAULT_TRACKER_SQLITE_PATH))
        path.parent.mkdir(parents=True, exist_ok=True)
        return PrivateSQLTrackerStore(
            domain=domain, dialect="sqlite", db=str(path), event_broker=event_broker
        )


class EnvLockStore(LockStore):
    """Redis lock store from REDIS_URL, else in memory."""

    def __new__(cls, **_: Any) -> LockStore:  # type: ignore[misc]
        url = os.environ.get("REDIS_URL")
        if url:
            return RedisLockStore(**redis_kwargs(url))
        return InMemoryLockStore()
