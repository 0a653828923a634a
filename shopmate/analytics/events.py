"""Rasa's SQL tracker store read as a stream of conversations.

Rasa's ``SQLTrackerStore`` keeps one row per event in the table ``events``: ``id``,
``sender_id``, ``type_name``, ``timestamp``, ``intent_name``, ``action_name`` and
``data`` (the event as JSON text). The rows are read ordered by ``(sender_id, id)``
with a server-side cursor (``stream_results``), so one conversation is in memory at a
time, whatever the size of the store. A sender's events are cut into sessions at each
``session_started``: a session is what the report calls a conversation.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    select,
)
from sqlalchemy.engine import make_url

from shopmate.db.session import create_db_engine

# The table as Rasa 3.6 creates it (rasa/core/tracker_store.py, SQLTrackerStore.SQLEvent).
metadata = MetaData()
events_table = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)

# Only these events' JSON is parsed: the others say all the report needs in columns.
PARSED_TYPES = frozenset({"user", "bot", "slot"})
SESSION_STARTED = "session_started"
BATCH_ROWS = 2000


@dataclass(frozen=True, slots=True)
class Event:
    kind: str  # Rasa's type_name: user, bot, action, slot, pause, resume, ...
    timestamp: float
    intent: str | None = None
    action: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Conversation:
    sender_id: str
    events: list[Event]

    @property
    def started(self) -> float:
        return self.events[0].timestamp if self.events else 0.0

    @property
    def ended(self) -> float:
        return self.events[-1].timestamp if self.events else 0.0


def tracker_url(url_or_path: str) -> str:
    """A database URL, or the path of an SQLite file (Rasa's default tracker store)."""
    if "://" in url_or_path:
        return url_or_path
    return f"sqlite:///{Path(url_or_path).resolve()}"


def tracker_engine(url_or_path: str) -> Engine:
    url = tracker_url(url_or_path)
    if make_url(url).get_backend_name() == "sqlite":
        path = make_url(url).database
        if path and path != ":memory:" and not Path(path).exists():
            raise FileNotFoundError(f"no tracker store at {path}")
    return create_db_engine(url)


def _event(row: Any) -> Event:
    kind = row.type_name
    data: dict[str, Any] = {}
    if kind in PARSED_TYPES and row.data:
        try:
            parsed = json.loads(row.data)
        except ValueError:
            parsed = {}
        data = parsed if isinstance(parsed, dict) else {}
    return Event(
        kind=kind,
        timestamp=float(row.timestamp or 0.0),
        intent=row.intent_name,
        action=row.action_name,
        data=data,
    )


def _sessions(sender_id: str, events: Iterator[Event]) -> Iterator[Conversation]:
    current: list[Event] = []
    for event in events:
        if event.kind == SESSION_STARTED and current:
            yield Conversation(sender_id, current)
            current = []
        current.append(event)
    if current:
        yield Conversation(sender_id, current)


def read_conversations(
    engine: Engine,
    since: datetime | None = None,
    until: datetime | None = None,
    batch_rows: int = BATCH_ROWS,
) -> Iterator[Conversation]:
    """Every session of every sender, events in the order Rasa stored them; only
    events with ``since <= timestamp < until`` (either bound optional)."""
    columns = events_table.c
    query = select(
        columns.sender_id,
        columns.type_name,
        columns.timestamp,
        columns.intent_name,
        columns.action_name,
        columns.data,
    ).order_by(columns.sender_id, columns.id)
    if since is not None:
        query = query.where(columns.timestamp >= since.timestamp())
    if until is not None:
        query = query.where(columns.timestamp < until.timestamp())
    with engine.connect() as connection:
        rows = connection.execution_options(stream_results=True, yield_per=batch_rows).execute(
            query
        )
        for sender_id, group in groupby(rows, key=lambda row: row.sender_id):
            yield from _sessions(str(sender_id), (_event(row) for row in group))
