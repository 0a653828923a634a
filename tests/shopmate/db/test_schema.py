"""The migrations, the models and the database agree, and the database enforces rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, StatementError

from shopmate.db import models as m
from shopmate.db.seed import SeedConfig, seed_database
from shopmate.db.session import Database

SMALL = SeedConfig(
    customers=30, orders=300, products=27, seed=7, anchor=datetime(2026, 11, 23, tzinfo=UTC)
)


def test_migrations_match_the_models(database: Database) -> None:
    with database.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), m.Base.metadata)
    assert diff == []


def test_seeded_orders_come_back_with_aware_timestamps_and_items(database: Database) -> None:
    with database.session() as session:
        counts = seed_database(session, SMALL)
    assert counts["orders"] == 300
    with database.session() as session:
        order = session.scalars(
            select(m.Order).where(m.Order.status == m.OrderStatus.DELIVERED)
        ).first()
        assert order is not None
        assert order.delivered_at is not None
        assert order.delivered_at.tzinfo is not None
        assert order.items
        assert (
            order.total_cents == order.subtotal_cents + order.shipping_cents - order.discount_cents
        )
        assert [e.status for e in order.shipments[0].events][-1] == m.ShipmentStatus.DELIVERED


def test_new_rows_get_ids_after_the_seeded_ones(database: Database) -> None:
    with database.session() as session:
        seed_database(session, SMALL)
    with database.session() as session:
        session.add(m.AuditLog(actor="customer:1", action="test", entity="orders", entity_id=1))
        session.flush()
        assert session.scalar(select(m.AuditLog.id)) == 1
        customer = m.Customer(name="新顾客", phone="13800000000")
        session.add(customer)
        session.flush()
        assert customer.id == 31


def insert(database: Database, row: m.Base) -> None:
    with database.session() as session:
        session.add(row)
        session.flush()


def test_an_order_whose_total_does_not_add_up_is_refused(database: Database) -> None:
    with database.session() as session:
        seed_database(session, SMALL)
    broken = m.Order(
        order_number="A0000001",
        customer_id=1,
        status=m.OrderStatus.PAID,
        recipient="x",
        recipient_phone="1",
        region="r",
        city="c",
        line1="l",
        postal_code="p",
        subtotal_cents=1000,
        shipping_cents=0,
        discount_cents=0,
        total_cents=999,
    )
    with pytest.raises(IntegrityError):
        insert(database, broken)


def test_naive_timestamps_are_refused(database: Database) -> None:
    naive = m.Customer(name="x", phone="1", created_at=datetime(2026, 1, 1))
    with pytest.raises(StatementError, match="naive datetime"):
        insert(database, naive)
