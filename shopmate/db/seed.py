"""Deterministic, bilingual seed data for the order database.

    .venv-actions/bin/python -m shopmate.db.seed [--customers 2000] [--orders 20000]

The same seed, sizes and anchor date always give the same rows. Dates are relative to
the anchor (default: today, 00:00 UTC) so that a fresh database always holds orders
inside and outside the 7-day return and 15-day exchange windows. Rows carry explicit
ids, inserted in bulk; PostgreSQL sequences are moved past them afterwards.
"""

from __future__ import annotations

import argparse
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from faker import Faker
from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from shopmate.db import models as m
from shopmate.db.catalog_seed import generate_catalog
from shopmate.db.pricing import item_refund_cents
from shopmate.db.session import Database
from shopmate.db.vocabulary import CATEGORY_BY_CODE, CATEGORY_SPECS
from shopmate.db.vocabulary import MATERIAL_EN as MATERIAL_EN  # re-exported
from shopmate.settings import get_settings

CARRIERS_CN = ["顺丰速运", "中通快递", "京东物流"]
CARRIERS_INTL = ["UPS", "FedEx"]
CARRIER_PREFIX = {"顺丰速运": "SF", "中通快递": "ZT", "京东物流": "JD", "UPS": "1Z", "FedEx": "FX"}

# category: (zh noun, en noun, brands, materials, sizes, base price in yuan)
CATEGORIES: dict[str, tuple[str, str, list[str], list[str], list[str], int]] = {
    spec.code: (
        spec.zh,
        spec.en,
        list(spec.brands),
        list(spec.materials),
        list(spec.sizes),
        spec.base_price,
    )
    for spec in CATEGORY_SPECS
}

STATUS_WEIGHTS = [
    (m.OrderStatus.PENDING_PAYMENT, 5),
    (m.OrderStatus.PAID, 10),
    (m.OrderStatus.SHIPPED, 8),
    (m.OrderStatus.IN_TRANSIT, 12),
    (m.OrderStatus.DELIVERED, 50),
    (m.OrderStatus.CANCELLED, 8),
    (m.OrderStatus.RETURNED, 7),
]
TRACKING_STEPS = [
    (m.ShipmentStatus.LABEL_CREATED, "商家已发货，包裹已揽收", "Parcel picked up from the seller"),
    (m.ShipmentStatus.IN_TRANSIT, "包裹已到达转运中心", "Arrived at the sorting centre"),
    (m.ShipmentStatus.IN_TRANSIT, "包裹运输中，正发往目的地", "In transit to the destination"),
    (m.ShipmentStatus.OUT_FOR_DELIVERY, "快递员正在派送", "Out for delivery"),
    (m.ShipmentStatus.DELIVERED, "已签收", "Delivered"),
]
HUBS = ["上海", "杭州", "广州", "北京", "成都", "武汉", "深圳"]


class ShopperTastes:
    """Who buys what, so that order history has the structure recommenders learn from.

    Products have a long-tail popularity (Zipf-like, in a random order). Each customer
    likes two categories and two colours: three first items in four come from that
    taste, weighted by popularity, the rest from the whole catalog by popularity.
    Further items of an order "complete the look": a complementary category
    (vocabulary.py: dress -> shoes, bag) in the same colour. Without this, uniformly
    random orders would leave nothing for collaborative filtering to find.
    """

    TASTE_SHARE = 0.75

    def __init__(self, products: list[dict[str, Any]], rng: random.Random) -> None:
        self.rng = rng
        order = list(range(len(products)))
        rng.shuffle(order)
        weight = [0.0] * len(products)
        for rank, index in enumerate(order, start=1):
            weight[index] = 1.0 / rank**0.8
        self.ids = [p["id"] for p in products]
        self.weights = weight
        self.pools: dict[tuple[str, str], tuple[list[int], list[float]]] = {}
        for index, product in enumerate(products):
            key = (product["category"], product["attributes"]["default_color"])
            ids, weights = self.pools.setdefault(key, ([], []))
            ids.append(product["id"])
            weights.append(weight[index])
        self.key_of = {p["id"]: (p["category"], p["attributes"]["default_color"]) for p in products}
        self.categories = sorted({key[0] for key in self.pools})
        self.colors = sorted({key[1] for key in self.pools})
        self.taste: dict[int, list[tuple[str, str]]] = {}

    def _taste_of(self, customer_id: int) -> list[tuple[str, str]]:
        if customer_id not in self.taste:
            categories = self.rng.sample(self.categories, k=2)
            colors = self.rng.sample(self.colors, k=2)
            keys = [(c, k) for c in categories for k in colors]
            self.taste[customer_id] = [key for key in keys if key in self.pools]
        return self.taste[customer_id]

    def _pick(self, key: tuple[str, str] | None) -> int:
        if key is None or key not in self.pools:
            return self.rng.choices(self.ids, self.weights)[0]
        ids, weights = self.pools[key]
        return self.rng.choices(ids, weights)[0]

    def basket(self, customer_id: int, size: int) -> list[int]:
        """Product ids of one order, distinct."""
        taste = self._taste_of(customer_id)
        first_key = (
            self.rng.choice(taste) if taste and self.rng.random() < self.TASTE_SHARE else None
        )
        basket = [self._pick(first_key)]
        category, color = self.key_of[basket[0]]
        complements = CATEGORY_BY_CODE[category].complements
        for _ in range(size - 1):
            product_id = self._pick((self.rng.choice(complements), color))
            if product_id not in basket:
                basket.append(product_id)
        return basket


