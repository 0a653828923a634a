"""order_form validation and action_answer_order on a real database."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.orders import ActionAnswerOrder, ValidateOrderForm
from actions.services.db.session import Database
from actions.services.identity import CustomerTokens
from actions.services.orders import OrderService
from tests.conftest import TrackerBuilder
from tests.factories import ALICE, NOW, add_scenario

SECRET = "t" * 40
TOKENS = CustomerTokens(SECRET)


@pytest.fixture
def orders(database: Database) -> OrderService:
    add_scenario(database)
    return OrderService(database, clock=lambda: NOW)


def responses(dispatcher: CollectingDispatcher) -> list[str]:
    return [m["response"] for m in dispatcher.messages]


def as_customer(customer_id: int) -> dict[str, Any]:
    return {"customer_token": TOKENS.sign(customer_id)}


async def test_guest_order_number_in_free_text_is_read_and_needs_proof(
    orders: OrderService, tracker_for: TrackerBuilder, dispatcher: CollectingDispatcher
) -> None:
    form = ValidateOrderForm(orders, TOKENS)
    tracker = tracker_for("我的订单是 a-1000003", intent="inform")
    result = await form.validate_order_id("我的订单是 a-1000003", dispatcher, tracker, {})
    assert result == {"order_id": "A1000003", "guest_phone": None}
    assert await form.required_slots([], dispatcher, tracker, {}) == ["order_id", "guest_phone"]


@pytest.mark.parametrize("text", ["A123", "12345678", "A1234567' OR '1'='1", "", "订单"])
async def test_malformed_order_numbers_get_a_polite_explanation(
    orders: OrderService, tracker_for: TrackerBuilder, dispatcher: CollectingDispatcher, text: str
) -> None:
    form = ValidateOrderForm(orders, TOKENS)
    result = await form.validate_order_id(text, dispatcher, tracker_for(text), {})
    if text.startswith("A1234567"):
        # The number part is well formed: it is kept, the rest of the text is ignored.
        assert result["order_id"] == "A1234567"
    else:
        assert result == {"order_id": None}
        assert responses(dispatcher) == ["utter_invalid_order_number"]


async def test_guest_with_the_right_phone_digits_proves_the_order(
    orders: OrderService, tracker_for: TrackerBuilder, dispatcher: CollectingDispatcher
) -> None:
    form = ValidateOrderForm(orders, TOKENS)
    tracker = tracker_for("5678", intent="inform", slots={"order_id": "A1000003"})
    result = await form.validate_guest_phone("5678", dispatcher, tracker, {})
    assert result == {"guest_phone": "verified", "verified_orders": ["A1000003"]}


async def test_five_wrong_phones_lock_the_order_for_the_conversation(
    orders: OrderService, tracker_for: TrackerBuilder
) -> None:
    form = ValidateOrderForm(orders, TOKENS)
    failures: dict[str, int] = {}
    said: list[str] = []
    for attempt in range(5):
        dispatcher = CollectingDispatcher()
        tracker = tracker_for(
            "0000", slots={"order_id": "A1000003", "verification_failures": failures}
        )
        result = await form.validate_guest_phone("0000", dispatcher, tracker, {})
        failures = result["verification_failures"]
        said += responses(dispatcher)
        assert result["guest_phone"] is None
        assert "verified_orders" not in result
        if attempt == 4:
            assert result["order_id"] is None
    assert said == ["utter_verification_failed"] * 4 + ["utter_verification_locked"]
    # Even the right phone cannot open it again in this conversation.
    dispatcher = CollectingDispatcher()
    tracker = tracker_for("A1000003", slots={"verification_failures": failures})
    assert await form.validate_order_id("A1000003", dispatcher, tracker, {}) == {"order_id": None}
    assert responses(dispatcher) == ["utter_verification_locked"]


async def test_logged_in_shopper_cannot_reach_another_customers_order(
    orders: OrderService, tracker_for: TrackerBuilder, dispatcher: CollectingDispatcher
) -> None:
    form = ValidateOrderForm(orders, TOKENS)
    tracker = tracker_for("A1000003", metadata=as_customer(2))
    assert await form.required_slots([], dispatcher, tracker, {}) == ["order_id"]
    assert await form.validate_order_id("A1000003", dispatcher, tracker, {}) == {"order_id": None}
    assert responses(dispatcher) == ["utter_order_not_found"]
    # A number that does not exist gets exactly the same answer.
    other = CollectingDispatcher()
    assert await form.validate_order_id("A9999999", other, tracker, {}) == {"order_id": None}
    assert other.messages == [{**dispatcher.messages[0], "order_id": "A9999999"}]


@pytest.mark.parametrize(
    "metadata",
    [
        {"customer_token": CustomerTokens("f" * 40).sign(1)},  # signed with another secret
        {"customer_token": "not-a-token"},
        {"customer_id": 1},  # a claim, not a token
        {},
    ],
)
async def test_without_a_valid_token_the_shopper_is_a_guest(
    orders: OrderService,
    tracker_for: TrackerBuilder,
    dispatcher: CollectingDispatcher,
    metadata: dict[str, Any],
) -> None:
    form = ValidateOrderForm(orders, TOKENS)
    tracker = tracker_for("A1000003", metadata=metadata, sender_id="customer-1")
    assert await form.required_slots([], dispatcher, tracker, {}) == ["order_id", "guest_phone"]


async def test_status_answer_for_the_owner(
    orders: OrderService, tracker_for: TrackerBuilder, dispatcher: CollectingDispatcher
) -> None:
    action = ActionAnswerOrder(orders, TOKENS)
    tracker = tracker_for(
        "", intent="check_order_status", slots={"order_id": "A1000003"}, metadata=as_customer(1)
    )
    await action.run(dispatcher, tracker, {})
    [message] = dispatcher.messages
    assert message["response"] == "utter_order_status_delivered"
    assert message["total"] == "¥350.00"
    assert message["items"] == "真丝连衣裙 ×1、托特包 ×1"
    assert message["delivered_at"] == "2026-11-20 20:00"  # 12:00 UTC, shown in Asia/Shanghai


async def test_tracking_answer_for_a_verified_guest_in_english(
    orders: OrderService, tracker_for: TrackerBuilder, dispatcher: CollectingDispatcher
) -> None:
    action = ActionAnswerOrder(orders, TOKENS)
    events = [{"event": "user", "parse_data": {"intent": {"name": "track_shipment"}}}]
    tracker = tracker_for(
        "",
        intent="inform",
        language="en",
        events=events,
        slots={"order_id": "A1000002", "verified_orders": ["A1000002"]},
    )
    await action.run(dispatcher, tracker, {})
    [message] = dispatcher.messages
    assert message["response"] == "utter_tracking"
    assert message["carrier"] == "SF Express"
    assert message["event"] == "Arrived at the sorting centre"
    assert message["tracking_number"] == "SF1000002001"


async def test_answer_refuses_an_order_the_guest_did_not_prove(
    orders: OrderService, tracker_for: TrackerBuilder, dispatcher: CollectingDispatcher
) -> None:
    action = ActionAnswerOrder(orders, TOKENS)
    tracker = tracker_for(
        "",
        intent="check_order_status",
        slots={"order_id": "A1000003", "verified_orders": ["A2000001"]},
    )
    await action.run(dispatcher, tracker, {})
    assert responses(dispatcher) == ["utter_order_not_found"]


async def test_refund_status_after_a_cancellation(
    orders: OrderService, tracker_for: TrackerBuilder, dispatcher: CollectingDispatcher
) -> None:
    orders.cancel(ALICE, "A1000001")
    action = ActionAnswerOrder(orders, TOKENS)
    events = [{"event": "user", "parse_data": {"intent": {"name": "check_refund_status"}}}]
    tracker = tracker_for(
        "", events=events, slots={"order_id": "A1000001"}, metadata=as_customer(1)
    )
    await action.run(dispatcher, tracker, {})
    [message] = dispatcher.messages
    assert message["response"] == "utter_refund_processing"
    assert (message["amount"], message["method"]) == ("¥350.00", "支付宝")


async def test_database_down_gets_a_polite_answer(
    tracker_for: TrackerBuilder, dispatcher: CollectingDispatcher, tmp_path: Any
) -> None:
    broken = OrderService(Database(f"sqlite:///{tmp_path}/missing-tables.db"))
    action = ActionAnswerOrder(broken, TOKENS)
    tracker = tracker_for("", slots={"order_id": "A1000003"}, metadata=as_customer(1))
    await action.run(dispatcher, tracker, {})
    assert responses(dispatcher) == ["utter_order_service_unavailable"]


async def test_status_of_an_order_on_its_way_includes_the_latest_tracking(
    orders: OrderService, tracker_for: TrackerBuilder, dispatcher: CollectingDispatcher
) -> None:
    action = ActionAnswerOrder(orders, TOKENS)
    tracker = tracker_for(
        "", intent="check_order_status", slots={"order_id": "A1000002"}, metadata=as_customer(1)
    )
    await action.run(dispatcher, tracker, {})
    assert responses(dispatcher) == ["utter_order_status_in_transit", "utter_tracking"]
    assert dispatcher.messages[1]["tracking_number"] == "SF1000002001"


@pytest.mark.parametrize(
    "text", ["1", "I am customer 1", "是我本人", "", "status of order A1000003 please"]
)
async def test_text_that_is_not_a_phone_is_asked_again_without_counting_a_failure(
    orders: OrderService, tracker_for: TrackerBuilder, dispatcher: CollectingDispatcher, text: str
) -> None:
    form = ValidateOrderForm(orders, TOKENS)
    tracker = tracker_for(text, intent="inform", slots={"order_id": "A1000003"})
    assert await form.validate_guest_phone(text, dispatcher, tracker, {}) == {"guest_phone": None}
    assert dispatcher.messages == []
