"""After-sales changes: cancel, change address, return, exchange and refund requests.

`action_start_order_change` notes which change was asked for and clears what an
earlier change left; `change_form` proves the order (shared with `order_form`),
plans the change against the store's rules the moment the order is proven (a refusal
is explained at once, with the next best step), collects what the change needs, and
asks the shopper to confirm with the exact amounts; `action_submit_order_change`
then makes the change in one transaction. The rules run again inside the change, so
an order that moved on between the plan and the "yes" is still refused.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions.support.conversation import shopper_language
from actions.support.formatting import method_name, money, variant_label
from actions.support.identity import requester_for
from actions.support.order_proof import OrderActionMixin, OrderProofValidation
from actions.support.services import Lazy, lazy
from shopmate.address import ParsedAddress, parse_address
from shopmate.choices import Option, option_reference, pick
from shopmate.guest_proof import GuestProofGuard
from shopmate.identity import CustomerTokens, normalize_order_number
from shopmate.orders import (
    ChangeKind,
    ChangePlan,
    ChangeResult,
    NextStep,
    OrderNotAccessible,
    OrderService,
    Reason,
    Requester,
    ReturnableItem,
    RuleRefusal,
    VariantOption,
)
from shopmate.search.query import QueryParser

logger = logging.getLogger(__name__)

CHANGE_INTENTS = {
    "cancel_order": ChangeKind.CANCEL,
    "change_address": ChangeKind.ADDRESS,
    "request_return": ChangeKind.RETURN,
    "request_exchange": ChangeKind.EXCHANGE,
    "request_refund": ChangeKind.REFUND,
}
# What each change needs after the order is proven, in the order it is asked.
CHANGE_SLOTS = {
    ChangeKind.CANCEL: ["change_confirmed"],
    ChangeKind.ADDRESS: ["new_address", "change_confirmed"],
    ChangeKind.RETURN: ["order_item", "return_reason", "change_confirmed"],
    ChangeKind.EXCHANGE: ["order_item", "new_variant", "change_confirmed"],
    ChangeKind.REFUND: [],  # resolved into a cancel or a return once the order is known
}
# Slots one change leaves behind that must not leak into the next.
CHANGE_STATE = (
    "order_item",
    "new_variant",
    "new_address",
    "return_reason",
    "change_confirmed",
    "change_refused",
)
RETURN_REASON_LENGTH = 200


def change_kind(tracker: Tracker) -> ChangeKind:
    value = tracker.get_slot("order_change")
    return ChangeKind(value) if value in ChangeKind.__members__.values() else ChangeKind.CANCEL


def item_label(returnable: ReturnableItem, language: str) -> str:
    item = returnable.item
    title, variant = (item.title_zh, "（{}）") if language == "zh" else (item.title_en, " ({})")
    return title + variant.format(variant_label(item.color, item.size, language))


def item_options(plan: ChangePlan) -> list[Option]:
    return [
        Option(
            r.item.id,
            (r.item.title_zh, r.item.title_en, *r.item.title_en.split()),
            r.item.color,
            r.item.size,
        )
        for r in plan.items
    ]


def variant_options(variants: list[VariantOption]) -> list[Option]:
    return [Option(v.id, (), v.color, v.size) for v in variants]


def chosen_id(tracker: Tracker, slot: str) -> int | None:
    value = str(tracker.get_slot(slot) or "")
    _, _, number = value.partition("-")
    return int(number) if number.isdigit() else None


def utter_refusal(dispatcher: CollectingDispatcher, refusal: RuleRefusal, number: str) -> None:
    dispatcher.utter_message(response=f"utter_refusal_{refusal.reason.value}", order_number=number)
    dispatcher.utter_message(response=f"utter_next_{refusal.next_step.value}", order_number=number)


class ChangeActionMixin(OrderActionMixin):
    """Plans and choices every change action reads from the order service."""

    async def plan(self, tracker: Tracker) -> tuple[Requester, ChangePlan]:
        number = str(tracker.get_slot("order_id"))
        requester = requester_for(tracker, self.tokens, number)
        plan = await asyncio.to_thread(
            self.orders.plan_change, requester, number, change_kind(tracker)
        )
        return requester, plan

    async def variants(
        self, requester: Requester, number: str, item_id: int
    ) -> list[VariantOption]:
        return await asyncio.to_thread(self.orders.exchange_variants, requester, number, item_id)

    async def method_name(self, requester: Requester, number: str, language: str) -> str:
        """How the shopper paid, as they call it (the refund goes back the same way)."""
        method: str | None = await asyncio.to_thread(self.orders.payment_method, requester, number)
        return method_name(method, language)

    @staticmethod
    def chosen_item(plan: ChangePlan, tracker: Tracker) -> ReturnableItem | None:
        item_id = chosen_id(tracker, "order_item")
        return next((r for r in plan.items if r.item.id == item_id), None)


class ValidateChangeForm(ChangeActionMixin, OrderProofValidation):
    """The change form. Which item or variant the shopper means is read with the query
    parser the search uses, so "红色 L 码" means the same colour and size everywhere."""

    def __init__(
        self,
        orders: OrderService | Lazy[OrderService],
        tokens: CustomerTokens | None,
        guard: GuestProofGuard | Lazy[GuestProofGuard] | None = None,
        *,
        parser: QueryParser | Lazy[QueryParser],
    ) -> None:
        super().__init__(orders, tokens, guard)
        self._parser = lazy(parser)

    async def choose(self, value: Any, options: list[Option], kind: str) -> Option | None:
        text = str(value or "")
        parser = await self._parser.ready()
        colors, sizes = await asyncio.to_thread(parser.variant_choice, text)
        return pick(text, options, kind, colors=colors, sizes=sizes)

    def name(self) -> str:
        return "validate_change_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        identity = self.identity_slots(tracker)
        if tracker.get_slot("change_refused") or any(
            tracker.get_slot(slot) is None for slot in identity
        ):
            return identity
        return identity + CHANGE_SLOTS[change_kind(tracker)]

    async def on_proven(
        self, requester: Requester, number: str, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        # A new or corrected order number starts the change over.
        slots: dict[str, Any] = dict.fromkeys(CHANGE_STATE)
        try:
            plan = await asyncio.to_thread(
                self.orders.plan_change, requester, number, change_kind(tracker)
            )
        except RuleRefusal as refusal:
            utter_refusal(dispatcher, refusal, number)
            return {**slots, "change_refused": True}
        slots.update(order_change=plan.kind.value, change_refused=False)
        if len(plan.items) == 1:
            # One item only: nothing to ask.
            only = plan.items[0]
            slots.update(await self._item_slots(only, plan, requester, number, dispatcher))
        return slots

    async def validate_order_item(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        try:
            requester, plan = await self.plan(tracker)
        except RuleRefusal as refusal:
            utter_refusal(dispatcher, refusal, str(tracker.get_slot("order_id")))
            return {"order_item": None, "change_refused": True}
        chosen = await self.choose(value, item_options(plan), "item")
        returnable = next((r for r in plan.items if chosen and r.item.id == chosen.id), None)
        if returnable is None:
            dispatcher.utter_message(response="utter_item_not_understood")
            return {"order_item": None}
        return await self._item_slots(returnable, plan, requester, plan.order_number, dispatcher)

    async def _item_slots(
        self,
        returnable: ReturnableItem,
        plan: ChangePlan,
        requester: Requester,
        number: str,
        dispatcher: CollectingDispatcher,
    ) -> dict[str, Any]:
        slots: dict[str, Any] = {"order_item": option_reference("item", returnable.item.id)}
        if plan.kind == ChangeKind.EXCHANGE and not await self.variants(
            requester, number, returnable.item.id
        ):
            utter_refusal(
                dispatcher, RuleRefusal(Reason.NO_OTHER_VARIANT, NextStep.REQUEST_RETURN), number
            )
            slots["change_refused"] = True
        return slots

    async def validate_new_variant(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        number = str(tracker.get_slot("order_id"))
        item_id = chosen_id(tracker, "order_item")
        if item_id is None:
            return {"new_variant": None}
        requester = requester_for(tracker, self.tokens, number)
        variants = await self.variants(requester, number, item_id)
        chosen = await self.choose(value, variant_options(variants), "variant")
        if chosen is None:
            dispatcher.utter_message(response="utter_variant_not_available")
            return {"new_variant": None}
        return {"new_variant": option_reference("variant", chosen.id)}

    async def validate_new_address(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if parse_address(str(value or "")) is None:
            dispatcher.utter_message(response="utter_invalid_address")
            return {"new_address": None}
        return {"new_address": " ".join(str(value).split())}

    async def validate_return_reason(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        reason = " ".join(str(value or "").split())[:RETURN_REASON_LENGTH]
        return {"return_reason": reason or "-"}

    async def validate_change_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        # "不对，是 A1234568" may read as a "no": a new order number is a correction,
        # which validate_order_id has already taken.
        entities = tracker.latest_message.get("entities") or []
        if any(e.get("entity") == "order_id" for e in entities):
            return {"change_confirmed": None}
        return {"change_confirmed": value if isinstance(value, bool) else None}


class ActionStartOrderChange(Action):
    """Which change the shopper asked for; a fresh start for its details."""

    def name(self) -> str:
        return "action_start_order_change"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        kind = CHANGE_INTENTS.get(str(intent), change_kind(tracker))
        events: list[EventType] = [
            SlotSet("order_change", kind.value),
            *(SlotSet(s, None) for s in CHANGE_STATE),
        ]
        # "cancel order A1000001": the change form starts with that number (the slot's
        # own mapping only fills it once the change form is active).
        for entity in tracker.latest_message.get("entities") or []:
            number = normalize_order_number(str(entity.get("value") or ""))
            if entity.get("entity") == "order_id" and number:
                events.append(SlotSet("order_id", number))
                break
        return events


class ActionAskOrderItem(ChangeActionMixin, Action):
    """Lists the order's items that can still be returned or exchanged, as buttons."""

    def name(self) -> str:
        return "action_ask_order_item"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        language = shopper_language(tracker)
        try:
            _, plan = await self.plan(tracker)
        except (RuleRefusal, OrderNotAccessible, SQLAlchemyError):
            dispatcher.utter_message(response="utter_order_service_unavailable")
            return []
        response = (
            "utter_ask_exchange_item"
            if plan.kind == ChangeKind.EXCHANGE
            else "utter_ask_return_item"
        )
        buttons = [
            {
                "title": item_label(r, language),
                "payload": f'/inform{{"order_item": "{option_reference("item", r.item.id)}"}}',
            }
            for r in plan.items
        ]
        dispatcher.utter_message(response=response, order_number=plan.order_number, buttons=buttons)
        return []