@dataclass(frozen=True)
class SeedConfig:
    customers: int = 2000
    orders: int = 20000
    products: int = 5000
    seed: int = 42
    anchor: datetime | None = None  # default: today 00:00 UTC


class SeedGenerator:
    """Builds every row in memory from one random generator, then inserts in bulk."""

    def __init__(self, config: SeedConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)  # noqa: S311 - seed data, not secrets
        self.anchor = config.anchor or datetime.now(UTC).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        self.fake_zh = Faker("zh_CN")
        self.fake_zh.seed_instance(config.seed)
        self.fake_en = Faker("en_US")
        self.fake_en.seed_instance(config.seed)
        self.rows: dict[type[m.Base], list[dict[str, Any]]] = {}

    def add(self, model: type[m.Base], row: dict[str, Any]) -> int:
        table = self.rows.setdefault(model, [])
        row["id"] = len(table) + 1
        table.append(row)
        return int(row["id"])

    def build(self) -> dict[type[m.Base], list[dict[str, Any]]]:
        self._catalog()
        self._customers()
        self._orders()
        self._coupons()
        return self.rows

    def _catalog(self) -> None:
        for product in generate_catalog(self.config.products, self.config.seed):
            product_id = self.add(
                m.Product,
                {
                    "code": product.code,
                    "category": product.category,
                    "brand": product.brand,
                    "title_zh": product.title_zh,
                    "title_en": product.title_en,
                    "description_zh": product.description_zh,
                    "description_en": product.description_en,
                    "material": product.material,
                    "price_cents": product.price_cents,
                    "rating": product.rating,
                    "image_url": product.image_url,
                    "attributes": {
                        "default_color": product.color,
                        "style_zh": product.style_zh,
                        "style_en": product.style_en,
                    },
                },
            )
            for variant in product.variants:
                self.add(
                    m.Variant,
                    {
                        "product_id": product_id,
                        "sku": variant.sku,
                        "color": variant.color,
                        "size": variant.size,
                        "stock": variant.stock,
                        "price_cents": variant.price_cents,
                    },
                )

    def _customers(self) -> None:
        for _ in range(self.config.customers):
            chinese = self.rng.random() < 0.7
            fake = self.fake_zh if chinese else self.fake_en
            phone = "".join(ch for ch in fake.phone_number().split("x")[0] if ch.isdigit())
            name = fake.name()
            customer_id = self.add(
                m.Customer,
                {
                    "name": name,
                    "phone": phone,
                    "email": fake.email(),
                    "language": "zh" if chinese else "en",
                    "created_at": self.anchor - timedelta(days=self.rng.randint(30, 900)),
                },
            )
            self.add(
                m.Address,
                {
                    "customer_id": customer_id,
                    "recipient": name,
                    "phone": phone,
                    "country": "CN" if chinese else "US",
                    "region": fake.province() if chinese else fake.state(),
                    "city": fake.city(),
                    "line1": fake.street_address(),
                    "postal_code": fake.postcode(),
                    "is_default": True,
                },
            )

    def _orders(self) -> None:
        products = {p["id"]: p for p in self.rows[m.Product]}
        variants_of: dict[int, list[dict[str, Any]]] = {}
        for variant in self.rows[m.Variant]:
            variants_of.setdefault(variant["product_id"], []).append(variant)
        tastes = ShopperTastes(self.rows[m.Product], self.rng)
        addresses = self.rows[m.Address]
        numbers = self.rng.sample(range(1_000_000, 10_000_000), self.config.orders)
        statuses, weights = zip(*STATUS_WEIGHTS, strict=True)
        for number in numbers:
            address = self.rng.choice(addresses)
            status = self.rng.choices(statuses, weights)[0]
            placed = self.anchor - timedelta(minutes=self.rng.randint(60, 120 * 24 * 60))
            if status in (m.OrderStatus.PENDING_PAYMENT, m.OrderStatus.PAID):
                placed = self.anchor - timedelta(minutes=self.rng.randint(5, 3 * 24 * 60))
            order_id = len(self.rows.get(m.Order, [])) + 1
            subtotal = 0
            basket = tastes.basket(address["customer_id"], self.rng.choice([1, 1, 1, 2, 3]))
            for product_id in basket:
                variant = self.rng.choice(variants_of[product_id])
                quantity = self.rng.choice([1, 1, 1, 2])
                product = products[product_id]
                subtotal += quantity * variant["price_cents"]
                self.add(
                    m.OrderItem,
                    {
                        "order_id": order_id,
                        "variant_id": variant["id"],
                        "title_zh": product["title_zh"],
                        "title_en": product["title_en"],
                        "quantity": quantity,
                        "unit_price_cents": variant["price_cents"],
                    },
                )
            shipping = 0 if subtotal >= 9900 else 800
            discount = 5000 if subtotal >= 30000 and self.rng.random() < 0.3 else 0
            order = {
                "order_number": f"A{number}",
                "customer_id": address["customer_id"],
                "status": status,
                "recipient": address["recipient"],
                "recipient_phone": address["phone"],
                "country": address["country"],
                "region": address["region"],
                "city": address["city"],
                "line1": address["line1"],
                "postal_code": address["postal_code"],
                "subtotal_cents": subtotal,
                "shipping_cents": shipping,
                "discount_cents": discount,
                "total_cents": subtotal + shipping - discount,
                "placed_at": placed,
                "updated_at": placed,
                "payment_method": None
                if status == m.OrderStatus.PENDING_PAYMENT
                else self.rng.choice(["alipay", "wechat_pay", "unionpay"]),
                "paid_at": None
                if status == m.OrderStatus.PENDING_PAYMENT
                else placed + timedelta(minutes=self.rng.randint(1, 30)),
                "shipped_at": None,
                "delivered_at": None,
                "cancelled_at": None,
            }
            self.add(m.Order, order)
            self._fulfil(order)

    def _fulfil(self, order: dict[str, Any]) -> None:
        status = order["status"]
        if status == m.OrderStatus.CANCELLED:
            order["cancelled_at"] = order["placed_at"] + timedelta(hours=self.rng.randint(1, 20))
            if order["paid_at"] and order["cancelled_at"] > order["paid_at"]:
                self._refund(order, None, order["total_cents"], order["cancelled_at"])
            return
        if status in (m.OrderStatus.PENDING_PAYMENT, m.OrderStatus.PAID):
            return
        shipped = order["paid_at"] + timedelta(hours=self.rng.randint(2, 48))
        if shipped >= self.anchor:
            shipped = self.anchor - timedelta(hours=1)
        order["shipped_at"] = shipped
        steps = {m.OrderStatus.SHIPPED: 1, m.OrderStatus.IN_TRANSIT: 3}.get(status, 5)
        delivered = shipped + timedelta(hours=self.rng.randint(30, 120))
        if steps == 5 and delivered >= self.anchor:
            delivered = self.anchor - timedelta(hours=self.rng.randint(1, 12))
        carrier = self.rng.choice(CARRIERS_CN if order["country"] == "CN" else CARRIERS_INTL)
        shipment_id = self.add(
            m.Shipment,
            {
                "order_id": order["id"],
                "carrier": carrier,
                "tracking_number": f"{CARRIER_PREFIX[carrier]}{order['order_number'][1:]}"
                f"{self.rng.randint(100, 999)}",
                "status": TRACKING_STEPS[steps - 1][0],
                "shipped_at": shipped,
                "delivered_at": delivered if steps == 5 else None,
            },
        )
        span = (
            (delivered - shipped) if steps == 5 else min(self.anchor - shipped, timedelta(hours=60))
        )
        for index, (step_status, zh, en) in enumerate(TRACKING_STEPS[:steps]):
            self.add(
                m.TrackingEvent,
                {
                    "shipment_id": shipment_id,
                    "occurred_at": shipped + span * (index / 4 if steps == 5 else index / steps),
                    "status": step_status,
                    "location": order["city"] if index >= 3 else self.rng.choice(HUBS),
                    "description_zh": zh,
                    "description_en": en,
                },
            )
        if steps == 5:
            order["delivered_at"] = delivered
        if status == m.OrderStatus.RETURNED:
            self._return(order, delivered)

    def _return(self, order: dict[str, Any], delivered: datetime) -> None:
        item = next(i for i in reversed(self.rows[m.OrderItem]) if i["order_id"] == order["id"])
        requested = delivered + timedelta(days=self.rng.randint(1, 6))
        return_id = self.add(
            m.ReturnRequest,
            {
                "order_id": order["id"],
                "order_item_id": item["id"],
                "quantity": item["quantity"],
                "reason": "no_reason_7_days",
                "status": m.RequestStatus.COMPLETED,
                "idempotency_key": f"seed-return-{order['order_number']}",
                "created_at": requested,
            },
        )
        amount = item_refund_cents(
            item["quantity"] * item["unit_price_cents"],
            order["subtotal_cents"],
            order["discount_cents"],
        )
        self._refund(order, return_id, amount, requested + timedelta(days=3))

    def _refund(
        self, order: dict[str, Any], return_id: int | None, amount: int, when: datetime
    ) -> None:
        done = when + timedelta(days=self.rng.randint(1, 5))
        self.add(
            m.Refund,
            {
                "order_id": order["id"],
                "return_request_id": return_id,
                "amount_cents": amount,
                "status": m.RefundStatus.COMPLETED
                if done < self.anchor
                else m.RefundStatus.PROCESSING,
                "method": order["payment_method"],
                "idempotency_key": f"seed-refund-{order['order_number']}",
                "created_at": when,
                "completed_at": done if done < self.anchor else None,
            },
        )

    def _coupons(self) -> None:
        day = timedelta(days=1)
        for code, zh, en, kind, threshold, amount, percent, category, stackable, start, end in [
            (
                "FULL300-50",
                "满300减50",
                "¥50 off orders of ¥300+",
                m.CouponKind.THRESHOLD,
                30000,
                5000,
                0,
                None,
                False,
                -30,
                30,
            ),
            (
                "FULL199-20",
                "满199减20",
                "¥20 off orders of ¥199+",
                m.CouponKind.THRESHOLD,
                19900,
                2000,
                0,
                None,
                False,
                -30,
                30,
            ),
            (
                "DRESS10",
                "连衣裙9折",
                "10% off dresses",
                m.CouponKind.PERCENT,
                0,
                0,
                10,
                "dresses",
                False,
                -10,
                20,
            ),
            (
                "NEW10",
                "新人无门槛减10",
                "¥10 off, no minimum",
                m.CouponKind.FIXED,
                0,
                1000,
                0,
                None,
                True,
                -60,
                60,
            ),
            (
                "SUMMER30",
                "夏季满200减30（已过期）",
                "¥30 off ¥200+ (expired)",
                m.CouponKind.THRESHOLD,
                20000,
                3000,
                0,
                None,
                False,
                -120,
                -30,
            ),
        ]:
            self.add(
                m.Coupon,
                {
                    "code": code,
                    "title_zh": zh,
                    "title_en": en,
                    "kind": kind,
                    "threshold_cents": threshold,
                    "amount_cents": amount,
                    "percent_off": percent,
                    "category": category,
                    "stackable": stackable,
                    "starts_at": self.anchor + start * day,
                    "expires_at": self.anchor + end * day,
                },
            )


