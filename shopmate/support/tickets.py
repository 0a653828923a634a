"""Tickets: complaints and handed-over conversations, as the bot files them and agents
work them (queue, claim, notes, hand back, rating)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from shopmate.db import models as m
from shopmate.db.columns import utcnow
from shopmate.db.session import Database

NOTE_CHARS = 2000


def ticket_number(ticket_id: int) -> str:
    """What the shopper and the agent call a ticket: "T000042"."""
    return f"T{ticket_id:06d}"


def ticket_id_of(number: str) -> int | None:
    text = str(number or "").strip().upper()
    digits = text[1:] if text.startswith("T") else text
    return int(digits) if digits.isdigit() and len(digits) <= 9 else None


class TicketKind(enum.StrEnum):
    COMPLAINT = "complaint"
    HANDOFF = "handoff"


class QueueView(enum.StrEnum):
    WAITING = "waiting"  # handed over, nobody has claimed it
    MINE = "mine"  # claimed by this agent, still open
    CLOSED = "closed"


@dataclass(frozen=True)
class NewTicket:
    conversation_id: str
    kind: TicketKind
    reason: str
    language: str
    sentiment: str
    transcript: list[dict[str, Any]]
    customer_id: int | None = None  # from a verified token only
    orders_proved: list[str] = field(default_factory=list)
    category: str | None = None
    order_number: str | None = None
    summary: str = ""


@dataclass(frozen=True)
class Note:
    agent: str
    text: str
    at: datetime


@dataclass(frozen=True)
class TicketView:
    id: int
    number: str
    kind: str
    status: str
    reason: str
    conversation_id: str
    language: str
    sentiment: str
    category: str | None
    order_number: str | None
    orders_proved: tuple[str, ...]
    customer_id: int | None
    customer_name: str | None
    agent: str | None
    summary: str
    rating: int | None
    created_at: datetime
    closed_at: datetime | None
    transcript: tuple[dict[str, Any], ...]
    notes: tuple[Note, ...] = ()


class TicketError(Exception):
    """The ticket is not there, or not in a state that allows this."""


class TicketDesk:
    """The tickets of the order database; every method is one short transaction."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def open(self, new: NewTicket) -> TicketView:
        with self.database.session() as session:
            ticket = m.Ticket(
                conversation_id=new.conversation_id,
                kind=new.kind.value,
                reason=new.reason,
                status=m.TicketStatus.OPEN
                if new.kind is TicketKind.HANDOFF
                else m.TicketStatus.PENDING,
                language=new.language,
                sentiment=new.sentiment,
                transcript=new.transcript,
                customer_id=new.customer_id,
                orders_proved=list(new.orders_proved),
                category=new.category,
                order_number=new.order_number,
                summary=new.summary,
            )
            session.add(ticket)
            session.flush()
            return self._view(session, ticket)

    def active_handoff(self, conversation_id: str) -> TicketView | None:
        """The conversation's handoff an agent has not closed yet, if any."""
        with self.database.session() as session:
            ticket = session.scalars(
                select(m.Ticket)
                .where(
                    m.Ticket.conversation_id == conversation_id,
                    m.Ticket.kind == TicketKind.HANDOFF.value,
                    m.Ticket.status != m.TicketStatus.CLOSED,
                )
                .order_by(m.Ticket.id.desc())
            ).first()
            return self._view(session, ticket) if ticket else None

    def queue(self, view: QueueView, agent: str, limit: int = 100) -> list[TicketView]:
        query = select(m.Ticket).where(m.Ticket.kind == TicketKind.HANDOFF.value)
        if view is QueueView.WAITING:
            query = query.where(m.Ticket.status == m.TicketStatus.OPEN).order_by(m.Ticket.id)
        elif view is QueueView.MINE:
            query = query.where(
                m.Ticket.status == m.TicketStatus.PENDING, m.Ticket.agent == agent
            ).order_by(m.Ticket.id)
        else:
            query = query.where(m.Ticket.status == m.TicketStatus.CLOSED).order_by(
                m.Ticket.closed_at.desc()
            )
        with self.database.session() as session:
            return [
                self._view(session, t, notes=False) for t in session.scalars(query.limit(limit))
            ]

    def get(self, ticket_id: int) -> TicketView:
        with self.database.session() as session:
            return self._view(session, self._ticket(session, ticket_id))

    def claim(self, ticket_id: int, agent: str) -> TicketView:
        """The agent takes a waiting handoff; claiming one's own again is harmless.
        Another agent's ticket stays theirs."""
        with self.database.session() as session:
            ticket = self._ticket(session, ticket_id)
            if ticket.status is m.TicketStatus.CLOSED:
                raise TicketError("closed")
            if ticket.agent not in (None, agent):
                raise TicketError("claimed by another agent")
            ticket.agent, ticket.status, ticket.updated_at = agent, m.TicketStatus.PENDING, utcnow()
            return self._view(session, ticket)

    def add_note(self, ticket_id: int, agent: str, text: str) -> None:
        text = " ".join(str(text or "").split())[:NOTE_CHARS]
        if not text:
            raise TicketError("empty note")
        with self.database.session() as session:
            ticket = self._ticket(session, ticket_id)
            ticket.notes.append(m.TicketNote(agent=agent, text=text))
            ticket.updated_at = utcnow()

    def save_transcript(self, ticket_id: int, transcript: list[dict[str, Any]]) -> None:
        with self.database.session() as session:
            ticket = self._ticket(session, ticket_id)
            ticket.transcript, ticket.updated_at = transcript, utcnow()

    def close(self, ticket_id: int, agent: str, transcript: list[dict[str, Any]]) -> TicketView:
        """Hand back: the ticket closes with the whole conversation as it now stands."""
        with self.database.session() as session:
            ticket = self._ticket(session, ticket_id)
            if ticket.agent not in (None, agent):
                raise TicketError("claimed by another agent")
            now = utcnow()
            ticket.status, ticket.agent = m.TicketStatus.CLOSED, agent
            ticket.transcript, ticket.closed_at, ticket.updated_at = transcript, now, now
            return self._view(session, ticket)

    def rate(self, conversation_id: str, rating: int) -> str | None:
        """Store the shopper's 1-5 rating on the conversation's latest closed handoff
        that has none yet; its number, or None when there is nothing to rate."""
        if not 1 <= int(rating) <= 5:
            raise TicketError("rating out of range")
        with self.database.session() as session:
            ticket = session.scalars(
                select(m.Ticket)
                .where(
                    m.Ticket.conversation_id == conversation_id,
                    m.Ticket.status == m.TicketStatus.CLOSED,
                    m.Ticket.rating.is_(None),
                )
                .order_by(m.Ticket.id.desc())
            ).first()
            if ticket is None:
                return None
            ticket.rating, ticket.updated_at = int(rating), utcnow()
            return ticket_number(ticket.id)

    @staticmethod
    def _ticket(session: Any, ticket_id: int) -> m.Ticket:
        ticket: m.Ticket | None = session.get(m.Ticket, ticket_id)
        if ticket is None:
            raise TicketError("no such ticket")
        return ticket

    @staticmethod
    def _view(session: Any, ticket: m.Ticket, notes: bool = True) -> TicketView:
        customer = session.get(m.Customer, ticket.customer_id) if ticket.customer_id else None
        return TicketView(
            id=ticket.id,
            number=ticket_number(ticket.id),
            kind=ticket.kind,
            status=ticket.status.value,
            reason=ticket.reason,
            conversation_id=ticket.conversation_id,
            language=ticket.language,
            sentiment=ticket.sentiment,
            category=ticket.category,
            order_number=ticket.order_number,
            orders_proved=tuple(ticket.orders_proved or ()),
            customer_id=ticket.customer_id,
            customer_name=customer.name if customer else None,
            agent=ticket.agent,
            summary=ticket.summary,
            rating=ticket.rating,
            created_at=ticket.created_at,
            closed_at=ticket.closed_at,
            transcript=tuple(ticket.transcript or ()),
            notes=tuple(Note(n.agent, n.text, n.created_at) for n in ticket.notes) if notes else (),
        )
