"""After-sales business rules over the order database.

Every read and change goes through `OrderService`, which first ties the order to the
verified requester (a logged-in customer, or a guest who proved this very order):
an order that does not exist and an order that belongs to someone else give the same
`OrderNotAccessible`, so nothing discloses whether a number exists. Every change is
one transaction, idempotent (an `idempotency_key` or the resulting state tells a
repeat), audited, and refused with a reason and the next best step when a rule says no.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from shopmate.db import models as m
from shopmate.db.columns import utcnow
from shopmate.db.pricing import item_refund_cents
from shopmate.db.session import Database
from shopmate.identity import normalize_order_number, phone_matches

_Keyed = TypeVar("_Keyed", m.ReturnRequest, m.Exchange)

RETURN_WINDOW = timedelta(days=7)
EXCHANGE_WINDOW = timedelta(days=15)
NOT_SHIPPED = (m.OrderStatus.PENDING_PAYMENT, m.OrderStatus.PAID)
ON_THE_WAY = (m.OrderStatus.SHIPPED, m.OrderStatus.IN_TRANSIT)


class OrderNotAccessible(Exception):
    """No such order for this requester (deliberately the same for 'does not exist')."""


class Reason(enum.StrEnum):
    """Why a rule said no; the action picks the response for it."""

    ALREADY_SHIPPED = "already_shipped"
    ALREADY_DELIVERED = "already_delivered"
    ALREADY_CANCELLED = "already_cancelled"
    NOT_DELIVERED = "not_delivered"
    RETURN_WINDOW_CLOSED = "return_window_closed"
    EXCHANGE_WINDOW_CLOSED = "exchange_window_closed"
    ALREADY_RETURNED = "already_returned"
    OUT_OF_STOCK = "out_of_stock"
    INVALID_VARIANT = "invalid_variant"
    NOTHING_TO_REFUND = "nothing_to_refund"
    NO_OTHER_VARIANT = "no_other_variant"


class NextStep(enum.StrEnum):
    """The next best thing to offer after a refusal."""

    RETURN_AFTER_DELIVERY = "return_after_delivery"
    REQUEST_RETURN = "request_return"
    CONTACT_CARRIER = "contact_carrier"
    TRACK_SHIPMENT = "track_shipment"
    WARRANTY = "warranty"
    OTHER_VARIANT = "other_variant"
    CHECK_REFUND_STATUS = "check_refund_status"
    CANCEL_ORDER = "cancel_order"
    HUMAN = "human"


class ChangeKind(enum.StrEnum):
    """The after-sales changes a shopper can ask for."""

    CANCEL = "cancel"
    ADDRESS = "address"
    RETURN = "return"
    EXCHANGE = "exchange"
    # "I want my money back": a cancel before shipping, a return after delivery.
    REFUND = "refund"


class RuleRefusal(Exception):
    def __init__(self, reason: Reason, next_step: NextStep) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.next_step = next_step


@dataclass(frozen=True)
class Requester:
    """A verified requester: a logged-in customer, or a guest who proved one order."""

    customer_id: int | None = None
    verified_order: str | None = None

    @property
    def actor(self) -> str:
        if self.customer_id is not None:
            return f"customer:{self.customer_id}"
        return f"guest:{self.verified_order}"


@dataclass(frozen=True)
class Item:
    id: int
    title_zh: str
    title_en: str
    quantity: int
    unit_price_cents: int
    color: str | None
    size: str | None
    product_id: int


@dataclass(frozen=True)
class TrackingStep:
    occurred_at: datetime
    location: str
    description_zh: str
    description_en: str


@dataclass(frozen=True)
class OrderSummary:
    order_number: str
    status: m.OrderStatus
    placed_at: datetime
    total_cents: int
    delivered_at: datetime | None
    items: tuple[Item, ...]
    carrier: str | None = None
    tracking_number: str | None = None
    tracking: tuple[TrackingStep, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class ChangeResult:
    """What a change did; `repeated` is True when it had already been done."""

    order_number: str
    action: str
    amount_cents: int = 0
    reference: int | None = None
    repeated: bool = False


@dataclass(frozen=True)
class ReturnableItem:
    """An item that can still be returned or exchanged, with what a return would refund."""

    item: Item
    quantity: int
    refund_cents: int


@dataclass(frozen=True)
class ChangePlan:
    """What a change would do, worked out before the shopper confirms it.

    `kind` is never REFUND: a refund request resolves to a cancel or a return.
    """

    kind: ChangeKind
    order_number: str
    refund_cents: int = 0
    items: tuple[ReturnableItem, ...] = ()


@dataclass(frozen=True)
class VariantOption:
    id: int
    color: str | None
    size: str | None
    stock: int


@dataclass(frozen=True)
class RefundInfo:
    amount_cents: int
    status: m.RefundStatus
    method: str
    created_at: datetime
    completed_at: datetime | None


@dataclass(frozen=True)
class SampleCustomer:
    id: int
    name: str
    order_numbers: list[str]


class OrderService:
    """The only way the assistant reads or changes orders."""

    def __init__(self, database: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self.database = database
        self.clock = clock

    # --- identity -------------------------------------------------------------------

    def verify_guest(self, order_number: str, phone: str) -> bool:
        """True when the phone (full or last 4 digits) is the one on this order."""
        number = normalize_order_number(order_number)
        if number is None:
            return False
        with self.database.session() as session:
            row = session.execute(
                select(m.Order.recipient_phone, m.Customer.phone)
                .join(m.Customer, m.Order.customer_id == m.Customer.id)
                .where(m.Order.order_number == number)
            ).first()
        # The delivery phone or the account phone proves the order. Without an order,
        # compare against a dummy anyway so timing does not tell that it is absent.
        phones = tuple(row) if row is not None else ("0000000000",)
        matched = any(phone_matches(phone, on_file) for on_file in phones)
        return row is not None and matched

    # --- reads ----------------------------------------------------------------------

    def order_summary(self, requester: Requester, order_number: str) -> OrderSummary:
        with self.database.session() as session:
            return self._summary(self._load(session, requester, order_number))

    def sample_customers(self, limit: int, orders_each: int = 3) -> list[SampleCustomer]:
        """The first `limit` customers and their latest order numbers, for a demo page
        that lets a visitor try the logged-in experience; never an answer to a shopper."""
        with self.database.session() as session:
            customers = session.scalars(select(m.Customer).order_by(m.Customer.id).limit(limit))
            return [
                SampleCustomer(
                    customer.id,
                    customer.name,
                    list(
                        session.scalars(
                            select(m.Order.order_number)
                            .where(m.Order.customer_id == customer.id)
                            .order_by(m.Order.placed_at.desc())
                            .limit(orders_each)
                        )
                    ),
                )
                for customer in customers
            ]

    def owns(self, requester: Requester, order_number: str) -> None:
        """Raises OrderNotAccessible unless the requester may see this order (one row)."""
        number = normalize_order_number(order_number)
        if number is None:
            raise OrderNotAccessible
        if requester.customer_id is None:
            if requester.verified_order != number:
                raise OrderNotAccessible
            return
        with self.database.session() as session:
            owner = session.scalar(
                select(m.Order.customer_id).where(m.Order.order_number == number)
            )
        if owner is None or owner != requester.customer_id:
            raise OrderNotAccessible

    def payment_method(self, requester: Requester, order_number: str) -> str | None:
        """How the order was paid (refunds go back the same way); one column, not the
        whole order with its items and shipments."""
        self.owns(requester, order_number)
        with self.database.session() as session:
            return session.scalar(
                select(m.Order.payment_method).where(
                    m.Order.order_number == normalize_order_number(order_number)
                )
            )

    def recent_orders(self, customer_id: int, limit: int = 3) -> list[OrderSummary]:
        with self.database.session() as session:
            orders = session.scalars(
                self._order_query()
                .where(m.Order.customer_id == customer_id)
                .order_by(m.Order.placed_at.desc())
                .limit(limit)
            ).all()
            return [self._summary(order) for order in orders]

    def refunds(self, requester: Requester, order_number: str) -> list[RefundInfo]:
        with self.database.session() as session:
            order = self._load(session, requester, order_number)
            return [
                RefundInfo(r.amount_cents, r.status, r.method, r.created_at, r.completed_at)
                for r in sorted(order.refunds, key=lambda r: r.created_at)
            ]

    # --- plans: what a change would do, checked against the rules before confirming -

    def plan_change(self, requester: Requester, order_number: str, kind: ChangeKind) -> ChangePlan:
        """The change the shopper asked for as it would be done now, or a RuleRefusal.

        The same rules run again inside the change itself: the order may move on
        between the plan and the confirmation.
        """
        with self.database.session() as session:
            order = self._load(session, requester, order_number)
            if kind == ChangeKind.REFUND:
                kind = self._refund_path(order)
            if kind == ChangeKind.CANCEL:
                self._check_cancellable(order, repeat_ok=False)
                paid = order.status == m.OrderStatus.PAID
                return ChangePlan(kind, order.order_number, order.total_cents if paid else 0)
            if kind == ChangeKind.ADDRESS:
                self._check_address_changeable(order)
                return ChangePlan(kind, order.order_number)
            window, late = (
                (RETURN_WINDOW, Reason.RETURN_WINDOW_CLOSED)
                if kind == ChangeKind.RETURN
                else (EXCHANGE_WINDOW, Reason.EXCHANGE_WINDOW_CLOSED)
            )
            self._check_delivered(order, window, late, NextStep.WARRANTY)
            items = []
            for item in order.items:
                left = item.quantity - self._returned(session, item.id)
                if left > 0:
                    amount = item_refund_cents(
                        left * item.unit_price_cents, order.subtotal_cents, order.discount_cents
                    )
                    items.append(ReturnableItem(self._item(item), left, amount))
            if not items:
                raise RuleRefusal(Reason.ALREADY_RETURNED, NextStep.CHECK_REFUND_STATUS)
            return ChangePlan(kind, order.order_number, items=tuple(items))

    def exchange_variants(
        self, requester: Requester, order_number: str, item_id: int
    ) -> list[VariantOption]:
        """Other sizes/colours of an item's product with enough stock to exchange into."""
        with self.database.session() as session:
            order = self._load(session, requester, order_number)
            item = next((i for i in order.items if i.id == item_id), None)
            if item is None:
                raise OrderNotAccessible
            variants = session.scalars(
                select(m.Variant)
                .where(
                    m.Variant.product_id == item.variant.product_id,
                    m.Variant.id != item.variant_id,
                    m.Variant.stock >= item.quantity,
                )
                .order_by(m.Variant.id)
            ).all()
            return [VariantOption(v.id, v.color, v.size, v.stock) for v in variants]

    # --- changes --------------------------------------------------------------------

    def cancel(self, requester: Requester, order_number: str) -> ChangeResult:
        with self.database.session() as session:
            order = self._load(session, requester, order_number, for_update=True)
            if order.status == m.OrderStatus.CANCELLED:
                return ChangeResult(order.order_number, "cancel", repeated=True)
            self._check_cancellable(order, repeat_ok=True)
            now = self.clock()
            refund = 0
            if order.status == m.OrderStatus.PAID:
                refund = order.total_cents
                session.add(
                    m.Refund(
                        order_id=order.id,
                        amount_cents=refund,
                        status=m.RefundStatus.PROCESSING,
                        method=order.payment_method or "original",
                        created_at=now,
                        idempotency_key=f"cancel:{order.order_number}",
                    )
                )
            order.status = m.OrderStatus.CANCELLED
            order.cancelled_at = now
            self._audit(session, requester, "cancel_order", order, {"refund_cents": refund})
            return ChangeResult(order.order_number, "cancel", amount_cents=refund)

    def change_address(
        self,
        requester: Requester,
        order_number: str,
        *,
        region: str,
        city: str,
        line1: str,
        postal_code: str,
        recipient: str | None = None,
        phone: str | None = None,
    ) -> ChangeResult:
        """Moves delivery to a new address; recipient and phone stay unless given."""
        with self.database.session() as session:
            order = self._load(session, requester, order_number, for_update=True)
            self._check_address_changeable(order)
            new = (
                recipient or order.recipient,
                phone or order.recipient_phone,
                region,
                city,
                line1,
                postal_code,
            )
            old = (
                order.recipient,
                order.recipient_phone,
                order.region,
                order.city,
                order.line1,
                order.postal_code,
            )
            if new == old:
                return ChangeResult(order.order_number, "change_address", repeated=True)
            (
                order.recipient,
                order.recipient_phone,
                order.region,
                order.city,
                order.line1,
                order.postal_code,
            ) = new
            # Personal data stays out of the audit details: only what changed.
            changed = [
                n
                for n, a, b in zip(
                    ("recipient", "phone", "region", "city", "line1", "postal_code"),
                    old,
                    new,
                    strict=True,
                )
                if a != b
            ]
            self._audit(session, requester, "change_address", order, {"fields": changed})
            return ChangeResult(order.order_number, "change_address")

    def request_return(
        self,
        requester: Requester,
        order_number: str,
        item_id: int,
        quantity: int,
        reason: str,
        idempotency_key: str,
    ) -> ChangeResult:
        with self.database.session() as session:
            order = self._load(session, requester, order_number, for_update=True)
            existing = self._existing(session, m.ReturnRequest, idempotency_key)
            if existing is not None:
                refund = session.scalar(
                    select(m.Refund.amount_cents).where(m.Refund.return_request_id == existing.id)
                )
                return ChangeResult(order.order_number, "return", refund or 0, existing.id, True)
            item = self._delivered_item(
                order, item_id, RETURN_WINDOW, Reason.RETURN_WINDOW_CLOSED, NextStep.WARRANTY
            )
            if quantity < 1 or quantity > item.quantity - self._returned(session, item.id):
                raise RuleRefusal(Reason.ALREADY_RETURNED, NextStep.CHECK_REFUND_STATUS)
            now = self.clock()
            request = m.ReturnRequest(
                order_id=order.id,
                order_item_id=item.id,
                quantity=quantity,
                reason=reason[:255],
                status=m.RequestStatus.REQUESTED,
                idempotency_key=idempotency_key,
                created_at=now,
            )
            session.add(request)
            session.flush()
            amount = item_refund_cents(
                quantity * item.unit_price_cents, order.subtotal_cents, order.discount_cents
            )
            session.add(
                m.Refund(
                    order_id=order.id,
                    return_request_id=request.id,
                    amount_cents=amount,
                    status=m.RefundStatus.PENDING,
                    method=order.payment_method or "original",
                    idempotency_key=f"return:{idempotency_key}",
                    created_at=now,
                )
            )
            self._audit(
                session,
                requester,
                "request_return",
                order,
                {"item_id": item.id, "quantity": quantity, "refund_cents": amount},
            )
            return ChangeResult(order.order_number, "return", amount, request.id)

    def request_exchange(
        self,
        requester: Requester,
        order_number: str,
        item_id: int,
        new_variant_id: int,
        idempotency_key: str,
    ) -> ChangeResult:
        with self.database.session() as session:
            order = self._load(session, requester, order_number, for_update=True)
            existing = self._existing(session, m.Exchange, idempotency_key)
            if existing is not None:
                return ChangeResult(order.order_number, "exchange", 0, existing.id, True)
            item = self._delivered_item(
                order, item_id, EXCHANGE_WINDOW, Reason.EXCHANGE_WINDOW_CLOSED, NextStep.WARRANTY
            )
            if self._returned(session, item.id) >= item.quantity:
                raise RuleRefusal(Reason.ALREADY_RETURNED, NextStep.CHECK_REFUND_STATUS)
            variant = session.scalar(
                select(m.Variant).where(m.Variant.id == new_variant_id).with_for_update()
            )
            if (
                variant is None
                or variant.id == item.variant_id
                or variant.product_id != item.variant.product_id
            ):
                raise RuleRefusal(Reason.INVALID_VARIANT, NextStep.OTHER_VARIANT)
            if variant.stock < item.quantity:
                raise RuleRefusal(Reason.OUT_OF_STOCK, NextStep.OTHER_VARIANT)
            variant.stock -= item.quantity
            exchange = m.Exchange(
                order_id=order.id,
                order_item_id=item.id,
                new_variant_id=variant.id,
                quantity=item.quantity,
                status=m.RequestStatus.REQUESTED,
                idempotency_key=idempotency_key,
                created_at=self.clock(),
            )
            session.add(exchange)
            session.flush()
            self._audit(
                session,
                requester,
                "request_exchange",
                order,
                {"item_id": item.id, "new_variant_id": variant.id},
            )
            return ChangeResult(order.order_number, "exchange", 0, exchange.id)

    # --- internals ------------------------------------------------------------------

    @staticmethod
    def _order_query() -> Select[m.Order]:
        return select(m.Order).options(
            selectinload(m.Order.items).selectinload(m.OrderItem.variant),
            selectinload(m.Order.shipments).selectinload(m.Shipment.events),
            selectinload(m.Order.refunds),
        )

    def _load(
        self, session: Session, requester: Requester, order_number: str, for_update: bool = False
    ) -> m.Order:
        number = normalize_order_number(order_number)
        if number is None:
            raise OrderNotAccessible
        if requester.customer_id is None and requester.verified_order != number:
            raise OrderNotAccessible
        query = self._order_query().where(m.Order.order_number == number)
        if for_update:
            query = query.with_for_update(of=m.Order)
        order = session.scalar(query)
        if order is None or (
            requester.customer_id is not None and order.customer_id != requester.customer_id
        ):
            raise OrderNotAccessible
        return order

    @staticmethod
    def _existing(session: Session, model: type[_Keyed], idempotency_key: str) -> _Keyed | None:
        """The row an earlier identical request created, if any."""
        return session.scalar(select(model).where(model.idempotency_key == idempotency_key))

    @staticmethod
    def _refund_path(order: m.Order) -> ChangeKind:
        if order.status == m.OrderStatus.PENDING_PAYMENT:
            raise RuleRefusal(Reason.NOTHING_TO_REFUND, NextStep.CANCEL_ORDER)
        if order.status == m.OrderStatus.CANCELLED:
            raise RuleRefusal(Reason.ALREADY_CANCELLED, NextStep.CHECK_REFUND_STATUS)
        if order.status == m.OrderStatus.PAID:
            return ChangeKind.CANCEL
        if order.status in ON_THE_WAY:
            raise RuleRefusal(Reason.ALREADY_SHIPPED, NextStep.RETURN_AFTER_DELIVERY)
        return ChangeKind.RETURN

    @staticmethod
    def _check_cancellable(order: m.Order, repeat_ok: bool) -> None:
        if order.status == m.OrderStatus.CANCELLED and not repeat_ok:
            raise RuleRefusal(Reason.ALREADY_CANCELLED, NextStep.CHECK_REFUND_STATUS)
        if order.status in ON_THE_WAY:
            raise RuleRefusal(Reason.ALREADY_SHIPPED, NextStep.RETURN_AFTER_DELIVERY)
        if order.status not in NOT_SHIPPED:
            raise RuleRefusal(Reason.ALREADY_DELIVERED, NextStep.REQUEST_RETURN)

    @staticmethod
    def _check_address_changeable(order: m.Order) -> None:
        if order.status == m.OrderStatus.CANCELLED:
            raise RuleRefusal(Reason.ALREADY_CANCELLED, NextStep.HUMAN)
        if order.status not in NOT_SHIPPED:
            raise RuleRefusal(Reason.ALREADY_SHIPPED, NextStep.CONTACT_CARRIER)

    def _check_delivered(
        self, order: m.Order, window: timedelta, late: Reason, next_step: NextStep
    ) -> None:
        if order.status == m.OrderStatus.CANCELLED:
            raise RuleRefusal(Reason.ALREADY_CANCELLED, NextStep.CHECK_REFUND_STATUS)
        if order.status not in (m.OrderStatus.DELIVERED, m.OrderStatus.RETURNED) or (
            order.delivered_at is None
        ):
            raise RuleRefusal(Reason.NOT_DELIVERED, NextStep.TRACK_SHIPMENT)
        if self.clock() - order.delivered_at > window:
            raise RuleRefusal(late, next_step)

    def _delivered_item(
        self, order: m.Order, item_id: int, window: timedelta, late: Reason, next_step: NextStep
    ) -> m.OrderItem:
        self._check_delivered(order, window, late, next_step)
        item = next((i for i in order.items if i.id == item_id), None)
        if item is None:
            raise OrderNotAccessible
        return item

    @staticmethod
    def _returned(session: Session, item_id: int) -> int:
        return int(
            session.scalar(
                select(func.coalesce(func.sum(m.ReturnRequest.quantity), 0)).where(
                    m.ReturnRequest.order_item_id == item_id,
                    m.ReturnRequest.status != m.RequestStatus.REJECTED,
                )
            )
            or 0
        )

    def _audit(
        self,
        session: Session,
        requester: Requester,
        action: str,
        order: m.Order,
        details: dict[str, object],
    ) -> None:
        session.add(
            m.AuditLog(
                actor=requester.actor,
                action=action,
                entity="orders",
                entity_id=order.id,
                details=details,
                created_at=self.clock(),
            )
        )

    @staticmethod
    def _summary(order: m.Order) -> OrderSummary:
        shipment = order.shipments[-1] if order.shipments else None
        return OrderSummary(
            order_number=order.order_number,
            status=order.status,
            placed_at=order.placed_at,
            total_cents=order.total_cents,
            delivered_at=order.delivered_at,
            items=tuple(OrderService._item(i) for i in order.items),
            carrier=shipment.carrier if shipment else None,
            tracking_number=shipment.tracking_number if shipment else None,
            tracking=tuple(
                TrackingStep(e.occurred_at, e.location, e.description_zh, e.description_en)
                for e in (shipment.events if shipment else [])
            ),
        )

    @staticmethod
    def _item(item: m.OrderItem) -> Item:
        return Item(
            item.id,
            item.title_zh,
            item.title_en,
            item.quantity,
            item.unit_price_cents,
            item.variant.color,
            item.variant.size,
            item.variant.product_id,
        )