INSERT_ORDER = [
    m.Product,
    m.Variant,
    m.Customer,
    m.Address,
    m.Order,
    m.OrderItem,
    m.Shipment,
    m.TrackingEvent,
    m.ReturnRequest,
    m.Refund,
    m.Coupon,
]


def seed_database(session: Session, config: SeedConfig) -> dict[str, int]:
    """Insert the generated rows; the database must be migrated and empty."""
    rows = SeedGenerator(config).build()
    counts: dict[str, int] = {}
    for model in INSERT_ORDER:
        batch = rows.get(model, [])
        for start in range(0, len(batch), 5000):
            session.execute(insert(model), batch[start : start + 5000])
        counts[model.__tablename__] = len(batch)
    if session.get_bind().dialect.name == "postgresql":
        for model in INSERT_ORDER:
            table = model.__tablename__
            # Table names come from our own models, never from input.
            statement = (
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
            )
            session.execute(text(statement))
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description="Seed the order database (must be empty).")
    parser.add_argument("--customers", type=int, default=SeedConfig.customers)
    parser.add_argument("--orders", type=int, default=SeedConfig.orders)
    parser.add_argument("--products", type=int, default=SeedConfig.products)
    parser.add_argument("--seed", type=int, default=SeedConfig.seed)
    parser.add_argument("--anchor", help="anchor date YYYY-MM-DD (default: today, UTC)")
    args = parser.parse_args()
    anchor = datetime.fromisoformat(args.anchor).replace(tzinfo=UTC) if args.anchor else None
    config = SeedConfig(args.customers, args.orders, args.products, args.seed, anchor)
    database = Database(get_settings().database_url)
    start = time.perf_counter()
    with database.session() as session:
        if session.query(m.Order).limit(1).count():
            print("database already seeded: nothing to do")
            return
        counts = seed_database(session, config)
    print(f"seeded in {time.perf_counter() - start:.1f}s: {counts}")


if __name__ == "__main__":
    main()
