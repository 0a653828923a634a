"""Tables of the order database.

Money is integer cents (CNY) everywhere; timestamps are timezone-aware UTC.
Order-state changes go through business rules in the repository, never by hand.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shopmate.db.columns import UTCDateTime, utcnow


class Base(DeclarativeBase):
    pass


def _enum(cls: type[enum.Enum]) -> Enum:
    # Store the readable value ("in_transit"), not the member name, as a plain
    # VARCHAR with a CHECK, so adding a state is a data migration, not a type change.
    return Enum(
        cls,
        values_callable=lambda e: [m.value for m in e],
        native_enum=False,
        length=32,
        validate_strings=True,
    )


class OrderStatus(enum.StrEnum):
    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"
    SHIPPED = "shipped"
    IN_TRANSIT = "in_transit"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    RETURNED = "returned"


class ShipmentStatus(enum.StrEnum):
    LABEL_CREATED = "label_created"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"


class RequestStatus(enum.StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    RECEIVED = "received"
    COMPLETED = "completed"
    REJECTED = "rejected"


class RefundStatus(enum.StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    REJECTED = "rejected"


class CouponKind(enum.StrEnum):
    THRESHOLD = "threshold"  # 满 threshold 减 amount
    PERCENT = "percent"  # percent off, optionally above a threshold
    FIXED = "fixed"  # amount off, no threshold


class TicketStatus(enum.StrEnum):
    OPEN = "open"
    PENDING = "pending"
    CLOSED = "closed"


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(32), index=True)
    email: Mapped[str | None] = mapped_column(String(255))
    language: Mapped[str] = mapped_column(String(8), default="zh")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    addresses: Mapped[list[Address]] = relationship(back_populates="customer")
    orders: Mapped[list[Order]] = relationship(back_populates="customer")


class Address(Base):
    __tablename__ = "addresses"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    recipient: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(32))
    country: Mapped[str] = mapped_column(String(2), default="CN")
    region: Mapped[str] = mapped_column(String(100))  # province / state
    city: Mapped[str] = mapped_column(String(100))
    line1: Mapped[str] = mapped_column(String(255))
    postal_code: Mapped[str] = mapped_column(String(16))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)

    customer: Mapped[Customer] = relationship(back_populates="addresses")


class Product(Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    category: Mapped[str] = mapped_column(String(64), index=True)
    brand: Mapped[str] = mapped_column(String(64))
    title_zh: Mapped[str] = mapped_column(String(255))
    title_en: Mapped[str] = mapped_column(String(255))
    description_zh: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    material: Mapped[str | None] = mapped_column(String(64))
    price_cents: Mapped[int] = mapped_column(Integer)
    rating: Mapped[float] = mapped_column(default=0.0)
    image_url: Mapped[str | None] = mapped_column(String(512))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    variants: Mapped[list[Variant]] = relationship(back_populates="product")

    __table_args__ = (CheckConstraint("price_cents >= 0", name="product_price_nonnegative"),)


class Variant(Base):
    __tablename__ = "variants"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    color: Mapped[str | None] = mapped_column(String(32))
    size: Mapped[str | None] = mapped_column(String(16))
    stock: Mapped[int] = mapped_column(Integer, default=0)
    price_cents: Mapped[int] = mapped_column(Integer)

    product: Mapped[Product] = relationship(back_populates="variants")

    __table_args__ = (
        CheckConstraint("stock >= 0", name="variant_stock_nonnegative"),
        CheckConstraint("price_cents >= 0", name="variant_price_nonnegative"),
    )


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_number: Mapped[str] = mapped_column(String(16), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    status: Mapped[OrderStatus] = mapped_column(_enum(OrderStatus), index=True)
    # The delivery address as it was at checkout (the address book may change later).
    recipient: Mapped[str] = mapped_column(String(100))
    recipient_phone: Mapped[str] = mapped_column(String(32))
    country: Mapped[str] = mapped_column(String(2), default="CN")
    region: Mapped[str] = mapped_column(String(100))
    city: Mapped[str] = mapped_column(String(100))
    line1: Mapped[str] = mapped_column(String(255))
    postal_code: Mapped[str] = mapped_column(String(16))
    subtotal_cents: Mapped[int] = mapped_column(Integer)
    shipping_cents: Mapped[int] = mapped_column(Integer, default=0)
    discount_cents: Mapped[int] = mapped_column(Integer, default=0)
    total_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    # Refunds go back here: alipay, wechat_pay, unionpay, card. None while unpaid.
    payment_method: Mapped[str | None] = mapped_column(String(32))
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    customer: Mapped[Customer] = relationship(back_populates="orders")
    items: Mapped[list[OrderItem]] = relationship(back_populates="order", order_by="OrderItem.id")
    shipments: Mapped[list[Shipment]] = relationship(back_populates="order")
    refunds: Mapped[list[Refund]] = relationship(back_populates="order")

    __table_args__ = (
        CheckConstraint(
            "total_cents = subtotal_cents + shipping_cents - discount_cents",
            name="order_total_adds_up",
        ),
        CheckConstraint("total_cents >= 0", name="order_total_nonnegative"),
    )


class OrderItem(Base):
    __tablename__ = "order_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"))
    title_zh: Mapped[str] = mapped_column(String(255))
    title_en: Mapped[str] = mapped_column(String(255))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_cents: Mapped[int] = mapped_column(Integer)

    order: Mapped[Order] = relationship(back_populates="items")
    variant: Mapped[Variant] = relationship()

    __table_args__ = (CheckConstraint("quantity > 0", name="order_item_quantity_positive"),)


class Shipment(Base):
    __tablename__ = "shipments"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    carrier: Mapped[str] = mapped_column(String(32))
    tracking_number: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[ShipmentStatus] = mapped_column(_enum(ShipmentStatus))
    shipped_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    order: Mapped[Order] = relationship(back_populates="shipments")
    events: Mapped[list[TrackingEvent]] = relationship(
        back_populates="shipment", order_by="TrackingEvent.occurred_at"
    )


class TrackingEvent(Base):
    __tablename__ = "tracking_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"), index=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[ShipmentStatus] = mapped_column(_enum(ShipmentStatus))
    location: Mapped[str] = mapped_column(String(100))
    description_zh: Mapped[str] = mapped_column(String(255))
    description_en: Mapped[str] = mapped_column(String(255))

    shipment: Mapped[Shipment] = relationship(back_populates="events")


class ReturnRequest(Base):
    __tablename__ = "return_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    order_item_id: Mapped[int] = mapped_column(ForeignKey("order_items.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(255))
    status: Mapped[RequestStatus] = mapped_column(_enum(RequestStatus))
    # Repeating the same confirmation must not create a second request.
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (CheckConstraint("quantity > 0", name="return_quantity_positive"),)


class Exchange(Base):
    __tablename__ = "exchanges"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    order_item_id: Mapped[int] = mapped_column(ForeignKey("order_items.id"), index=True)
    new_variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[RequestStatus] = mapped_column(_enum(RequestStatus))
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Refund(Base):
    __tablename__ = "refunds"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    return_request_id: Mapped[int | None] = mapped_column(ForeignKey("return_requests.id"))
    amount_cents: Mapped[int] = mapped_column(Integer)
    status: Mapped[RefundStatus] = mapped_column(_enum(RefundStatus))
    method: Mapped[str] = mapped_column(String(32))  # original payment method
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    order: Mapped[Order] = relationship(back_populates="refunds")

    __table_args__ = (CheckConstraint("amount_cents > 0", name="refund_amount_positive"),)


class Coupon(Base):
    __tablename__ = "coupons"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    title_zh: Mapped[str] = mapped_column(String(100))
    title_en: Mapped[str] = mapped_column(String(100))
    kind: Mapped[CouponKind] = mapped_column(_enum(CouponKind))
    threshold_cents: Mapped[int] = mapped_column(Integer, default=0)
    amount_cents: Mapped[int] = mapped_column(Integer, default=0)
    percent_off: Mapped[int] = mapped_column(Integer, default=0)
    category: Mapped[str | None] = mapped_column(String(64))  # None: whole cart
    stackable: Mapped[bool] = mapped_column(Boolean, default=False)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("percent_off >= 0 AND percent_off < 100", name="coupon_percent_range"),
    )


class Cart(Base):
    __tablename__ = "carts"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    # A guest's cart belongs to the conversation that made it.
    conversation_id: Mapped[str | None] = mapped_column(String(128), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    items: Mapped[list[CartItem]] = relationship(back_populates="cart", order_by="CartItem.id")


class CartItem(Base):
    __tablename__ = "cart_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    cart_id: Mapped[int] = mapped_column(ForeignKey("carts.id"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"))
    quantity: Mapped[int] = mapped_column(Integer)

    cart: Mapped[Cart] = relationship(back_populates="items")
    variant: Mapped[Variant] = relationship()

    __table_args__ = (
        UniqueConstraint("cart_id", "variant_id", name="cart_item_once_per_variant"),
        CheckConstraint("quantity > 0", name="cart_item_quantity_positive"),
    )


class Ticket(Base):
    """A complaint or a conversation handed to a person (shopmate/support).

    ``customer_id`` is set only from a verified token, ``orders_proved`` only from
    orders the conversation proved; ``transcript`` is the conversation as stored
    (phone digits masked), refreshed when the agent hands it back."""

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    conversation_id: Mapped[str] = mapped_column(String(128), index=True)
    reason: Mapped[str] = mapped_column(String(64))  # what started it (support.Trigger)
    status: Mapped[TicketStatus] = mapped_column(_enum(TicketStatus))
    transcript: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    kind: Mapped[str] = mapped_column(String(16), default="handoff")  # or "complaint"
    category: Mapped[str | None] = mapped_column(String(32))
    order_number: Mapped[str | None] = mapped_column(String(16))
    orders_proved: Mapped[list[str]] = mapped_column(JSON, default=list)
    language: Mapped[str] = mapped_column(String(8), default="zh")
    sentiment: Mapped[str] = mapped_column(String(16), default="neutral")
    summary: Mapped[str] = mapped_column(Text, default="")
    agent: Mapped[str | None] = mapped_column(String(64))
    rating: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    notes: Mapped[list[TicketNote]] = relationship(
        back_populates="ticket", order_by="TicketNote.id", cascade="all, delete-orphan"
    )

    __table_args__ = (
        CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="ticket_rating_1_to_5"),
        Index("ticket_queue", "status", "created_at"),
    )


class TicketNote(Base):
    """An agent's private note on a ticket: never shown to the shopper."""

    __tablename__ = "ticket_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    agent: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ticket: Mapped[Ticket] = relationship(back_populates="notes")


class AuditLog(Base):
    """Who changed what and when. Details never hold a phone number or address."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor: Mapped[str] = mapped_column(String(64))  # "customer:42" or "guest:A1234567"
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int] = mapped_column(Integer)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("audit_entity", "entity", "entity_id"),)


class GuestProofAttempt(Base):
    """Failed phone checks per order number a guest typed (shopmate/guest_proof.py).

    Any well-formed number gets a row, whether or not the order exists, so the limits
    tell nothing about which orders exist; hence no foreign key. Never a phone number.
    """

    __tablename__ = "guest_proof_attempts"

    order_number: Mapped[str] = mapped_column(String(16), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (CheckConstraint("failures >= 0", name="guest_proof_failures_not_negative"),)
