"""The steps every form about one order shares: the order number first, then, for a
guest, the phone digits that prove the order (counted server-side, across
conversations, by shopmate/guest_proof.py).
"""

from __future__ import annotations

import asyncio
import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions.support.identity import logged_in_customer, verified_orders
from actions.support.services import Lazy, lazy
from shopmate.guest_proof import GuestProofGuard, GuestProofPolicy, Outcome, Verdict
from shopmate.identity import CustomerTokens, normalize_order_number
from shopmate.orders import OrderNotAccessible, OrderService, Requester

logger = logging.getLogger(__name__)

MIN_PHONE_DIGITS = 4
ORDER_NUMBER_IN_TEXT = re.compile(r"(?<![A-Za-z0-9])[A-Za-z][\s\-]?\d{7}(?!\d)")


def utter_locked(dispatcher: CollectingDispatcher, number: str, verdict: Verdict) -> None:
    dispatcher.utter_message(
        response="utter_verification_locked", order_id=number, minutes=verdict.locked_minutes
    )


class OrderActionMixin:
    """The order service, the customer tokens and the guests' phone-check limits,
    given by the composition root (actions/container.py); tests pass fakes."""

    def __init__(
        self,
        orders: OrderService | Lazy[OrderService],
        tokens: CustomerTokens | None,
        guard: GuestProofGuard | Lazy[GuestProofGuard] | None = None,
    ) -> None:
        self._orders = lazy(orders)
        self.tokens = tokens
        # Without one: the default policy over the order service's own database.
        self._guard = (
            lazy(guard)
            if guard is not None
            else Lazy(lambda: GuestProofGuard(self.orders.database, GuestProofPolicy()))
        )

    @property
    def orders(self) -> OrderService:
        return self._orders.get()

    @property
    def guard(self) -> GuestProofGuard:
        """The guests' phone-check limits, kept in the order service's database."""
        return self._guard.get()


class OrderProofValidation(OrderActionMixin, FormValidationAction, ABC):
    """Order number first; then, for a guest, the phone digits that prove the order.

    Every form about one order shares this; a subclass says what to do once the order
    is proven the shopper's (`on_proven`), which is also where a logged-in shopper's
    ownership is checked.
    """

    def identity_slots(self, tracker: Tracker) -> list[str]:
        order = tracker.get_slot("order_id")
        if logged_in_customer(tracker, self.tokens) is not None or (
            order and order in verified_orders(tracker)
        ):
            return ["order_id"]
        return ["order_id", "guest_phone"]

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        return self.identity_slots(tracker)

    @abstractmethod
    async def on_proven(
        self, requester: Requester, number: str, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        """Slots to set once `number` is proven the requester's; may raise
        OrderNotAccessible (not theirs after all) or SQLAlchemyError."""

    async def validate_order_id(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        match = ORDER_NUMBER_IN_TEXT.search(str(value or ""))
        number = normalize_order_number(match.group()) if match else None
        if number is None:
            dispatcher.utter_message(response="utter_invalid_order_number")
            return {"order_id": None}
        customer_id = logged_in_customer(tracker, self.tokens)
        if customer_id is not None:
            requester = Requester(customer_id=customer_id)
        elif number in verified_orders(tracker):
            requester = Requester(verified_order=number)
        else:
            # A guest proves it with the phone next: not while phone checks are locked
            # (the same for numbers that exist and numbers that do not).
            verdict = await self._guarded(self.guard.check, number, dispatcher)
            if verdict is None:
                return {"order_id": None}
            if verdict.outcome is Outcome.LOCKED:
                utter_locked(dispatcher, number, verdict)
                return {"order_id": None}
            return {"order_id": number, "guest_phone": None}
        return {"order_id": number, **await self._proven(requester, number, dispatcher, tracker)}

    async def validate_guest_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        number = tracker.get_slot("order_id")
        if not number:
            return {"guest_phone": None}
        digits = re.sub(r"\D", "", ORDER_NUMBER_IN_TEXT.sub("", str(value or "")))
        if len(digits) < MIN_PHONE_DIGITS:
            # "I am customer 1" or an order number is not an attempt at the phone: ask
            # again, count nothing.
            return {"guest_phone": None}
        # The try is counted (server-side, for every conversation) before the phone is
        # compared, so parallel guesses cannot all pass one check.
        verdict = await self._guarded(self.guard.begin_attempt, number, dispatcher)
        if verdict is None:
            return {"guest_phone": None}
        if verdict.outcome is Outcome.LOCKED:
            utter_locked(dispatcher, number, verdict)
            return {"guest_phone": None, "order_id": None}
        if verdict.outcome is Outcome.WAIT:
            # Too soon after the last failure: counts nothing, the form asks again.
            dispatcher.utter_message(
                response="utter_verification_wait", seconds=verdict.wait_seconds
            )
            return {"guest_phone": None}
        try:
            proven = await asyncio.to_thread(self.orders.verify_guest, number, str(value or ""))
        except SQLAlchemyError as error:
            logger.error("order database error: %s", type(error).__name__)
            dispatcher.utter_message(response="utter_order_service_unavailable")
            return {"guest_phone": None}
        if proven:
            try:
                await asyncio.to_thread(self.guard.record_success, number)
            except SQLAlchemyError as error:
                # The proof stands; the count stays until a later success or its expiry.
                logger.warning("guest proof database error: %s", type(error).__name__)
            # Keep no phone digits in the tracker once they have served.
            slots = {
                "guest_phone": "verified",
                "verified_orders": [*verified_orders(tracker), number],
            }
            requester = Requester(verified_order=number)
            return {**slots, **await self._proven(requester, number, dispatcher, tracker)}
        if verdict.remaining <= 0:
            utter_locked(dispatcher, number, verdict)
            return {"guest_phone": None, "order_id": None}
        dispatcher.utter_message(response="utter_verification_failed", remaining=verdict.remaining)
        return {"guest_phone": None}

    @staticmethod
    async def _guarded(
        call: Callable[[str], Verdict], number: str, dispatcher: CollectingDispatcher
    ) -> Verdict | None:
        """The guard's verdict, or None (the shopper told the service is down)."""
        try:
            return await asyncio.to_thread(call, number)
        except SQLAlchemyError as error:
            logger.error("guest proof database error: %s", type(error).__name__)
            dispatcher.utter_message(response="utter_order_service_unavailable")
            return None

    async def _proven(
        self, requester: Requester, number: str, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        try:
            return await self.on_proven(requester, number, dispatcher, tracker)
        except OrderNotAccessible:
            dispatcher.utter_message(response="utter_order_not_found", order_id=number)
        except SQLAlchemyError as error:
            logger.error("order database error: %s", type(error).__name__)
            dispatcher.utter_message(response="utter_order_service_unavailable")
        return {"order_id": None}
