"""After-sales rules on a real database (SQLite and PostgreSQL), one scenario per test."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from shopmate.db import models as m
from shopmate.db.session import Database
from shopmate.orders import (
    ChangeKind,
    NextStep,
    OrderNotAccessible,
    OrderService,
    Reason,
    Requester,
    RuleRefusal,
)
from tests.factories import ALICE, BOB, NOW, add_scenario


@pytest.fixture
def service(database: Database) -> OrderService:
    add_scenario(database)
    return OrderService(database, clock=lambda: NOW)


def item_id(service: OrderService, number: str, variant_sku_color: str) -> int:
    summary = service.order_summary(ALICE, number)
    return next(i.id for i in summary.items if i.color == variant_sku_color)


def count(database: Database, model: type[m.Base]) -> int:
    with database.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


# --- identity -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "phone", "ok"),
    [
        ("A1000001", "5678", True),
        ("a1000001", "138 1234 5678", True),
        ("A1000001", "5679", False),
        ("A9999999", "5678", False),
        ("A1000001' OR 1=1 --", "5678", False),
        ("A2000001", "0123", True),
    ],
)
def test_guest_proves_an_order_with_its_phone(
    service: OrderService, number: str, phone: str, ok: bool
) -> None:
    assert service.verify_guest(number, phone) is ok


def test_owner_sees_the_order_and_nobody_else_does(service: OrderService) -> None:
    assert service.order_summary(ALICE, "A1000003").status == m.OrderStatus.DELIVERED
    assert (
        service.order_summary(Requester(verified_order="A1000003"), "a1000003").total_cents == 35000
    )
    for requester, number in [
        (BOB, "A1000003"),  # someone else's order
        (BOB, "A9999999"),  # no such order: the same answer
        (Requester(verified_order="A2000001"), "A1000003"),  # guest proved another order
        (Requester(), "A1000003"),  # nobody
        (ALICE, "'; DROP TABLE orders; --"),
    ]:
        with pytest.raises(OrderNotAccessible):
            service.order_summary(requester, number)


# --- cancel ---------------------------------------------------------------------------


def test_cancel_before_shipping_refunds_in_full_once(
    service: OrderService, database: Database
) -> None:
    result = service.cancel(ALICE, "A1000001")
    assert (result.amount_cents, result.repeated) == (35000, False)
    again = service.cancel(ALICE, "A1000001")
    assert again.repeated
    assert service.order_summary(ALICE, "A1000001").status == m.OrderStatus.CANCELLED
    assert [r.amount_cents for r in service.refunds(ALICE, "A1000001")] == [35000]
    assert count(database, m.AuditLog) == 1


def test_cancel_of_an_unpaid_order_refunds_nothing(service: OrderService) -> None:
    assert service.cancel(ALICE, "A1000006").amount_cents == 0
    assert service.refunds(ALICE, "A1000006") == []


@pytest.mark.parametrize(
    ("number", "reason", "next_step"),
    [
        ("A1000002", Reason.ALREADY_SHIPPED, NextStep.RETURN_AFTER_DELIVERY),
        ("A1000003", Reason.ALREADY_DELIVERED, NextStep.REQUEST_RETURN),
    ],
)
def test_cancel_after_shipping_is_refused_with_the_next_best_step(
    service: OrderService, number: str, reason: Reason, next_step: NextStep
) -> None:
    with pytest.raises(RuleRefusal) as refusal:
        service.cancel(ALICE, number)
    assert (refusal.value.reason, refusal.value.next_step) == (reason, next_step)
    assert service.order_summary(ALICE, number).status != m.OrderStatus.CANCELLED


def test_someone_elses_order_cannot_be_cancelled(service: OrderService) -> None:
    with pytest.raises(OrderNotAccessible):
        service.cancel(BOB, "A1000001")
    assert service.order_summary(ALICE, "A1000001").status == m.OrderStatus.PAID


# --- address --------------------------------------------------------------------------

NEW_ADDRESS = {
    "recipient": "张三",
    "phone": "13812345678",
    "region": "浙江省",
    "city": "杭州市",
    "line1": "西湖区文三路 1 号",
    "postal_code": "310000",
}


def test_address_changes_before_shipping_and_the_audit_holds_no_address(
    service: OrderService, database: Database
) -> None:
    assert not service.change_address(ALICE, "A1000001", **NEW_ADDRESS).repeated
    assert service.change_address(ALICE, "A1000001", **NEW_ADDRESS).repeated
    with database.session() as s:
        audit = s.scalars(select(m.AuditLog)).all()
    assert len(audit) == 1
    assert audit[0].details == {"fields": ["region", "city", "line1", "postal_code"]}
    assert "杭州" not in str(audit[0].details)


def test_address_change_after_shipping_is_refused(service: OrderService) -> None:
    with pytest.raises(RuleRefusal) as refusal:
        service.change_address(ALICE, "A1000002", **NEW_ADDRESS)
    assert refusal.value.next_step == NextStep.CONTACT_CARRIER


# --- return ---------------------------------------------------------------------------


def test_return_within_seven_days_refunds_the_items_share(
    service: OrderService, database: Database
) -> None:
    dress = item_id(service, "A1000003", "red")
    result = service.request_return(ALICE, "A1000003", dress, 1, "不合适", "conv-1:return")
    # ¥100 dress in a ¥400 order with ¥50 off: ¥87.50 back.
    assert result.amount_cents == 8750
    repeat = service.request_return(ALICE, "A1000003", dress, 1, "不合适", "conv-1:return")
    assert repeat.repeated
    assert repeat.amount_cents == 8750
    assert count(database, m.ReturnRequest) == 1
    assert count(database, m.Refund) == 1
    with pytest.raises(RuleRefusal) as refusal:
        service.request_return(ALICE, "A1000003", dress, 1, "again", "conv-2:return")
    assert refusal.value.reason == Reason.ALREADY_RETURNED


@pytest.mark.parametrize(
    ("number", "reason"),
    [("A1000004", Reason.RETURN_WINDOW_CLOSED), ("A1000002", Reason.NOT_DELIVERED)],
)
def test_return_outside_the_window_or_before_delivery_is_refused(
    service: OrderService, number: str, reason: Reason
) -> None:
    dress = item_id(service, number, "red")
    with pytest.raises(RuleRefusal) as refusal:
        service.request_return(ALICE, number, dress, 1, "x", f"k-{number}")
    assert refusal.value.reason == reason


# --- exchange -------------------------------------------------------------------------


def test_exchange_within_fifteen_days_reserves_stock_once(
    service: OrderService, database: Database
) -> None:
    dress = item_id(service, "A1000004", "red")
    first = service.request_exchange(ALICE, "A1000004", dress, 3, "conv-1:exchange")
    assert not first.repeated
    assert service.request_exchange(ALICE, "A1000004", dress, 3, "conv-1:exchange").repeated
    with database.session() as s:
        assert s.get(m.Variant, 3).stock == 2  # type: ignore[union-attr]
    assert count(database, m.Exchange) == 1


@pytest.mark.parametrize(
    ("number", "variant", "reason"),
    [
        ("A1000004", 2, Reason.OUT_OF_STOCK),
        ("A1000004", 4, Reason.INVALID_VARIANT),
        ("A1000004", 1, Reason.INVALID_VARIANT),
        ("A1000005", 3, Reason.EXCHANGE_WINDOW_CLOSED),
    ],
)
def test_exchange_rules(service: OrderService, number: str, variant: int, reason: Reason) -> None:
    dress = item_id(service, number, "red")
    with pytest.raises(RuleRefusal) as refusal:
        service.request_exchange(ALICE, number, dress, variant, f"k-{number}-{variant}")
    assert refusal.value.reason == reason


def test_recent_orders_are_the_customers_own_newest(service: OrderService) -> None:
    numbers = [o.order_number for o in service.recent_orders(2)]
    assert numbers == ["A2000001"]


# --- plans: what a change would do, before the shopper confirms it ----------------------


def test_plan_of_a_cancel_quotes_the_full_refund_and_changes_nothing(
    service: OrderService, database: Database
) -> None:
    plan = service.plan_change(ALICE, "a1000001", ChangeKind.CANCEL)
    assert (plan.kind, plan.order_number, plan.refund_cents) == (
        ChangeKind.CANCEL,
        "A1000001",
        35000,
    )
    assert service.plan_change(ALICE, "A1000006", ChangeKind.CANCEL).refund_cents == 0
    assert service.order_summary(ALICE, "A1000001").status == m.OrderStatus.PAID
    assert count(database, m.AuditLog) == 0


def test_plan_of_a_return_lists_each_item_with_its_refund_share(service: OrderService) -> None:
    plan = service.plan_change(ALICE, "A1000003", ChangeKind.RETURN)
    # Prices less their share of the ¥50 order discount: 100 - 12.50, 300 - 37.50.
    assert [(i.item.title_en, i.quantity, i.refund_cents) for i in plan.items] == [
        ("Silk dress", 1, 8750),
        ("Tote bag", 1, 26250),
    ]
    dress = plan.items[0].item.id
    service.request_return(ALICE, "A1000003", dress, 1, "too small", "k1")
    after = service.plan_change(ALICE, "A1000003", ChangeKind.RETURN)
    assert [i.item.title_en for i in after.items] == ["Tote bag"]


@pytest.mark.parametrize(
    ("number", "kind", "reason", "next_step"),
    [
        ("A1000002", ChangeKind.CANCEL, Reason.ALREADY_SHIPPED, NextStep.RETURN_AFTER_DELIVERY),
        ("A1000003", ChangeKind.CANCEL, Reason.ALREADY_DELIVERED, NextStep.REQUEST_RETURN),
        ("A1000002", ChangeKind.ADDRESS, Reason.ALREADY_SHIPPED, NextStep.CONTACT_CARRIER),
        ("A1000001", ChangeKind.RETURN, Reason.NOT_DELIVERED, NextStep.TRACK_SHIPMENT),
        ("A1000004", ChangeKind.RETURN, Reason.RETURN_WINDOW_CLOSED, NextStep.WARRANTY),
        ("A1000005", ChangeKind.EXCHANGE, Reason.EXCHANGE_WINDOW_CLOSED, NextStep.WARRANTY),
        ("A1000006", ChangeKind.REFUND, Reason.NOTHING_TO_REFUND, NextStep.CANCEL_ORDER),
        ("A1000002", ChangeKind.REFUND, Reason.ALREADY_SHIPPED, NextStep.RETURN_AFTER_DELIVERY),
        ("A1000004", ChangeKind.REFUND, Reason.RETURN_WINDOW_CLOSED, NextStep.WARRANTY),
    ],
)
def test_plans_refuse_with_the_reason_and_the_next_best_step(
    service: OrderService, number: str, kind: ChangeKind, reason: Reason, next_step: NextStep
) -> None:
    with pytest.raises(RuleRefusal) as refusal:
        service.plan_change(ALICE, number, kind)
    assert (refusal.value.reason, refusal.value.next_step) == (reason, next_step)


def test_a_refund_request_becomes_a_cancel_before_shipping_and_a_return_after_delivery(
    service: OrderService,
) -> None:
    assert service.plan_change(ALICE, "A1000001", ChangeKind.REFUND).kind == ChangeKind.CANCEL
    assert service.plan_change(ALICE, "A1000003", ChangeKind.REFUND).kind == ChangeKind.RETURN
    service.cancel(ALICE, "A1000001")
    with pytest.raises(RuleRefusal) as refusal:
        service.plan_change(ALICE, "A1000001", ChangeKind.REFUND)
    assert refusal.value.next_step == NextStep.CHECK_REFUND_STATUS


def test_plans_are_only_for_the_owner(service: OrderService) -> None:
    for kind in ChangeKind:
        with pytest.raises(OrderNotAccessible):
            service.plan_change(BOB, "A1000003", kind)


def test_exchange_options_are_the_products_other_variants_in_stock(service: OrderService) -> None:
    dress = item_id(service, "A1000003", "red")
    # Blue M is sold out; the red L has stock; the red M is the one bought.
    assert [(v.color, v.size) for v in service.exchange_variants(ALICE, "A1000003", dress)] == [
        ("red", "L")
    ]
    with pytest.raises(OrderNotAccessible):
        service.exchange_variants(BOB, "A1000003", dress)
