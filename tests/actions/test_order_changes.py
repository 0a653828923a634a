"""change_form validation and the change actions on a real database (SQLite, PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select

from actions.order_changes import (
    ActionAskChangeConfirmed,
    ActionAskNewVariant,
    ActionAskOrderItem,
    ActionStartOrderChange,
    ActionSubmitOrderChange,
    ValidateChangeForm,
)
from shopmate.db import models as m
from shopmate.db.session import Database
from shopmate.guest_proof import GuestProofGuard, GuestProofPolicy
from shopmate.identity import CustomerTokens
from shopmate.orders import OrderService
from shopmate.search.query import QueryParser
from tests.conftest import SHOPPER, TrackerBuilder
from tests.factories import ALICE, NOW, add_scenario

TOKENS = CustomerTokens("c" * 40)
ALICE_TOKEN = {"customer_token": TOKENS.sign(1, SHOPPER)}
BOB_TOKEN = {"customer_token": TOKENS.sign(2, SHOPPER)}
# The real parser (its spaCy pipelines build on first use, once for the module).
PARSER = QueryParser.from_catalog_vocabulary()


@pytest.fixture
def orders(database: Database) -> OrderService:
    add_scenario(database)
    return OrderService(database, clock=lambda: NOW)


def said(dispatcher: CollectingDispatcher) -> list[str]:
    return [message["response"] for message in dispatcher.messages]


def rows(database: Database, model: type[m.Base]) -> int:
    with database.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


class Conversation:
    """Slots as the form would hold them, and the actions run on them in order."""

    def __init__(
        self,
        orders: OrderService,
        tracker_for: TrackerBuilder,
        metadata: dict[str, Any] | None,
        guard: GuestProofGuard | None = None,
        sender: str = SHOPPER,
    ) -> None:
        self.orders = orders
        self.tracker_for = tracker_for
        self.metadata = metadata or {}
        self.slots: dict[str, Any] = {}
        self.language = "zh"
        self.sender = sender
        self.form = ValidateChangeForm(orders, TOKENS, guard, parser=PARSER)

    def tracker(self, text: str = "", intent: str = "inform", **extra: Any) -> Any:
        return self.tracker_for(
            text,
            intent=intent,
            language=self.language,
            slots=dict(self.slots),
            metadata=self.metadata,
            events=[{"event": "user", "timestamp": 1.0}],
            sender_id=self.sender,
            **extra,
        )

    async def start(self, intent: str) -> None:
        events = await ActionStartOrderChange().run(
            CollectingDispatcher(), self.tracker(intent=intent), {}
        )
        self.slots.update({e["name"]: e["value"] for e in events})

    async def give(self, slot: str, value: Any, **extra: Any) -> CollectingDispatcher:
        dispatcher = CollectingDispatcher()
        validate = getattr(self.form, f"validate_{slot}")
        tracker = self.tracker(str(value), **extra)
        self.slots.update(await validate(value, dispatcher, tracker, {}))
        return dispatcher

    async def required(self) -> list[str]:
        return await self.form.required_slots([], CollectingDispatcher(), self.tracker(), {})

    async def ask(self, action: Any) -> CollectingDispatcher:
        dispatcher = CollectingDispatcher()
        events = await action(self.orders, TOKENS).run(dispatcher, self.tracker(), {})
        self.slots.update({e["name"]: e["value"] for e in events})
        return dispatcher

    async def submit(self) -> CollectingDispatcher:
        dispatcher = CollectingDispatcher()
        tracker = self.tracker(intent="affirm")
        events = await ActionSubmitOrderChange(self.orders, TOKENS).run(dispatcher, tracker, {})
        self.slots.update({e["name"]: e["value"] for e in events})
        return dispatcher


@pytest.fixture
def alice(orders: OrderService, tracker_for: TrackerBuilder) -> Conversation:
    return Conversation(orders, tracker_for, ALICE_TOKEN)


async def test_cancel_is_confirmed_with_the_refund_then_done_once(
    alice: Conversation, orders: OrderService, database: Database
) -> None:
    await alice.start("cancel_order")
    await alice.give("order_id", "a1000001")
    assert await alice.required() == ["order_id", "change_confirmed"]
    asked = await alice.ask(ActionAskChangeConfirmed)
    assert asked.messages[0]["response"] == "utter_confirm_cancel"
    assert (asked.messages[0]["amount"], asked.messages[0]["method"]) == ("¥350.00", "支付宝")
    assert orders.order_summary(ALICE, "A1000001").status == m.OrderStatus.PAID  # not yet
    await alice.give("change_confirmed", True, intent="affirm")
    slots_before = dict(alice.slots)
    assert slots_before["order_change"] == "cancel"
    done = await alice.submit()
    assert said(done) == ["utter_cancel_done"]
    assert orders.order_summary(ALICE, "A1000001").status == m.OrderStatus.CANCELLED
    # The same confirmation delivered again changes nothing and says so.
    alice.slots = dict(slots_before)
    again = await alice.submit()
    assert said(again) == ["utter_change_repeated"]
    assert rows(database, m.Refund) == 1
    assert rows(database, m.AuditLog) == 1


async def test_saying_no_at_the_confirmation_changes_nothing(
    alice: Conversation, orders: OrderService
) -> None:
    await alice.start("cancel_order")
    await alice.give("order_id", "A1000001")
    await alice.give("change_confirmed", False, intent="deny")
    assert said(await alice.submit()) == ["utter_change_kept"]
    assert orders.order_summary(ALICE, "A1000001").status == m.OrderStatus.PAID


async def test_a_shipped_order_is_refused_at_once_with_the_next_best_step(
    alice: Conversation,
) -> None:
    await alice.start("cancel_order")
    told = await alice.give("order_id", "A1000002")
    assert said(told) == ["utter_refusal_already_shipped", "utter_next_return_after_delivery"]
    assert told.messages[0]["order_number"] == "A1000002"
    assert await alice.required() == ["order_id"]  # the form ends without a confirmation
    assert said(await alice.submit()) == []


async def test_a_correction_starts_the_change_over_for_the_new_order(
    alice: Conversation, orders: OrderService
) -> None:
    await alice.start("cancel_order")
    await alice.give("order_id", "A1000006")
    # "不对，是 A1000001" at the confirmation: the number is taken, the "no" is not.
    entities = [{"entity": "order_id", "value": "A1000001"}]
    await alice.give("order_id", "不对，是 A1000001", entities=entities)
    await alice.give("change_confirmed", False, intent="deny", entities=entities)
    assert alice.slots["order_id"] == "A1000001"
    assert alice.slots["change_confirmed"] is None
    asked = await alice.ask(ActionAskChangeConfirmed)
    assert asked.messages[0]["order_number"] == "A1000001"
    assert asked.messages[0]["amount"] == "¥350.00"


async def test_address_change_reads_the_address_back_and_keeps_the_recipient(
    alice: Conversation, orders: OrderService, database: Database
) -> None:
    await alice.start("change_address")
    await alice.give("order_id", "A1000001")
    assert await alice.required() == ["order_id", "new_address", "change_confirmed"]
    told = await alice.give("new_address", "改到杭州")
    assert said(told) == ["utter_invalid_address"]
    assert alice.slots["new_address"] is None
    await alice.give("new_address", "浙江省杭州市西湖区文三路 1 号 310000")
    asked = await alice.ask(ActionAskChangeConfirmed)
    assert asked.messages[0]["address"] == "浙江省杭州市西湖区文三路1号（310000）"
    await alice.give("change_confirmed", True, intent="affirm")
    assert said(await alice.submit()) == ["utter_address_done"]
    with database.session() as s:
        order = s.scalar(select(m.Order).where(m.Order.order_number == "A1000001"))
        assert order is not None
        assert (order.city, order.line1, order.recipient) == ("杭州市", "西湖区文三路1号", "张三")


async def test_return_lists_items_takes_the_choice_and_refunds_its_share(
    alice: Conversation, database: Database
) -> None:
    alice.language = "en"
    await alice.start("request_return")
    await alice.give("order_id", "A1000003")
    assert await alice.required() == ["order_id", "order_item", "return_reason", "change_confirmed"]
    asked = await alice.ask(ActionAskOrderItem)
    assert said(asked) == ["utter_ask_return_item"]
    assert [b["title"] for b in asked.messages[0]["buttons"]] == [
        "Silk dress (red M)",
        "Tote bag (black)",
    ]
    assert said(await alice.give("order_item", "the third one")) == ["utter_item_not_understood"]
    await alice.give("order_item", "the bag")
    await alice.give("return_reason", "changed my mind")
    confirm = (await alice.ask(ActionAskChangeConfirmed)).messages[0]
    assert (confirm["item"], confirm["quantity"], confirm["amount"]) == ("Tote bag", 1, "¥262.50")
    await alice.give("change_confirmed", True, intent="affirm")
    done = (await alice.submit()).messages[0]
    assert (done["response"], done["amount"], done["method"]) == (
        "utter_return_done",
        "¥262.50",
        "Alipay",
    )
    assert (rows(database, m.ReturnRequest), rows(database, m.Refund)) == (1, 1)


async def test_a_returned_item_cannot_be_returned_again(alice: Conversation) -> None:
    for _attempt in range(2):
        await alice.start("request_return")
        await alice.give("order_id", "A1000003")
        await alice.give("order_item", "第一件")
        await alice.give("return_reason", "尺码偏小")
        await alice.give("change_confirmed", True, intent="affirm")
        await alice.submit()
    await alice.start("request_return")
    await alice.give("order_id", "A1000003")
    await alice.give("order_item", "第一件")
    # Only the bag is left: "the first one" is now the bag; after it, nothing is left.
    await alice.give("return_reason", "-")
    await alice.give("change_confirmed", True, intent="affirm")
    await alice.submit()
    await alice.start("request_return")
    told = await alice.give("order_id", "A1000003")
    assert said(told) == ["utter_refusal_already_returned", "utter_next_check_refund_status"]


async def test_exchange_offers_only_variants_in_stock_and_reserves_one(
    alice: Conversation, database: Database
) -> None:
    await alice.start("request_exchange")
    await alice.give("order_id", "A1000003")
    await alice.give("order_item", "连衣裙")
    asked = await alice.ask(ActionAskNewVariant)
    assert [b["title"] for b in asked.messages[0]["buttons"]] == ["红色 L"]
    assert said(await alice.give("new_variant", "蓝色")) == ["utter_variant_not_available"]
    await alice.give("new_variant", "L 码")
    confirm = (await alice.ask(ActionAskChangeConfirmed)).messages[0]
    assert (confirm["old_variant"], confirm["new_variant"]) == ("红色 M", "红色 L")
    await alice.give("change_confirmed", True, intent="affirm")
    assert said(await alice.submit()) == ["utter_exchange_done"]
    with database.session() as s:
        assert s.get(m.Variant, 3).stock == 2  # type: ignore[union-attr]


async def test_an_item_with_nothing_to_exchange_into_is_refused(alice: Conversation) -> None:
    await alice.start("request_exchange")
    await alice.give("order_id", "A1000003")
    told = await alice.give("order_item", "托特包")
    assert said(told) == ["utter_refusal_no_other_variant", "utter_next_request_return"]
    assert alice.slots["change_refused"] is True


@pytest.mark.parametrize(
    ("number", "kind", "expected"),
    [
        ("A1000001", "cancel", ["change_confirmed"]),
        ("A1000003", "return", ["order_item", "return_reason", "change_confirmed"]),
    ],
)
async def test_a_refund_request_becomes_a_cancel_or_a_return(
    alice: Conversation, number: str, kind: str, expected: list[str]
) -> None:
    await alice.start("request_refund")
    await alice.give("order_id", number)
    assert alice.slots["order_change"] == kind
    assert await alice.required() == ["order_id", *expected]


async def test_a_guest_proves_the_order_before_any_change_is_planned(
    orders: OrderService, tracker_for: TrackerBuilder
) -> None:
    guest = Conversation(orders, tracker_for, None)
    await guest.start("cancel_order")
    await guest.give("order_id", "A1000001")
    assert await guest.required() == ["order_id", "guest_phone"]
    assert "order_change" in guest.slots
    assert guest.slots.get("change_refused") is None
    await guest.give("guest_phone", "5678")
    assert await guest.required() == ["order_id", "change_confirmed"]
    asked = await guest.ask(ActionAskChangeConfirmed)
    assert asked.messages[0]["amount"] == "¥350.00"


async def test_wrong_phones_in_order_questions_and_changes_lock_the_order_for_every_guest(
    orders: OrderService, tracker_for: TrackerBuilder, database: Database
) -> None:
    now = [NOW]
    guard = GuestProofGuard(database, GuestProofPolicy(), clock=lambda: now[0])
    told: list[str] = []
    # Five guesses in three conversations (each a fresh start: restart, new sender id).
    for sender, phones in [("g1", ["0000", "1111"]), ("g2", ["2222"]), ("g3", ["3333", "4444"])]:
        guest = Conversation(orders, tracker_for, None, guard, sender)
        await guest.start("cancel_order")
        await guest.give("order_id", "A1000001")
        for phone in phones:
            told += said(await guest.give("guest_phone", phone))
            now[0] += timedelta(seconds=10)
    assert told == ["utter_verification_failed"] * 4 + ["utter_verification_locked"]
    assert guest.slots["order_id"] is None
    # A new conversation is refused at the order number; nothing is planned.
    guest = Conversation(orders, tracker_for, None, guard, "g4")
    await guest.start("cancel_order")
    assert said(await guest.give("order_id", "A1000001")) == ["utter_verification_locked"]
    assert guest.slots["order_id"] is None
    assert await guest.required() == ["order_id", "guest_phone"]
    # The owner, signed in, is not held up by it.
    alice = Conversation(orders, tracker_for, ALICE_TOKEN, guard)
    await alice.start("cancel_order")
    await alice.give("order_id", "A1000001")
    assert await alice.required() == ["order_id", "change_confirmed"]


async def test_another_customers_order_cannot_be_changed(
    orders: OrderService, tracker_for: TrackerBuilder
) -> None:
    bob = Conversation(orders, tracker_for, BOB_TOKEN)
    await bob.start("cancel_order")
    told = await bob.give("order_id", "A1000001")
    assert said(told) == ["utter_order_not_found"]
    assert bob.slots["order_id"] is None
    # Even with the slots forced, the submit refuses and nothing changes.
    bob.slots.update(order_id="A1000001", change_confirmed=True, order_change="cancel")
    assert said(await bob.submit()) == ["utter_order_service_unavailable"]
    assert orders.order_summary(ALICE, "A1000001").status == m.OrderStatus.PAID


async def test_database_down_during_a_change_gets_a_polite_answer(
    tracker_for: TrackerBuilder, tmp_path: Any
) -> None:
    broken = OrderService(Database(f"sqlite:///{tmp_path}/missing-tables.db"))
    conversation = Conversation(broken, tracker_for, ALICE_TOKEN)
    await conversation.start("cancel_order")
    told = await conversation.give("order_id", "A1000001")
    assert said(told) == ["utter_order_service_unavailable"]
