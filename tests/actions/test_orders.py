"""order_form validation and action_answer_order on a real database."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.orders import ActionAnswerOrder, ValidateOrderForm
from shopmate import payloads
from shopmate.db.session import Database
from shopmate.guest_proof import GuestProofGuard
from shopmate.identity import CustomerTokens
from shopmate.orders import OrderService
from tests.conftest import SHOPPER, FakeClock, TrackerBuilder
from tests.factories import ALICE, NOW, add_scenario

SECRET = "t" * 40
TOKENS = CustomerTokens(SECRET)


@pytest.fixture
def orders(database: Database) -> OrderService:
    add_scenario(database)
    return OrderService(database, clock=lambda: NOW)


@pytest.fixture
def form(orders: OrderService, guard: GuestProofGuard) -> ValidateOrderForm:
    return ValidateOrderForm(orders, TOKENS, guard)


def responses(dispatcher: CollectingDispatcher) -> list[str]:
    return [m["response"] for m in dispatcher.messages]


def as_customer(customer_id: int) -> dict[str, Any]:
    return {"customer_token": TOKENS.sign(customer_id, SHOPPER)}


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


DISPATCHER_KEYS = {"text", "buttons", "elements", "custom", "template", "image", "attachment"}


def essence(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each message as its response name and the values it was given."""
    return [{k: v for k, v in m.items() if k not in DISPATCHER_KEYS} for m in messages]


