"""A person takes over: the handoff itself, the bot's offer of one, and the rating.

`action_handoff` files a ticket with the transcript, the verified customer, the orders
proved and a summary, tells the shopper the ticket number and the wait, and pauses the
conversation: Rasa then runs no action until an agent hands it back from the console
(web/agent.py), which also asks for the rating. `action_offer_handoff` is predicted by
addons/escalation_policy.py: it offers a person and reverts itself, so the turn goes
on as if it had not run. `action_store_rating` stores the 1-5 rating on the ticket.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionReverted, ConversationPaused, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions.support.conversation import entity_values, latest_text
from actions.support.handoff import TICKET_SLOT, agent_summary, conversation_facts, tell_handoff
from actions.support.services import Lazy, lazy
from shopmate.identity import CustomerTokens
from shopmate.llm import Generator, TemplateGenerator
from shopmate.support.escalation import Trigger
from shopmate.support.handoff import SupportDesk
from shopmate.support.tickets import TicketError

logger = logging.getLogger(__name__)
RATING_ENTITY = "satisfaction"


class ActionHandoff(Action):
    def __init__(
        self,
        support: SupportDesk | Lazy[SupportDesk],
        tokens: CustomerTokens | None,
        timezone: str = "Asia/Shanghai",
        generator: Generator | Lazy[Generator] | None = None,
    ) -> None:
        self._support = lazy(support)
        self.tokens = tokens
        self.timezone = timezone
        self._generator = lazy(generator) if generator is not None else Lazy(TemplateGenerator)

    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        facts = conversation_facts(tracker, self.tokens)
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        trigger = Trigger.REQUESTED if intent in ("request_human", "affirm") else Trigger.NEGATIVE
        try:
            support = await self._support.ready()
            handoff = await asyncio.to_thread(support.existing_handoff, facts.conversation_id)
            if handoff is None:
                # Only a new ticket needs a summary (with a model, a generation).
                summary = await agent_summary(facts, trigger, await self._generator.ready())
                handoff = await asyncio.to_thread(support.hand_over, facts, trigger, summary)
        except (SQLAlchemyError, OSError) as error:
            logger.error("handoff unavailable: %s", type(error).__name__)
            dispatcher.utter_message(response="utter_handoff_unavailable")
            return []
        if handoff.already:
            # Still with a person (asked again, or a new session while they have it).
            dispatcher.utter_message(response="utter_handoff_still_open", ticket=handoff.ticket)
        else:
            tell_handoff(dispatcher, handoff, self.timezone)
        return [SlotSet(TICKET_SLOT, handoff.ticket), ConversationPaused()]


class ActionOfferHandoff(Action):
    def name(self) -> str:
        return "action_offer_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_offer_handoff")
        # Undo this action in the dialogue state: the turn continues as if it had not
        # run, so the shopper still gets the answer to what they asked.
        return [ActionReverted()]


def rating_in(tracker: Tracker) -> int | None:
    for value in [*entity_values(tracker, RATING_ENTITY), latest_text(tracker)]:
        digits = "".join(ch for ch in str(value) if ch.isdigit())
        if len(digits) == 1 and 1 <= int(digits) <= 5:
            return int(digits)
    return None


class ActionStoreRating(Action):
    def __init__(self, support: SupportDesk | Lazy[SupportDesk]) -> None:
        self._support = lazy(support)

    def name(self) -> str:
        return "action_store_rating"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        rating = rating_in(tracker)
        rated = None
        if rating is not None:
            try:
                support = await self._support.ready()
                rated = await asyncio.to_thread(support.desk.rate, tracker.sender_id, rating)
            except (SQLAlchemyError, OSError, TicketError) as error:
                logger.error("rating not stored: %s", type(error).__name__)
        response = "utter_thanks_for_rating" if rated else "utter_nothing_to_rate"
        dispatcher.utter_message(response=response)
        return []
