"""Order status, shipment tracking and refund status, for the shopper who owns the order.

`order_form` collects the order number and, for a guest, the phone digits that prove
it; `action_answer_order` then answers whichever of the three questions was asked.
"""

from __future__ import annotations

import asyncio
import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions.common import shopper_language
from actions.verification import (
    default_tokens,
    logged_in_customer,
    requester_for,
    verified_orders,
)
from shopmate.db.session import Database
from shopmate.guest_proof import GuestProofGuard, GuestProofPolicy, Outcome, Verdict
from shopmate.identity import CustomerTokens, normalize_order_number
from shopmate.orders import (
    ON_THE_WAY,
    OrderNotAccessible,
    OrderService,
    OrderSummary,
    Requester,
)
from shopmate.settings import Settings, get_settings

logger = logging.getLogger(__name__)

MIN_PHONE_DIGITS = 4
ORDER_INTENTS = ("check_order_status", "track_shipment", "check_refund_status")
ORDER_NUMBER_IN_TEXT = re.compile(r"(?<![A-Za-z0-9])[A-Za-z][\s\-]?\d{7}(?!\d)")
# Names of payment methods and carriers as the shopper reads them (data labels).
METHOD_NAMES = {
    "zh": {"alipay": "支付宝", "wechat_pay": "微信支付", "unionpay": "银联卡", "card": "银行卡"},
    "en": {"alipay": "Alipay", "wechat_pay": "WeChat Pay", "unionpay": "UnionPay", "card": "card"},
}
CARRIER_NAMES_EN = {"顺丰速运": "SF Express", "中通快递": "ZTO Express", "京东物流": "JD Logistics"}


@lru_cache(maxsize=1)
def default_order_service() -> OrderService:
    """One engine per action server process, created on first use."""
    return OrderService(Database(get_settings().database_url))


def guest_proof_policy(settings: Settings) -> GuestProofPolicy:
    return GuestProofPolicy(
        max_failures=settings.guest_proof_max_failures,
        delays=settings.guest_proof_delays_s,
        lock=timedelta(minutes=settings.guest_proof_lock_minutes),
    )


def money(cents: int) -> str:
    return f"¥{cents / 100:.2f}"


def local_time(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(get_settings().store_timezone)).strftime("%Y-%m-%d %H:%M")


def describe_items(summary: OrderSummary, language: str) -> str:
    parts = [
        f"{i.title_zh if language == 'zh' else i.title_en} ×{i.quantity}" for i in summary.items
    ]
    return ("、" if language == "zh" else ", ").join(parts)


def last_order_intent(tracker: Tracker) -> str:
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            intent = (event.get("parse_data") or {}).get("intent", {}).get("name")
            if intent in ORDER_INTENTS:
                return str(intent)
    return ORDER_INTENTS[0]


def utter_locked(dispatcher: CollectingDispatcher, number: str, verdict: Verdict) -> None:
    dispatcher.utter_message(
        response="utter_verification_locked", order_id=number, minutes=verdict.locked_minutes
    )


class OrderActionMixin:
    """Services for order actions, injectable for tests."""

    def __init__(
        self,
        orders: OrderService | None = None,
        tokens: CustomerTokens | None = None,
        guard: GuestProofGuard | None = None,
    ) -> None:
        self._orders = orders
        self.tokens = tokens if tokens is not None else default_tokens()
        self._guard = guard

    @property
    def orders(self) -> OrderService:
        # Lazily: importing the actions package must not open a database.
        if self._orders is None:
            self._orders = default_order_service()
        return self._orders

    @property
    def guard(self) -> GuestProofGuard:
        """The guests' phone-check limits, kept in the order service's database."""
        if self._guard is None:
            policy = guest_proof_policy(get_settings())
            self._guard = GuestProofGuard(self.orders.database, policy)
        return self._guard


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