class ActionAskNewVariant(ChangeActionMixin, Action):
    """Lists the other sizes and colours in stock, as buttons."""

    def name(self) -> str:
        return "action_ask_new_variant"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        language = shopper_language(tracker)
        number = str(tracker.get_slot("order_id"))
        item_id = chosen_id(tracker, "order_item")
        try:
            variants = (
                await self.variants(requester_for(tracker, self.tokens, number), number, item_id)
                if item_id is not None
                else []
            )
        except (OrderNotAccessible, SQLAlchemyError):
            variants = []
        buttons = [
            {
                "title": variant_label(v.color, v.size, language),
                "payload": f'/inform{{"new_variant": "{option_reference("variant", v.id)}"}}',
            }
            for v in variants
        ]
        dispatcher.utter_message(response="utter_ask_new_variant", buttons=buttons)
        return []


class ActionAskChangeConfirmed(ChangeActionMixin, Action):
    """ "确认取消订单 A1234567 吗？" — with the amounts the change would really refund."""

    def name(self) -> str:
        return "action_ask_change_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        language = shopper_language(tracker)
        number = str(tracker.get_slot("order_id"))
        try:
            requester, plan = await self.plan(tracker)
            details = await self._details(requester, plan, tracker, language)
        except RuleRefusal as refusal:
            utter_refusal(dispatcher, refusal, number)
            return [SlotSet("change_refused", True), SlotSet("requested_slot", None)]
        except (OrderNotAccessible, SQLAlchemyError) as error:
            logger.error("order change could not be planned: %s", type(error).__name__)
            dispatcher.utter_message(response="utter_order_service_unavailable")
            return [SlotSet("change_refused", True), SlotSet("requested_slot", None)]
        dispatcher.utter_message(order_number=plan.order_number, **details)
        return []

    async def _details(
        self, requester: Requester, plan: ChangePlan, tracker: Tracker, language: str
    ) -> dict[str, Any]:
        if plan.kind == ChangeKind.CANCEL:
            if not plan.refund_cents:
                return {"response": "utter_confirm_cancel_unpaid"}
            return {
                "response": "utter_confirm_cancel",
                "amount": money(plan.refund_cents),
                "method": await self.method_name(requester, plan.order_number, language),
            }
        if plan.kind == ChangeKind.ADDRESS:
            address = parse_address(str(tracker.get_slot("new_address") or ""))
            return {
                "response": "utter_confirm_address",
                "address": address.one_line() if address else "",
            }
        chosen = self.chosen_item(plan, tracker)
        if chosen is None:
            raise OrderNotAccessible
        title = chosen.item.title_zh if language == "zh" else chosen.item.title_en
        if plan.kind == ChangeKind.RETURN:
            return {
                "response": "utter_confirm_return",
                "item": title,
                "quantity": chosen.quantity,
                "amount": money(chosen.refund_cents),
            }
        variant_id = chosen_id(tracker, "new_variant")
        variants = await self.variants(requester, plan.order_number, chosen.item.id)
        new = next((v for v in variants if v.id == variant_id), None)
        if new is None:
            raise RuleRefusal(Reason.OUT_OF_STOCK, NextStep.OTHER_VARIANT)
        return {
            "response": "utter_confirm_exchange",
            "item": title,
            "old_variant": variant_label(chosen.item.color, chosen.item.size, language),
            "new_variant": variant_label(new.color, new.size, language),
        }


