"""The order database's side of the report: tickets (handoff reasons, complaint
categories, ratings) and after-sales outcomes (cancellations, returns, exchanges,
refunds), counted in the database, in the report's time window."""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shopmate.db.models import Exchange, Order, Refund, ReturnRequest, Ticket
from shopmate.db.session import Database

# A ticket belongs to the conversation whose events span its creation, give or take.
TICKET_SLACK_S = 120.0


@dataclass
class StoreFigures:
    tickets: int = 0
    handoff_tickets: int = 0
    complaint_tickets: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    complaint_categories: Counter[str] = field(default_factory=Counter)
    ratings: Counter[int] = field(default_factory=Counter)
    cancellations: int = 0
    returns_by_reason: Counter[str] = field(default_factory=Counter)
    returns_by_status: Counter[str] = field(default_factory=Counter)
    exchanges_by_status: Counter[str] = field(default_factory=Counter)
    refunds_by_status: Counter[str] = field(default_factory=Counter)
    refunded_cents: int = 0
    # conversation id -> sorted creation times of its tickets (for containment).
    ticket_times: dict[str, list[float]] = field(default_factory=dict)

    def has_ticket(self, sender_id: str, started: float, ended: float) -> bool:
        times = self.ticket_times.get(sender_id)
        if not times:
            return False
        at = bisect.bisect_left(times, started - TICKET_SLACK_S)
        return at < len(times) and times[at] <= ended + TICKET_SLACK_S

    @property
    def mean_rating(self) -> float | None:
        count = sum(self.ratings.values())
        return sum(r * n for r, n in self.ratings.items()) / count if count else None


def _window(column: Any, since: datetime | None, until: datetime | None) -> list[Any]:
    conditions = []
    if since is not None:
        conditions.append(column >= since)
    if until is not None:
        conditions.append(column < until)
    return conditions


def _value(value: Any) -> str:
    return str(getattr(value, "value", value))


def read_store(
    database: Database, since: datetime | None = None, until: datetime | None = None
) -> StoreFigures:
    figures = StoreFigures()
    times: defaultdict[str, list[float]] = defaultdict(list)
    with database.session() as session:
        _tickets(session, figures, times, since, until)
        _after_sales(session, figures, since, until)
    figures.ticket_times = {key: sorted(value) for key, value in times.items()}
    return figures


def _tickets(
    session: Session,
    figures: StoreFigures,
    times: defaultdict[str, list[float]],
    since: datetime | None,
    until: datetime | None,
) -> None:
    query = select(
        Ticket.conversation_id,
        Ticket.created_at,
        Ticket.kind,
        Ticket.reason,
        Ticket.category,
        Ticket.rating,
    ).where(*_window(Ticket.created_at, since, until))
    for conversation_id, created_at, kind, reason, category, rating in session.execute(query):
        figures.tickets += 1
        if kind == "complaint":
            figures.complaint_tickets += 1
            figures.complaint_categories[category or "other"] += 1
        else:
            figures.handoff_tickets += 1
        figures.reasons[reason] += 1
        if rating is not None:
            figures.ratings[int(rating)] += 1
        times[conversation_id].append(created_at.timestamp())


def _after_sales(
    session: Session, figures: StoreFigures, since: datetime | None, until: datetime | None
) -> None:
    figures.cancellations = int(
        session.scalar(
            select(func.count())
            .select_from(Order)
            .where(Order.cancelled_at.is_not(None), *_window(Order.cancelled_at, since, until))
        )
        or 0
    )
    returns = select(ReturnRequest.reason, ReturnRequest.status, func.count()).where(
        *_window(ReturnRequest.created_at, since, until)
    )
    for reason, status, count in session.execute(
        returns.group_by(ReturnRequest.reason, ReturnRequest.status)
    ):
        figures.returns_by_reason[reason or "other"] += count
        figures.returns_by_status[_value(status)] += count
    exchanges = select(Exchange.status, func.count()).where(
        *_window(Exchange.created_at, since, until)
    )
    for exchange_status, count in session.execute(exchanges.group_by(Exchange.status)):
        figures.exchanges_by_status[_value(exchange_status)] += count
    refunds = select(Refund.status, func.count(), func.sum(Refund.amount_cents)).where(
        *_window(Refund.created_at, since, until)
    )
    for refund_status, count, cents in session.execute(refunds.group_by(Refund.status)):
        figures.refunds_by_status[_value(refund_status)] += count
        figures.refunded_cents += int(cents or 0)