async def give_number(
    form: ValidateOrderForm, tracker_for: TrackerBuilder, number: str, sender: str, **extra: Any
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The shopper types an order number in conversation `sender`; the form's answer."""
    dispatcher = CollectingDispatcher()
    tracker = tracker_for(number, intent="inform", sender_id=sender, **extra)
    result = await form.validate_order_id(number, dispatcher, tracker, {})
    return result, essence(dispatcher.messages)


async def give_phone(
    form: ValidateOrderForm, tracker_for: TrackerBuilder, number: str, phone: str, sender: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The shopper types phone digits for `number` in conversation `sender`."""
    dispatcher = CollectingDispatcher()
    tracker = tracker_for(phone, intent="inform", slots={"order_id": number}, sender_id=sender)
    result = await form.validate_guest_phone(phone, dispatcher, tracker, {})
    return result, essence(dispatcher.messages)


async def five_wrong_phones(
    form: ValidateOrderForm, tracker_for: TrackerBuilder, clock: FakeClock, number: str
) -> list[dict[str, Any]]:
    """Five wrong phones in three conversations (a restart, a new sender id), paced past
    the waits; everything the form said, order number answers included."""
    said: list[dict[str, Any]] = []
    for sender, phone in zip(
        ["guest-a", "guest-a", "guest-b", "guest-c", "guest-c"],
        ["0000", "1111", "2222", "3333", "4444"],
        strict=True,
    ):
        result, messages = await give_number(form, tracker_for, number, sender)
        assert result == {"order_id": number, "guest_phone": None}
        said += messages
        result, messages = await give_phone(form, tracker_for, number, phone, sender)
        assert result["guest_phone"] is None
        assert "verified_orders" not in result
        said += messages
        clock.advance(seconds=10)
    return said


async def test_five_wrong_phones_across_conversations_lock_the_order(
    form: ValidateOrderForm, tracker_for: TrackerBuilder, clock: FakeClock
) -> None:
    said = await five_wrong_phones(form, tracker_for, clock, "A1000003")
    assert said == [
        *({"response": "utter_verification_failed", "remaining": n} for n in (4, 3, 2, 1)),
        {"response": "utter_verification_locked", "order_id": "A1000003", "minutes": 60},
    ]
    # A fourth conversation: the number is refused at once, the right phone changes nothing.
    result, messages = await give_number(form, tracker_for, "A1000003", "guest-d")
    assert result == {"order_id": None}
    assert [(m["response"], m["minutes"]) for m in messages] == [("utter_verification_locked", 60)]
    result, messages = await give_phone(form, tracker_for, "A1000003", "5678", "guest-d")
    assert result == {"guest_phone": None, "order_id": None}
    assert [m["response"] for m in messages] == ["utter_verification_locked"]
    # The lock ends after its 60 minutes; then the right phone proves the order.
    clock.advance(minutes=60)
    result, messages = await give_phone(form, tracker_for, "A1000003", "5678", "guest-e")
    assert result == {"guest_phone": "verified", "verified_orders": ["A1000003"]}


async def test_a_locked_order_stays_open_to_its_signed_in_owner(
    form: ValidateOrderForm, tracker_for: TrackerBuilder, clock: FakeClock
) -> None:
    await five_wrong_phones(form, tracker_for, clock, "A1000003")
    result, messages = await give_number(
        form, tracker_for, "A1000003", SHOPPER, metadata=as_customer(1)
    )
    assert (result, messages) == ({"order_id": "A1000003"}, [])


async def test_an_order_that_does_not_exist_gets_exactly_the_same_replies(
    form: ValidateOrderForm, tracker_for: TrackerBuilder, clock: FakeClock
) -> None:
    real = await five_wrong_phones(form, tracker_for, clock, "A1000003")
    real += (await give_number(form, tracker_for, "A1000003", "guest-d"))[1]
    clock.now = NOW
    invented = await five_wrong_phones(form, tracker_for, clock, "A9999999")
    invented += (await give_number(form, tracker_for, "A9999999", "guest-d"))[1]
    assert invented == [{**m, "order_id": "A9999999"} if "order_id" in m else m for m in real]


async def test_a_try_too_soon_is_asked_to_wait_and_counts_nothing(
    form: ValidateOrderForm, tracker_for: TrackerBuilder, clock: FakeClock
) -> None:
    for phone in ["0000", "1111", "2222"]:
        await give_phone(form, tracker_for, "A1000003", phone, "guest-a")
    # After the third failure the next try waits 2 s, whichever conversation it is in.
    result, messages = await give_phone(form, tracker_for, "A1000003", "3333", "guest-b")
    assert result == {"guest_phone": None}  # the order stays; the form asks again
    assert messages == [{"response": "utter_verification_wait", "seconds": 2}]
    clock.advance(seconds=2)
    _, messages = await give_phone(form, tracker_for, "A1000003", "3333", "guest-b")
    assert messages == [{"response": "utter_verification_failed", "remaining": 1}]


async def test_the_right_phone_clears_the_failures(
    form: ValidateOrderForm, tracker_for: TrackerBuilder, clock: FakeClock
) -> None:
    for phone in ["0000", "1111", "2222"]:
        await give_phone(form, tracker_for, "A1000003", phone, "guest-a")
    clock.advance(seconds=2)
    result, _ = await give_phone(form, tracker_for, "A1000003", "5678", "guest-a")
    assert result["guest_phone"] == "verified"
    _, messages = await give_phone(form, tracker_for, "A1000003", "0000", "guest-b")
    assert messages == [{"response": "utter_verification_failed", "remaining": 4}]


async def test_guard_database_down_gets_a_polite_answer_and_logs_no_digits(
    orders: OrderService,
    tracker_for: TrackerBuilder,
    tmp_path: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken = GuestProofGuard(Database(f"sqlite:///{tmp_path}/missing-tables.db"))
    form = ValidateOrderForm(orders, TOKENS, broken)
    caplog.set_level(logging.DEBUG)
    result, messages = await give_number(form, tracker_for, "A1000003", "guest-a")
    assert result == {"order_id": None}
    assert [m["response"] for m in messages] == ["utter_order_service_unavailable"]
    result, messages = await give_phone(form, tracker_for, "A1000003", "13812345678", "guest-a")
    assert result == {"guest_phone": None}
    assert [m["response"] for m in messages] == ["utter_order_service_unavailable"]
    assert caplog.records
    assert not any(digits in caplog.text for digits in ("5678", "1381"))
    # The signed-in shopper does not need the guard at all.
    result, messages = await give_number(
        form, tracker_for, "A1000001", SHOPPER, metadata=as_customer(1)
    )
    assert (result, messages) == ({"order_id": "A1000001"}, [])


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
        {"customer_token": CustomerTokens("f" * 40).sign(1, SHOPPER)},  # signed with another secret
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
    # Beside the line, the order card every rich channel draws: the whole journey,
    # oldest step first, ending at the step the line names, in the shopper's language.
    card = payloads.extract(message["custom"])
    assert card is not None
    assert card["type"] == "order_card"
    order = card["order"]
    assert order["number"] == "A1000002"
    assert order["tracking_number"] == "SF1000002001"
    assert order["carrier"] == "SF Express"
    assert order["timeline"][-1]["description"] == "Arrived at the sorting centre"
    assert len(order["timeline"]) >= 1
    assert all(step["time"] for step in order["timeline"])
    assert "Arrived at the sorting centre" in payloads.as_text(card)


async def test_the_terminal_gets_the_tracking_line_without_a_card(
    orders: OrderService, tracker_for: TrackerBuilder, dispatcher: CollectingDispatcher
) -> None:
    """`rasa shell` prints a custom payload as raw JSON: it gets the text alone."""
    action = ActionAnswerOrder(orders, TOKENS)
    events = [
        {
            "event": "user",
            "input_channel": "cmdline",
            "parse_data": {"intent": {"name": "track_shipment"}},
        }
    ]
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
    assert not message.get("custom")


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
