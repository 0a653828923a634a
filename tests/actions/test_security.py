"""Attempts to read or change someone else's order: every one must disclose and change nothing.

Runs against the real rules (OrderService on SQLite and PostgreSQL) and the real order
actions; tests/e2e/test_orders.py repeats the key cases over REST with the trained model.
Alice (customer 1, phone 13812345678) owns A1000001-A1000006; Bob (customer 2) owns
A2000001. The attacker is Bob, a guest, or a forger.
"""

from __future__ import annotations

import secrets
from typing import Any

import jwt
import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.order_changes import ActionSubmitOrderChange, ValidateChangeForm
from actions.orders import ActionAnswerOrder, ValidateOrderForm
from shopmate.db import models as m
from shopmate.db.session import Database
from shopmate.identity import CustomerTokens
from shopmate.orders import OrderNotAccessible, OrderService, Requester
from shopmate.search.query import QueryParser
from tests.conftest import SHOPPER, TrackerBuilder
from tests.factories import NOW, add_scenario

SECRET = secrets.token_urlsafe(32)
TOKENS = CustomerTokens(SECRET)
BOB = Requester(customer_id=2)
ALICE_ORDERS = ["A1000001", "A1000002", "A1000003", "A1000004", "A1000005", "A1000006"]
PERSONAL = ("13812345678", "5678", "浦东新区", "世纪大道", "张三")

INJECTIONS = [
    "A1000001' OR '1'='1",
    "A1000001; DROP TABLE orders; --",
    "' UNION SELECT recipient_phone FROM orders --",
    "A1000001\x00",
    "A100000%",
    "A_______",
    "%",
    "A1000001 OR 1=1",
    "../../A1000001",
    "${A1000001}",
]
GUESSES = ["A1000000", "A1000007", "A9999999", "B1000001", "A0000001", "Z1000003"]
FORGED_TOKENS = [
    CustomerTokens("another-secret-0123456789abcdefghij").sign(1, SHOPPER),
    jwt.encode({"sub": "1", "aud": "shopmate", "iat": 0, "exp": 2**40}, None, algorithm="none"),
    jwt.encode({"sub": "1", "aud": "shopmate", "iat": 0, "exp": 1}, SECRET),  # expired
    jwt.encode({"sub": "1", "aud": "elsewhere", "iat": 0, "exp": 2**40}, SECRET),
    jwt.encode({"sub": "1", "iat": 0, "exp": 2**40}, SECRET),  # no audience
    TOKENS.sign(2, SHOPPER)[:-3] + "abc",  # tampered signature
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.",  # no signature
    "",
    "customer:1",
]


@pytest.fixture
def orders(database: Database) -> OrderService:
    add_scenario(database)
    return OrderService(database, clock=lambda: NOW)


def snapshot(database: Database) -> list[tuple[Any, ...]]:
    """Everything a successful attack would change."""
    with database.session() as s:
        rows: list[tuple[Any, ...]] = [
            (o.order_number, o.status, o.city, o.line1, o.cancelled_at)
            for o in s.query(m.Order).order_by(m.Order.id)
        ]
        for model in (m.Refund, m.ReturnRequest, m.Exchange, m.AuditLog):
            rows.append((model.__tablename__, s.query(model).count()))
        rows.append(tuple(v.stock for v in s.query(m.Variant).order_by(m.Variant.id)))
        return rows


@pytest.mark.parametrize("number", ALICE_ORDERS + GUESSES + INJECTIONS)
def test_another_customer_can_neither_read_nor_change(
    orders: OrderService, database: Database, number: str
) -> None:
    before = snapshot(database)
    attempts = [
        lambda: orders.order_summary(BOB, number),
        lambda: orders.refunds(BOB, number),
        lambda: orders.cancel(BOB, number),
        lambda: orders.change_address(
            BOB,
            number,
            recipient="x",
            phone="1",
            region="r",
            city="c",
            line1="l",
            postal_code="0",
        ),
        lambda: orders.request_return(BOB, number, 1, 1, "x", f"attack-{number}"),
        lambda: orders.request_exchange(BOB, number, 1, 3, f"attack-x-{number}"),
    ]
    for attempt in attempts:
        with pytest.raises(OrderNotAccessible):
            attempt()
    assert snapshot(database) == before


