"""The seed generator: deterministic, bilingual, every state the flows need."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from shopmate.db import models as m
from shopmate.db.seed import SeedConfig, SeedGenerator

ANCHOR = datetime(2026, 11, 23, tzinfo=UTC)
CONFIG = SeedConfig(customers=200, orders=3000, products=90, seed=42, anchor=ANCHOR)


def test_same_seed_gives_the_same_rows() -> None:
    assert SeedGenerator(CONFIG).build() == SeedGenerator(CONFIG).build()


def test_another_seed_gives_other_rows() -> None:
    other = SeedConfig(customers=200, orders=3000, products=90, seed=43, anchor=ANCHOR)
    first = SeedGenerator(CONFIG).build()[m.Order][:20]
    assert first != SeedGenerator(other).build()[m.Order][:20]


def test_orders_cover_every_state_and_carrier() -> None:
    rows = SeedGenerator(CONFIG).build()
    assert set(Counter(o["status"] for o in rows[m.Order])) == set(m.OrderStatus)
    carriers = {s["carrier"] for s in rows[m.Shipment]}
    assert carriers == {"顺丰速运", "中通快递", "京东物流", "UPS", "FedEx"}


def test_customers_are_chinese_and_english() -> None:
    customers = SeedGenerator(CONFIG).build()[m.Customer]
    languages = Counter(c["language"] for c in customers)
    assert languages["zh"] > languages["en"] > 0
    assert all(c["phone"].isdigit() and len(c["phone"]) >= 10 for c in customers)


def test_delivered_orders_fall_inside_and_outside_the_return_window() -> None:
    orders = SeedGenerator(CONFIG).build()[m.Order]
    delivered = [o["delivered_at"] for o in orders if o["status"] == m.OrderStatus.DELIVERED]
    assert any(ANCHOR - d <= timedelta(days=7) for d in delivered)
    assert any(ANCHOR - d > timedelta(days=15) for d in delivered)
    assert all(d < ANCHOR for d in delivered)


def test_order_numbers_are_unique_and_well_formed() -> None:
    numbers = [o["order_number"] for o in SeedGenerator(CONFIG).build()[m.Order]]
    assert len(set(numbers)) == len(numbers)
    assert all(n[0] == "A" and n[1:].isdigit() and len(n) == 8 for n in numbers)


def test_refunds_never_exceed_what_was_paid() -> None:
    rows = SeedGenerator(CONFIG).build()
    totals = {o["id"]: o["total_cents"] for o in rows[m.Order]}
    assert rows[m.Refund]
    assert all(0 < r["amount_cents"] <= totals[r["order_id"]] for r in rows[m.Refund])
