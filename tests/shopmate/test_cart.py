"""Carts on a real database (SQLite and PostgreSQL), over the shared scenario's catalog:
variant 1 red M dress ¥100 (stock 5), 2 blue M dress (stock 0), 3 red L dress
(stock 3), 4 black tote bag ¥300 (stock 9); customers 1 and 2."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from shopmate.cart import (
    Added,
    CartNotFound,
    CartRepository,
    OutOfStock,
    UnknownVariant,
)
from shopmate.db import models as m
from shopmate.db.session import Database
from shopmate.promotions import CartLine, RejectReason, best_offer
from tests.factories import NOW, add_scenario

DAY = timedelta(days=1)


@pytest.fixture
def carts(database: Database) -> CartRepository:
    add_scenario(database)
    return CartRepository(database, clock=lambda: NOW)


def cart_item_rows(database: Database) -> int:
    with database.session() as s:
        return int(s.scalar(select(func.count()).select_from(m.CartItem)) or 0)


def test_guest_carts_are_kept_apart_by_conversation(carts: CartRepository) -> None:
    first = carts.cart_for(None, "conversation-a")
    other = carts.cart_for(None, "conversation-b")

    assert first != other
    assert carts.cart_for(None, "conversation-a") == first
    carts.add_item(first, 1)
    assert carts.lines(other) == []


def test_a_customer_has_one_cart_across_conversations(carts: CartRepository) -> None:
    alice = carts.cart_for(1, "conversation-a")

    assert carts.cart_for(1, "conversation-b") == alice
    assert carts.cart_for(2, "conversation-a") != alice
    # A guest in the conversation where Alice logged in does not reach her cart.
    assert carts.cart_for(None, "conversation-a") != alice


def test_adding_returns_the_line_and_lines_read_it_back(carts: CartRepository) -> None:
    cart = carts.cart_for(1, "c")

    result = carts.add_item(cart, 1, quantity=2)

    expected = CartLine(1, 1, "dresses", "真丝连衣裙", "Silk dress", 10000, 2)
    assert result == Added(expected)
    carts.add_item(cart, 4)
    assert carts.lines(cart) == [
        expected,
        CartLine(4, 2, "bags", "托特包", "Tote bag", 30000, 1),
    ]


def test_the_same_variant_twice_merges_into_one_line(
    carts: CartRepository, database: Database
) -> None:
    cart = carts.cart_for(None, "c")

    carts.add_item(cart, 1, quantity=2)
    result = carts.add_item(cart, 1, quantity=3)

    assert isinstance(result, Added)
    assert result.line.quantity == 5
    assert [(line.variant_id, line.quantity) for line in carts.lines(cart)] == [(1, 5)]
    assert cart_item_rows(database) == 1


def test_more_than_the_stock_is_refused_counting_what_is_in_the_cart(
    carts: CartRepository,
) -> None:
    cart = carts.cart_for(None, "c")
    carts.add_item(cart, 1, quantity=4)

    result = carts.add_item(cart, 1, quantity=2)

    assert result == OutOfStock(variant_id=1, requested=2, in_cart=4, stock=5)
    assert isinstance(result, OutOfStock)
    assert result.can_add == 1
    assert [(line.variant_id, line.quantity) for line in carts.lines(cart)] == [(1, 4)]
    assert carts.add_item(cart, 2) == OutOfStock(variant_id=2, requested=1, in_cart=0, stock=0)


def test_an_unknown_variant_is_refused(carts: CartRepository, database: Database) -> None:
    cart = carts.cart_for(None, "c")

    assert carts.add_item(cart, 999) == UnknownVariant(999)
    assert cart_item_rows(database) == 0


def test_remove_takes_some_or_all_of_a_line(carts: CartRepository) -> None:
    cart = carts.cart_for(None, "c")
    carts.add_item(cart, 3, quantity=3)
    carts.add_item(cart, 4)

    assert carts.remove_item(cart, 3, quantity=1) == 2
    assert carts.remove_item(cart, 4) == 0
    assert carts.remove_item(cart, 4) == 0  # already gone: nothing to do
    assert [(line.variant_id, line.quantity) for line in carts.lines(cart)] == [(3, 2)]
    assert carts.remove_item(cart, 3, quantity=5) == 0
    assert carts.lines(cart) == []


def test_bad_requests_are_the_callers_bug(carts: CartRepository) -> None:
    cart = carts.cart_for(None, "c")
    with pytest.raises(ValueError, match="quantity"):
        carts.add_item(cart, 1, quantity=0)
    with pytest.raises(ValueError, match="quantity"):
        carts.remove_item(cart, 1, quantity=-1)
    with pytest.raises(CartNotFound):
        carts.add_item(12345, 1)
    with pytest.raises(CartNotFound):
        carts.lines(12345)


def test_coupons_come_back_as_rules_and_price_the_cart(
    carts: CartRepository, database: Database
) -> None:
    def row(code: str, **fields: object) -> m.Coupon:
        return m.Coupon(
            code=code,
            title_zh=f"{code}券",
            title_en=f"{code} coupon",
            starts_at=fields.pop("starts_at", NOW - 30 * DAY),
            expires_at=fields.pop("expires_at", NOW + 30 * DAY),
            **fields,
        )

    with database.session() as s:
        s.add_all(
            [
                row(
                    "FULL300-50",
                    kind=m.CouponKind.THRESHOLD,
                    threshold_cents=30000,
                    amount_cents=5000,
                    stackable=False,
                ),
                row(
                    "DRESS10",
                    kind=m.CouponKind.PERCENT,
                    percent_off=10,
                    category="dresses",
                    stackable=False,
                ),
                row("NEW10", kind=m.CouponKind.FIXED, amount_cents=1000, stackable=True),
                row(
                    "SUMMER30",
                    kind=m.CouponKind.THRESHOLD,
                    threshold_cents=20000,
                    amount_cents=3000,
                    stackable=False,
                    starts_at=NOW - 120 * DAY,
                    expires_at=NOW - 30 * DAY,
                ),
            ]
        )
    cart = carts.cart_for(1, "c")
    carts.add_item(cart, 1)
    carts.add_item(cart, 4)

    rules = carts.active_coupons(NOW)
    offer = best_offer(carts.lines(cart), rules, NOW)

    assert [r.code for r in rules] == ["DRESS10", "FULL300-50", "NEW10", "SUMMER30"]
    assert rules[0].kind == m.CouponKind.PERCENT
    assert rules[0].category == "dresses"
    assert rules[3].expires_at == NOW - 30 * DAY  # aware UTC, comparable with NOW
    assert [(a.code, a.saving_cents) for a in offer.applied] == [
        ("FULL300-50", 5000),
        ("NEW10", 1000),
    ]
    assert offer.total_cents == 34000
    assert {r.code: r.reason for r in offer.rejected} == {
        "DRESS10": RejectReason.NOT_STACKABLE,
        "SUMMER30": RejectReason.EXPIRED,
    }