class ActionSubmitOrderChange(ChangeActionMixin, Action):
    """Makes the confirmed change: one transaction, idempotent, audited."""

    def name(self) -> str:
        return "action_submit_order_change"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        done: list[EventType] = [
            SlotSet("order_change", None),
            SlotSet("guest_phone", None),
            *(SlotSet(s, None) for s in CHANGE_STATE),
        ]
        number = tracker.get_slot("order_id")
        if not number:
            # The shopper said no before the order was even known.
            dispatcher.utter_message(response="utter_change_dropped")
            return done
        if tracker.get_slot("change_refused"):
            return done
        if tracker.get_slot("change_confirmed") is not True:
            dispatcher.utter_message(response="utter_change_kept", order_number=number)
            return done
        language = shopper_language(tracker)
        requester = requester_for(tracker, self.tokens, str(number))
        try:
            await self._change(dispatcher, tracker, requester, str(number), language)
        except RuleRefusal as refusal:
            utter_refusal(dispatcher, refusal, str(number))
        except (OrderNotAccessible, SQLAlchemyError) as error:
            logger.error("order change failed: %s", type(error).__name__)
            dispatcher.utter_message(response="utter_order_service_unavailable")
        return done

    async def _change(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        requester: Requester,
        number: str,
        language: str,
    ) -> None:
        # The service checks every rule again and tells a repeat from a new change, so
        # a confirmation delivered twice, or an order that moved on since the plan,
        # are both answered truthfully.
        kind = change_kind(tracker)
        if kind == ChangeKind.CANCEL:
            method = await self.method_name(requester, number, language)
            result = await asyncio.to_thread(self.orders.cancel, requester, number)
            if not self._repeated(dispatcher, result):
                dispatcher.utter_message(
                    response="utter_cancel_done"
                    if result.amount_cents
                    else "utter_cancel_done_unpaid",
                    order_number=result.order_number,
                    amount=money(result.amount_cents),
                    method=method,
                )
            return
        if kind == ChangeKind.ADDRESS:
            address = parse_address(str(tracker.get_slot("new_address") or ""))
            if address is None:
                raise OrderNotAccessible
            result = await asyncio.to_thread(self._change_address, requester, number, address)
            if not self._repeated(dispatcher, result):
                dispatcher.utter_message(
                    response="utter_address_done",
                    order_number=result.order_number,
                    address=address.one_line(),
                )
            return
        item_id = chosen_id(tracker, "order_item")
        if item_id is None:
            raise OrderNotAccessible
        try:
            _, plan = await self.plan(tracker)
            chosen = self.chosen_item(plan, tracker)
        except RuleRefusal:
            chosen = None  # perhaps this very request is already done: the key will tell
        title = ""
        if chosen is not None:
            title = chosen.item.title_zh if language == "zh" else chosen.item.title_en
        key = self._idempotency_key(tracker, number, item_id)
        if kind == ChangeKind.RETURN:
            quantity = chosen.quantity if chosen else 1
            reason = str(tracker.get_slot("return_reason") or "-")
            method = await self.method_name(requester, number, language)
            result = await asyncio.to_thread(
                self.orders.request_return, requester, number, item_id, quantity, reason, key
            )
            if not self._repeated(dispatcher, result):
                dispatcher.utter_message(
                    response="utter_return_done",
                    order_number=result.order_number,
                    item=title,
                    quantity=quantity,
                    amount=money(result.amount_cents),
                    method=method,
                )
            return
        variant_id = chosen_id(tracker, "new_variant")
        variants = await self.variants(requester, number, item_id)
        new = next((v for v in variants if v.id == variant_id), None)
        result = await asyncio.to_thread(
            self.orders.request_exchange, requester, number, item_id, variant_id or 0, key
        )
        if not self._repeated(dispatcher, result):
            dispatcher.utter_message(
                response="utter_exchange_done",
                order_number=result.order_number,
                item=title,
                new_variant=variant_label(new.color, new.size, language) if new else "",
            )

    def _change_address(
        self, requester: Requester, number: str, address: ParsedAddress
    ) -> ChangeResult:
        return self.orders.change_address(
            requester,
            number,
            region=address.region,
            city=address.city,
            line1=address.line1,
            postal_code=address.postal_code,
            recipient=address.recipient,
            phone=address.phone,
        )

    @staticmethod
    def _repeated(dispatcher: CollectingDispatcher, result: ChangeResult) -> bool:
        if result.repeated:
            dispatcher.utter_message(
                response="utter_change_repeated", order_number=result.order_number
            )
        return result.repeated

    @staticmethod
    def _idempotency_key(tracker: Tracker, number: str, item_id: int) -> str:
        """The same confirmation, delivered twice, names the same request."""
        confirmed_at = next(
            (e.get("timestamp") for e in reversed(tracker.events) if e.get("event") == "user"),
            None,
        )
        raw = f"{tracker.sender_id}|{number}|{item_id}|{confirmed_at}"
        return hashlib.sha256(raw.encode()).hexdigest()[:40]
