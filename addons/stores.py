"""Tracker and lock stores chosen by environment variables.

endpoints.yml names these classes; Rasa instantiates them with the endpoint's
arguments. ``__new__`` returns a stock Rasa store, so Rasa's own type checks (for
example the in-memory lock store refusing several Sanic workers) still apply.

- ``TRACKER_DB_URL`` (e.g. ``postgresql://user:pw@host:5432/db``) selects an SQL
  tracker store on that database; unset, an SQLite file (``TRACKER_SQLITE_PATH``,
  default ``var/tracker.db``).
- ``REDIS_URL`` (e.g. ``redis://127.0.0.1:6379/1``) selects the Redis lock store;
  unset, the in-memory one (one Rasa process only).
- ``TRACKER_CACHE_CONVERSATIONS`` (default 500): how many conversations' events each
  Rasa process keeps deserialised between turns (0 turns the cache off).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Optional
from urllib.parse import unquote, urlsplit

import redis
from rasa.core.lock import TicketLock
from rasa.core.lock_store import (
    LOCK_LIFETIME,
    InMemoryLockStore,
    LockError,
    LockStore,
    RedisLockStore,
)
from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
from rasa.shared.core.events import ActiveLoop, Event, SessionStarted, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker

from addons import action_failures, remote_actions
from addons.edge import Outage
from addons.settings import DEFAULT_TRACKER_CACHE_CONVERSATIONS, StoreSettings
from shopmate.log_redaction import install_redaction
from shopmate.privacy import next_requested_slot, private_events

logger = logging.getLogger(__name__)

# Every Rasa server of this project loads this module (endpoints.yml names its stores).
install_redaction()  # no phone, e-mail or token in any log line (shopmate/log_redaction.py)
remote_actions.install()
action_failures.install()


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


@dataclass
class CachedSession:
    """The stored events of a conversation's latest session, deserialised."""

    session_start: float | None  # timestamp of its SessionStarted event
    last_row_id: int
    events: list[Event]


