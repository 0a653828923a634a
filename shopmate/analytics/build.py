"""One report from the stores: read, aggregate, render (scripts/report.py, the console)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from functools import partial

from shopmate.analytics.events import read_conversations, tracker_engine
from shopmate.analytics.masking import conversation_key
from shopmate.analytics.metrics import Insight, collect
from shopmate.analytics.report import ReportMeta, render
from shopmate.analytics.store import StoreFigures, read_store
from shopmate.db.session import Database

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReportSources:
    tracker: str  # a database URL, or an SQLite file's path
    database_url: str | None  # the order database; None: the report has no store figures
    secret: str  # keys the conversations' hashes
    since: datetime | None = None
    until: datetime | None = None
    tz: tzinfo = UTC


def gather(sources: ReportSources) -> tuple[Insight, StoreFigures | None]:
    store: StoreFigures | None = None
    if sources.database_url:
        database = Database(sources.database_url)
        try:
            store = read_store(database, sources.since, sources.until)
        finally:
            database.dispose()
    engine = tracker_engine(sources.tracker)
    has_ticket: Callable[[str, float, float], bool] = (
        store.has_ticket if store is not None else (lambda sender, start, end: False)
    )
    try:
        conversations = read_conversations(engine, sources.since, sources.until)
        key = partial(conversation_key, sources.secret)
        insight = collect(conversations, key, has_ticket, sources.tz)
    finally:
        engine.dispose()
    return insight, store


def build_report(sources: ReportSources, stylesheet_href: str | None = None) -> str:
    started = time.perf_counter()
    insight, store = gather(sources)
    meta = ReportMeta(generated=datetime.now(UTC), since=sources.since, until=sources.until)
    page = render(insight, store, meta, stylesheet_href=stylesheet_href)
    logger.info(
        "report: %d conversations in %.1f s", insight.conversations, time.perf_counter() - started
    )
    return page
