"""A small, exact order-database scenario shared by service and action tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shopmate.db import models as m
from shopmate.db.session import Database
from shopmate.orders import Requester

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
ALICE = Requester(customer_id=1)
BOB = Requester(customer_id=2)


def _order(
    number: str, customer: int, status: m.OrderStatus, now: datetime = NOW, **extra: Any
) -> m.Order:
    fields: dict[str, Any] = {
        "order_number": number,
        "customer_id": customer,
        "status": status,
        "recipient": "张三",
        "recipient_phone": "13812345678",
        "region": "上海市",
        "city": "上海市",
        "line1": "浦东新区世纪大道 100 号",
        "postal_code": "200120",
        "subtotal_cents": 40000,
        "shipping_cents": 0,
        "discount_cents": 5000,
        "total_cents": 35000,
        "payment_method": "alipay",
        "placed_at": now - timedelta(days=30),
    }
    fields.update(extra)
    return m.Order(**fields)


def add_scenario(database: Database, now: datetime = NOW) -> None:
    """Alice (customer 1, phone 13812345678) has orders A1000001-A1000006 in every
    after-sales situation; Bob (customer 2) has A2000001. Dates are relative to `now`
    (NOW for unit tests with a fixed clock; the real time for end-to-end tests, whose
    action server reads the real clock)."""
    with database.session() as s:
        s.add_all(
            [
                m.Customer(id=1, name="张三", phone="13812345678"),
                m.Customer(id=2, name="Bob Lee", phone="4155550123", language="en"),
                m.Product(
                    id=1,
                    code="P1",
                    category="dresses",
                    brand="Lumi",
                    title_zh="真丝连衣裙",
                    title_en="Silk dress",
                    price_cents=10000,
                ),
                m.Product(
                    id=2,
                    code="P2",
                    category="bags",
                    brand="Carryall",
                    title_zh="托特包",
                    title_en="Tote bag",
                    price_cents=30000,
                ),
            ]
        )
        s.flush()
        s.add_all(
            [
                m.Variant(
                    id=1,
                    product_id=1,
                    sku="P1-RED-M",
                    color="red",
                    size="M",
                    stock=5,
                    price_cents=10000,
                ),
                m.Variant(
                    id=2,
                    product_id=1,
                    sku="P1-BLU-M",
                    color="blue",
                    size="M",
                    stock=0,
                    price_cents=10000,
                ),
                m.Variant(
                    id=3,
                    product_id=1,
                    sku="P1-RED-L",
                    color="red",
                    size="L",
                    stock=3,
                    price_cents=10000,
                ),
                m.Variant(
                    id=4,
                    product_id=2,
                    sku="P2-BLK",
                    color="black",
                    size="one-size",
                    stock=9,
                    price_cents=30000,
                ),
            ]
        )
        s.flush()
        delivered = {"status": m.OrderStatus.DELIVERED}
        s.add_all(
            [
                _order("A1000001", 1, now=now, status=m.OrderStatus.PAID),
                _order("A1000002", 1, now=now, status=m.OrderStatus.IN_TRANSIT),
                _order("A1000003", 1, now=now, **delivered, delivered_at=now - timedelta(days=3)),
                _order("A1000004", 1, now=now, **delivered, delivered_at=now - timedelta(days=10)),
                _order("A1000005", 1, now=now, **delivered, delivered_at=now - timedelta(days=20)),
                _order(
                    "A1000006",
                    1,
                    now=now,
                    status=m.OrderStatus.PENDING_PAYMENT,
                    payment_method=None,
                ),
                _order("A2000001", 2, now=now, status=m.OrderStatus.PAID),
            ]
        )
        s.flush()
        for order_id in range(1, 8):
            s.add_all(
                [
                    m.OrderItem(
                        order_id=order_id,
                        variant_id=1,
                        title_zh="真丝连衣裙",
                        title_en="Silk dress",
                        quantity=1,
                        unit_price_cents=10000,
                    ),
                    m.OrderItem(
                        order_id=order_id,
                        variant_id=4,
                        title_zh="托特包",
                        title_en="Tote bag",
                        quantity=1,
                        unit_price_cents=30000,
                    ),
                ]
            )
        shipment = m.Shipment(
            order_id=2,
            carrier="顺丰速运",
            tracking_number="SF1000002001",
            status=m.ShipmentStatus.IN_TRANSIT,
            shipped_at=now - timedelta(days=2),
        )
        s.add(shipment)
        s.flush()
        s.add_all(
            [
                m.TrackingEvent(
                    shipment_id=shipment.id,
                    occurred_at=now - timedelta(days=2),
                    status=m.ShipmentStatus.LABEL_CREATED,
                    location="杭州",
                    description_zh="商家已发货，包裹已揽收",
                    description_en="Parcel picked up from the seller",
                ),
                m.TrackingEvent(
                    shipment_id=shipment.id,
                    occurred_at=now - timedelta(hours=5),
                    status=m.ShipmentStatus.IN_TRANSIT,
                    location="上海",
                    description_zh="包裹已到达转运中心",
                    description_en="Arrived at the sorting centre",
                ),
            ]
        )