class PrivateSQLTrackerStore(SQLTrackerStore):
    """Rasa's SQL tracker store that never writes a token or phone digits (shopmate/privacy.py).

    Rasa stores the events a turn added (it counts those already stored); this hands
    it the same number of events, each as it may be kept.

    Rasa rebuilds the tracker from every stored event of the session on every turn, and
    turning rows back into events is most of a long conversation's turn (a 300-turn
    conversation spent a third of Rasa's time there). Each process keeps the events it
    has read, per conversation, and on the next turn reads only the rows stored after
    them; the rows stay the truth (another worker's turn is read from them, a new
    session reloads), and the cached events are what a full read would give, the
    stored, private, versions.
    """

    def __init__(
        self,
        *args: Any,
        cache_conversations: int = DEFAULT_TRACKER_CACHE_CONVERSATIONS,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.cache_conversations = cache_conversations
        self._sessions: OrderedDict[str, CachedSession] = OrderedDict()

    async def retrieve(self, sender_id: str) -> Optional[DialogueStateTracker]:
        if self.cache_conversations <= 0:
            return await super().retrieve(sender_id)
        with self.session_scope() as session:
            session_start = (
                session.query(self.SQLEvent.timestamp)
                .filter(
                    self.SQLEvent.sender_id == sender_id,
                    self.SQLEvent.type_name == SessionStarted.type_name,
                )
                .order_by(self.SQLEvent.timestamp.desc())
                .limit(1)
                .scalar()
            )
            query = self._event_query(session, sender_id, fetch_events_from_all_sessions=False)
            last_row_id = 0
            cached = self._sessions.pop(sender_id, None)
            if cached is not None and cached.session_start == session_start:
                rows = query.filter(self.SQLEvent.id > cached.last_row_id).all()
                events = cached.events
            else:
                rows, events = query.all(), []
            if rows:
                events = events + [Event.from_parameters(json.loads(row.data)) for row in rows]
                last_row_id = rows[-1].id
            elif cached is not None:
                last_row_id = cached.last_row_id
        if not (self.domain and events):
            return None
        self._sessions[sender_id] = CachedSession(session_start, last_row_id, events)
        while len(self._sessions) > self.cache_conversations:
            self._sessions.popitem(last=False)
        return DialogueStateTracker.from_events(sender_id, events, self.domain.slots)

    def _additional_events(self, session: Any, tracker: Any) -> Iterator:
        stored = self._event_query(
            session, tracker.sender_id, fetch_events_from_all_sessions=False
        ).count()
        events = list(tracker.events)
        # Only the new events are converted; what they need of the ones before is
        # which slot the form was asking for.
        private = private_events(
            (event.as_dict() for event in events[stored:]),
            requested=requested_slot_after(events[:stored]),
        )
        return (Event.from_parameters(data) for data in private)


def requested_slot_after(events: list[Event]) -> Any:
    """The slot the form asks for after `events` (shopmate/privacy.py's state)."""
    requested = None
    for event in events:
        if isinstance(event, SlotSet):
            requested = next_requested_slot(requested, "slot", event.key, event.value)
        elif isinstance(event, ActiveLoop):
            requested = next_requested_slot(requested, "active_loop", event.name, None)
        else:
            requested = next_requested_slot(requested, event.type_name, None, None)
    return requested


class EnvTrackerStore(TrackerStore):
    """SQL tracker store: PostgreSQL from TRACKER_DB_URL, else an SQLite file."""

    def __new__(  # type: ignore[misc]
        cls, domain: Any = None, event_broker: Optional[Any] = None, **_: Any
    ) -> PrivateSQLTrackerStore:
        settings = StoreSettings.from_env()
        url, cache = settings.tracker_db_url, settings.tracker_cache_conversations
        if url:
            return PrivateSQLTrackerStore(
                domain=domain,
                event_broker=event_broker,
                cache_conversations=cache,
                **sql_store_kwargs(url),
            )
        path = settings.tracker_sqlite_path
        path.parent.mkdir(parents=True, exist_ok=True)
        return PrivateSQLTrackerStore(
            domain=domain,
            dialect="sqlite",
            db=str(path),
            event_broker=event_broker,
            cache_conversations=cache,
        )


REDIS_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


class FailoverLockStore(LockStore):
    """Rasa's Redis lock store, and this process's own locks while Redis is down.

    A lock only keeps two turns of one conversation from running at once. With Redis
    down, refusing every message would stop the shop; each instance then locks what it
    handles itself: a Socket.IO conversation stays on one instance (nginx's sticky
    hash), and a REST conversation's turns only meet if its server sends two at once.
    Redis is tried again every few seconds (Outage) and used as soon as it answers.
    """

    def __init__(self, shared: LockStore, outage: Outage | None = None) -> None:
        super().__init__()
        self.shared = shared
        self.local = InMemoryLockStore()
        self.outage = outage or Outage()

    def _lost(self, error: Exception) -> None:
        if self.outage.mark_down():
            logger.warning(
                "lock store: Redis unreachable (%s); locking per instance until it is back",
                type(error).__name__,
            )

    def _store(self) -> LockStore:
        return self.local if self.outage.is_down() else self.shared

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = 1,
    ) -> AsyncIterator[TicketLock]:
        store = self._store()
        try:
            ticket = store.issue_ticket(conversation_id, lock_lifetime)
            acquired = await acquire(store, conversation_id, ticket, wait_time_in_seconds)
        except (LockError, *REDIS_ERRORS) as error:
            if store is self.local or not _caused_by_redis(error):
                raise
            self._lost(error)
            store = self.local
            ticket = store.issue_ticket(conversation_id, lock_lifetime)
            acquired = await acquire(store, conversation_id, ticket, wait_time_in_seconds)
        else:
            if store is self.shared and self.outage.mark_up():
                logger.warning("lock store: Redis is back")
        try:
            yield acquired
        finally:
            try:
                store.cleanup(conversation_id, ticket)
            except REDIS_ERRORS as error:  # its ticket lapses by itself in Redis
                self._lost(error)

    def get_lock(self, conversation_id: str) -> Optional[TicketLock]:
        return self._store().get_lock(conversation_id)

    def delete_lock(self, conversation_id: str) -> None:
        self._store().delete_lock(conversation_id)

    def save_lock(self, lock: TicketLock) -> None:
        self._store().save_lock(lock)


async def acquire(store: LockStore, conversation_id: str, ticket: int, wait_s: float) -> TicketLock:
    """Wait for `ticket`'s turn, as Rasa's LockStore._acquire_lock does, except when
    the ticket itself lapses while waiting. That happens when the instance holding the
    lock died (its ticket lives out its lifetime, then ours may be gone too): Rasa 3.6
    then waits forever, as no ticket it could serve is left. Here the turn goes ahead,
    its holder being gone."""
    while True:
        lock = store.get_lock(conversation_id)
        if lock is None:
            return store.create_lock(conversation_id)
        if not lock.is_locked(ticket):
            return lock
        if lock._ticket_for_ticket_number(ticket) is None:
            logger.warning("lock store: a waiting turn's ticket lapsed; it goes ahead")
            return lock
        await asyncio.sleep(wait_s)
        store.update_lock(conversation_id)


def _caused_by_redis(error: BaseException) -> bool:
    """Rasa wraps a Redis failure while issuing a ticket in a LockError."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, REDIS_ERRORS):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class EnvLockStore(LockStore):
    """Redis lock store from REDIS_URL (with per-instance locks while Redis is down),
    else in memory."""

    def __new__(cls, **_: Any) -> LockStore:  # type: ignore[misc]
        url = StoreSettings.from_env().redis_url
        if url:
            # 1 s, not Rasa's 10: a hung Redis must not hold every turn for 10 s.
            return FailoverLockStore(RedisLockStore(**redis_kwargs(url), socket_timeout=1))
        return InMemoryLockStore()