class ValidateOrderForm(OrderProofValidation):
    """The order questions: status, tracking and refund status."""

    def name(self) -> str:
        return "validate_order_form"

    async def on_proven(
        self, requester: Requester, number: str, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        if requester.customer_id is not None:
            # A guest proved the order with its phone; a token names a customer who
            # may not own it, so check before the form goes on.
            await asyncio.to_thread(self.orders.owns, requester, number)
        return {}


class ActionAnswerOrder(OrderActionMixin, Action):
    """Answers the order question the shopper asked, once the order is proven theirs."""

    def name(self) -> str:
        return "action_answer_order"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events: list[EventType] = [SlotSet("guest_phone", None)]
        number = tracker.get_slot("order_id")
        if not number:
            return events
        requester = requester_for(tracker, self.tokens, number)
        language = shopper_language(tracker)
        intent = last_order_intent(tracker)
        try:
            summary = await asyncio.to_thread(self.orders.order_summary, requester, number)
            if intent == "check_refund_status":
                refunds = await asyncio.to_thread(self.orders.refunds, requester, number)
        except OrderNotAccessible:
            dispatcher.utter_message(response="utter_order_not_found", order_id=number)
            return events
        except SQLAlchemyError as error:
            logger.error("order database error: %s", type(error).__name__)
            dispatcher.utter_message(response="utter_order_service_unavailable")
            return events
        if intent == "track_shipment":
            self._tracking(dispatcher, summary, language)
        elif intent == "check_refund_status":
            self._refunds(dispatcher, summary, refunds, language)
        else:
            dispatcher.utter_message(
                response=f"utter_order_status_{summary.status.value}",
                order_number=summary.order_number,
                placed_at=local_time(summary.placed_at),
                delivered_at=local_time(summary.delivered_at),
                items=describe_items(summary, language),
                total=money(summary.total_cents),
            )
            if summary.status in ON_THE_WAY:
                # "Where is my order?" is as often about the parcel as the order.
                self._tracking(dispatcher, summary, language)
        return events

    @staticmethod
    def _tracking(dispatcher: CollectingDispatcher, summary: OrderSummary, language: str) -> None:
        if not summary.tracking_number or not summary.tracking:
            dispatcher.utter_message(
                response="utter_tracking_not_shipped", order_number=summary.order_number
            )
            return
        latest = summary.tracking[-1]
        carrier = summary.carrier or ""
        dispatcher.utter_message(
            response="utter_tracking",
            order_number=summary.order_number,
            carrier=CARRIER_NAMES_EN.get(carrier, carrier) if language == "en" else carrier,
            tracking_number=summary.tracking_number,
            event_time=local_time(latest.occurred_at),
            location=latest.location,
            event=latest.description_zh if language == "zh" else latest.description_en,
        )

    @staticmethod
    def _refunds(
        dispatcher: CollectingDispatcher, summary: OrderSummary, refunds: list[Any], language: str
    ) -> None:
        if not refunds:
            dispatcher.utter_message(response="utter_no_refund", order_number=summary.order_number)
            return
        for refund in refunds:
            dispatcher.utter_message(
                response=f"utter_refund_{refund.status.value}",
                order_number=summary.order_number,
                amount=money(refund.amount_cents),
                method=METHOD_NAMES[language].get(refund.method, refund.method),
                date=local_time(refund.completed_at or refund.created_at),
            )


class ActionExplainForm(Action):
    """Help with the question the form just asked ("我忘了手机号", "where is the
    order number?"): where to find it, why it is needed, and the ways out. The form
    asks its question again after this (the rules resume it)."""

    HELP_BY_SLOT: ClassVar[dict[str, str]] = {
        "order_id": "utter_help_order_id",
        "guest_phone": "utter_help_guest_phone",
    }

    def name(self) -> str:
        return "action_explain_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        requested = tracker.get_slot("requested_slot")
        if tracker.active_loop_name is None:
            # Outside a form the question is nearly always where the order number is.
            requested = "order_id"
        dispatcher.utter_message(response=self.HELP_BY_SLOT.get(str(requested), "utter_help_form"))
        return []
