"""Handing a conversation to a person, and filing complaints: the tickets, the summary,
the helpdesk webhook and what to tell the shopper about the wait."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shopmate.db.columns import utcnow
from shopmate.support.complaints import ComplaintCategory, ComplaintPolicy
from shopmate.support.escalation import Trigger
from shopmate.support.hours import SupportHours
from shopmate.support.summary import template_summary
from shopmate.support.tickets import NewTicket, TicketDesk, TicketKind, TicketView
from shopmate.support.webhook import HelpdeskWebhook

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConversationFacts:
    """What the action server knows for sure about a conversation (never a claim)."""

    conversation_id: str
    language: str
    sentiment: str
    transcript: list[dict[str, Any]]
    customer_id: int | None = None
    orders_proved: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Handoff:
    ticket: str
    open_now: bool
    wait_minutes: int
    opens_at: datetime
    hours: str
    already: bool = False  # the conversation was already with a person


@dataclass(frozen=True)
class Complaint:
    ticket: str
    category: ComplaintCategory
    handoff: Handoff | None  # set when the complaint went straight to a person


def summary_of(facts: ConversationFacts, trigger: Trigger) -> str:
    """The template summary: trigger, who, orders, what was asked, the last messages."""
    return template_summary(
        facts.transcript,
        trigger=trigger.value,
        language=facts.language,
        orders=facts.orders_proved,
        customer_id=facts.customer_id,
        sentiment=facts.sentiment,
    )


class SupportDesk:
    """Files complaints and handoffs as tickets (one short transaction each)."""

    def __init__(
        self,
        desk: TicketDesk,
        hours: SupportHours,
        *,
        wait_minutes: int = 5,
        complaints: ComplaintPolicy | None = None,
        webhook: HelpdeskWebhook | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.desk = desk
        self.hours = hours
        self.wait_minutes = wait_minutes
        self.complaints = complaints or ComplaintPolicy()
        self.webhook = webhook
        self.clock = clock

    def hand_over(
        self, facts: ConversationFacts, trigger: Trigger, summary: str | None = None
    ) -> Handoff:
        """Open a handoff ticket, unless the conversation already has one open.
        ``summary``: what the agent reads first (the facts' template when None)."""
        existing = self.existing_handoff(facts.conversation_id)
        if existing is not None:
            return existing
        summary = summary or summary_of(facts, trigger)
        ticket = self._open(facts, TicketKind.HANDOFF, trigger.value, summary=summary)
        return self._handoff(ticket)

    def existing_handoff(self, conversation_id: str) -> Handoff | None:
        """The conversation's open handoff (``already`` set), if a person has it."""
        ticket = self.desk.active_handoff(conversation_id)
        return self._handoff(ticket, already=True) if ticket is not None else None

    def goes_to_person(
        self, category: ComplaintCategory, order_total_cents: int | None, person_asked: bool
    ) -> bool:
        """A complaint is handed over when the shopper asked, or the store says so."""
        return person_asked or self.complaints.needs_person(category, order_total_cents)

    def file_complaint(
        self,
        facts: ConversationFacts,
        category: ComplaintCategory,
        order_number: str | None,
        order_total_cents: int | None,
        *,
        person_asked: bool = False,
        summary: str | None = None,
    ) -> Complaint:
        """Record the complaint; one the store gives to a person, or whose shopper asked
        for one, is handed over too."""
        ticket = self._open(
            facts,
            TicketKind.COMPLAINT,
            "complaint",
            category=category.value,
            order_number=order_number,
        )
        handoff = None
        if self.goes_to_person(category, order_total_cents, person_asked):
            trigger = Trigger.REQUESTED if person_asked else Trigger.COMPLAINT
            handoff = self.hand_over(facts, trigger, summary)
        return Complaint(ticket.number, category, handoff)

    def _open(
        self, facts: ConversationFacts, kind: TicketKind, reason: str, **extra: Any
    ) -> TicketView:
        """File a ticket with what the conversation proved, and forward it."""
        ticket = self.desk.open(
            NewTicket(
                conversation_id=facts.conversation_id,
                kind=kind,
                reason=reason,
                language=facts.language,
                sentiment=facts.sentiment,
                transcript=facts.transcript,
                customer_id=facts.customer_id,
                orders_proved=facts.orders_proved,
                **extra,
            )
        )
        self._forward(ticket)
        return ticket

    def _handoff(self, ticket: TicketView, already: bool = False) -> Handoff:
        now = self.clock()
        return Handoff(
            ticket=ticket.number,
            open_now=self.hours.is_open(now),
            wait_minutes=self.wait_minutes,
            opens_at=self.hours.next_opening(now),
            hours=f"{self.hours.opens:%H:%M}–{self.hours.closes:%H:%M}",
            already=already,
        )

    def _forward(self, ticket: TicketView) -> None:
        if self.webhook is None:
            return
        self.webhook.send(
            {
                "ticket": ticket.number,
                "kind": ticket.kind,
                "reason": ticket.reason,
                "category": ticket.category,
                "language": ticket.language,
                "sentiment": ticket.sentiment,
                "customer_id": ticket.customer_id,
                "orders": list(ticket.orders_proved),
                "summary": ticket.summary,
                "created_at": ticket.created_at.isoformat(),
            }
        )
