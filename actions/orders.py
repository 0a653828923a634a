"""Order status, shipment tracking and refund status, for the shopper who owns the order.

`order_form` collects the order number and, for a guest, the phone digits that prove
it; `action_answer_order` then answers whichever of the three questions was asked.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, ClassVar

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions.support.conversation import shopper_language
from actions.support.formatting import local_time, method_name, money
from actions.support.identity import requester_for
from actions.support.order_proof import OrderActionMixin, OrderProofValidation
from actions.support.products import TEXT_ONLY_CHANNELS
from actions.support.services import Lazy
from shopmate import payloads
from shopmate.guest_proof import GuestProofGuard
from shopmate.identity import CustomerTokens
from shopmate.orders import (
    ON_THE_WAY,
    OrderNotAccessible,
    OrderService,
    OrderSummary,
    Requester,
)

logger = logging.getLogger(__name__)

ORDER_INTENTS = ("check_order_status", "track_shipment", "check_refund_status")
# Carriers' names in English (data labels; the Chinese names are stored).
CARRIER_NAMES_EN = {"顺丰速运": "SF Express", "中通快递": "ZTO Express", "京东物流": "JD Logistics"}
DEFAULT_TIMEZONE = "Asia/Shanghai"


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
    """Answers the order question the shopper asked, once the order is proven theirs;
    dates in the store's time zone."""

    def __init__(
        self,
        orders: OrderService | Lazy[OrderService],
        tokens: CustomerTokens | None,
        guard: GuestProofGuard | Lazy[GuestProofGuard] | None = None,
        timezone: str = DEFAULT_TIMEZONE,
    ) -> None:
        super().__init__(orders, tokens, guard)
        self.timezone = timezone

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
        channel = tracker.get_latest_input_channel()
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
            self._tracking(dispatcher, summary, language, channel)
        elif intent == "check_refund_status":
            self._refunds(dispatcher, summary, refunds, language)
        else:
            dispatcher.utter_message(
                response=f"utter_order_status_{summary.status.value}",
                order_number=summary.order_number,
                placed_at=local_time(summary.placed_at, self.timezone),
                delivered_at=local_time(summary.delivered_at, self.timezone),
                items=describe_items(summary, language),
                total=money(summary.total_cents),
            )
            if summary.status in ON_THE_WAY:
                # "Where is my order?" is as often about the parcel as the order.
                self._tracking(dispatcher, summary, language, channel)
        return events

    def _tracking(
        self,
        dispatcher: CollectingDispatcher,
        summary: OrderSummary,
        language: str,
        channel: str | None = None,
    ) -> None:
        if not summary.tracking_number or not summary.tracking:
            dispatcher.utter_message(
                response="utter_tracking_not_shipped", order_number=summary.order_number
            )
            return
        latest = summary.tracking[-1]
        carrier = summary.carrier or ""
        carrier_name = CARRIER_NAMES_EN.get(carrier, carrier) if language == "en" else carrier
        extra: dict[str, Any] = {}
        if channel not in TEXT_ONLY_CHANNELS:
            extra["json_message"] = payloads.custom(
                self.order_card(summary, language, carrier_name)
            )
        dispatcher.utter_message(
            **extra,
            response="utter_tracking",
            order_number=summary.order_number,
            carrier=carrier_name,
            tracking_number=summary.tracking_number,
            event_time=local_time(latest.occurred_at, self.timezone),
            location=latest.location,
            event=latest.description_zh if language == "zh" else latest.description_en,
        )

    def order_card(self, summary: OrderSummary, language: str, carrier_name: str) -> dict[str, Any]:
        """The order with its parcel's whole journey, oldest step first: the widget
        draws it as a timeline, other channels as lines (shopmate/payloads.py)."""
        order = {
            "number": summary.order_number,
            "status": summary.status.value,
            "status_label": "",
            "placed_at": local_time(summary.placed_at, self.timezone),
            "total": money(summary.total_cents),
            "items": [
                {
                    "title": item.title_zh if language == "zh" else item.title_en,
                    "quantity": item.quantity,
                }
                for item in summary.items
            ],
            "carrier": carrier_name,
            "tracking_number": summary.tracking_number,
            "timeline": [
                {
                    "time": local_time(step.occurred_at, self.timezone),
                    "location": step.location,
                    "description": step.description_zh if language == "zh" else step.description_en,
                }
                for step in summary.tracking
            ],
        }
        return payloads.order_card(order, language)

    def _refunds(
        self,
        dispatcher: CollectingDispatcher,
        summary: OrderSummary,
        refunds: list[Any],
        language: str,
    ) -> None:
        if not refunds:
            dispatcher.utter_message(response="utter_no_refund", order_number=summary.order_number)
            return
        for refund in refunds:
            dispatcher.utter_message(
                response=f"utter_refund_{refund.status.value}",
                order_number=summary.order_number,
                amount=money(refund.amount_cents),
                method=method_name(refund.method, language),
                date=local_time(refund.completed_at or refund.created_at, self.timezone),
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