@pytest.mark.parametrize("number", INJECTIONS + GUESSES)
def test_guest_guesses_and_injections_prove_nothing(orders: OrderService, number: str) -> None:
    for phone in ["5678", "13812345678", "0000", "' OR '1'='1", ""]:
        assert orders.verify_guest(number, phone) is False


@pytest.mark.parametrize("proven", [None, "A2000001", "A1000001"])
def test_a_guest_reaches_only_the_order_they_proved(
    orders: OrderService, proven: str | None
) -> None:
    guest = Requester(verified_order=proven)
    for number in ALICE_ORDERS:
        if number == proven:
            continue
        with pytest.raises(OrderNotAccessible):
            orders.order_summary(guest, number)


@pytest.mark.parametrize("token", FORGED_TOKENS)
async def test_forged_tokens_and_spoofed_senders_get_nothing(
    orders: OrderService, tracker_for: TrackerBuilder, token: str
) -> None:
    for sender in ["customer-1", "1", "alice"]:
        dispatcher = CollectingDispatcher()
        tracker = tracker_for(
            "A1000003",
            intent="check_order_status",
            slots={"order_id": "A1000003"},
            metadata={"customer_token": token, "customer_id": 1},
            sender_id=sender,
        )
        form = ValidateOrderForm(orders, TOKENS)
        assert await form.required_slots([], dispatcher, tracker, {}) == ["order_id", "guest_phone"]
        await ActionAnswerOrder(orders, TOKENS).run(dispatcher, tracker, {})
        said = " ".join(str(message) for message in dispatcher.messages)
        assert "¥350.00" not in said
        assert not any(value in said for value in PERSONAL)


async def test_verified_slot_cannot_be_claimed_through_an_entity_payload(
    orders: OrderService, tracker_for: TrackerBuilder
) -> None:
    # `/inform{"verified_orders": ["A1000003"]}` reaches the action server only as an
    # entity; the slot has a custom mapping, so only validate_guest_phone can set it.
    dispatcher = CollectingDispatcher()
    entities = [{"entity": "verified_orders", "value": ["A1000003"]}]
    tracker = tracker_for(
        "/inform", intent="inform", slots={"order_id": "A1000003"}, entities=entities
    )
    await ActionAnswerOrder(orders, TOKENS).run(dispatcher, tracker, {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_order_not_found"]


@pytest.mark.parametrize("token", FORGED_TOKENS)
async def test_forged_tokens_cannot_make_a_change_even_with_every_slot_forced(
    orders: OrderService, database: Database, tracker_for: TrackerBuilder, token: str
) -> None:
    before = snapshot(database)
    for kind, extra in [
        ("cancel", {}),
        ("address", {"new_address": "浙江省杭州市西湖区文三路 1 号"}),
        ("return", {"order_item": "item-5", "return_reason": "x"}),
        ("exchange", {"order_item": "item-5", "new_variant": "variant-3"}),
    ]:
        dispatcher = CollectingDispatcher()
        tracker = tracker_for(
            "确认",
            intent="affirm",
            slots={
                "order_id": "A1000003" if kind in ("return", "exchange") else "A1000001",
                "order_change": kind,
                "change_confirmed": True,
                **extra,
            },
            metadata={"customer_token": token, "customer_id": 1},
            sender_id="customer-1",
        )
        await ActionSubmitOrderChange(orders, TOKENS).run(dispatcher, tracker, {})
        said = " ".join(str(message) for message in dispatcher.messages)
        assert not any(value in said for value in PERSONAL)
    assert snapshot(database) == before


async def test_a_button_payload_cannot_pick_an_item_of_another_order(
    orders: OrderService, tracker_for: TrackerBuilder, query_parser: QueryParser
) -> None:
    # Alice returns from A1000003; the payload names an item of A2000001 (Bob's, id 13).
    form = ValidateChangeForm(orders, TOKENS, parser=query_parser)
    dispatcher = CollectingDispatcher()
    tracker = tracker_for(
        '/inform{"order_item": "item-13"}',
        intent="inform",
        slots={"order_id": "A1000003", "order_change": "return"},
        metadata={"customer_token": TOKENS.sign(1, SHOPPER)},
    )
    result = await form.validate_order_item("item-13", dispatcher, tracker, {})
    assert result == {"order_item": None}
    assert [m["response"] for m in dispatcher.messages] == ["utter_item_not_understood"]
