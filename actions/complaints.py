"""Complaints: what went wrong, on which proved order, recorded as a ticket with the
next step and when; a complaint the store always gives to a person is handed over."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions.support.conversation import entity_values, message_text
from actions.support.handoff import TICKET_SLOT, agent_summary, conversation_facts, tell_handoff
from actions.support.identity import requester_for
from actions.support.services import Lazy, lazy
from shopmate.identity import CustomerTokens, normalize_order_number
from shopmate.llm import Generator, TemplateGenerator
from shopmate.orders import OrderNotAccessible, OrderService
from shopmate.support.complaints import asks_for_person, complaint_category
from shopmate.support.escalation import Trigger
from shopmate.support.handoff import SupportDesk

logger = logging.getLogger(__name__)


class ActionFileComplaint(Action):
    def __init__(
        self,
        support: SupportDesk | Lazy[SupportDesk],
        orders: OrderService | Lazy[OrderService],
        tokens: CustomerTokens | None,
        timezone: str = "Asia/Shanghai",
        generator: Generator | Lazy[Generator] | None = None,
    ) -> None:
        self._support = lazy(support)
        self._orders = lazy(orders)
        self.tokens = tokens
        self.timezone = timezone
        self._generator = lazy(generator) if generator is not None else Lazy(TemplateGenerator)

    def name(self) -> str:
        return "action_file_complaint"

    def proved_order(self, tracker: Tracker) -> tuple[str | None, int | None]:
        """The order the complaint is about, if this conversation proved it (a number
        the shopper only typed is not proof), and its total. Blocking."""
        candidates = [*entity_values(tracker, "order_id"), tracker.get_slot("order_id")]
        for raw in candidates:
            number = normalize_order_number(str(raw or ""))
            if number is None:
                continue
            requester = requester_for(tracker, self.tokens, number)
            try:
                summary = self._orders.get().order_summary(requester, number)
            except OrderNotAccessible:
                continue
            return number, summary.total_cents
        return None, None

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        facts = conversation_facts(tracker, self.tokens)
        text = message_text(tracker)
        category = complaint_category(text)
        person_asked = asks_for_person(text)
        try:
            number, total = await asyncio.to_thread(self.proved_order, tracker)
            support = await self._support.ready()
            summary = None
            if support.goes_to_person(category, total, person_asked):
                # Only a complaint handed to a person needs the agent's summary.
                trigger = Trigger.REQUESTED if person_asked else Trigger.COMPLAINT
                summary = await agent_summary(facts, trigger, await self._generator.ready())
            complaint = await asyncio.to_thread(
                support.file_complaint,
                facts,
                category,
                number,
                total,
                person_asked=person_asked,
                summary=summary,
            )
        except (SQLAlchemyError, OSError) as error:
            logger.error("complaint not recorded: %s", type(error).__name__)
            dispatcher.utter_message(response="utter_complaint_unavailable")
            return []
        dispatcher.utter_message(response="utter_complaint_recorded", ticket=complaint.ticket)
        if complaint.handoff is not None:
            dispatcher.utter_message(response="utter_complaint_to_person")
            tell_handoff(dispatcher, complaint.handoff, self.timezone)
            return [SlotSet(TICKET_SLOT, complaint.handoff.ticket), ConversationPaused()]
        dispatcher.utter_message(response=f"utter_complaint_next_{category.value}")
        return []
