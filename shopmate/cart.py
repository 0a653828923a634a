"""Shopping carts in the order database, and the coupons the store offers.

A logged-in customer has one cart by customer id (it follows them across
conversations); a guest's cart belongs to the conversation that made it. Calls block
on the database: the actions run them in an executor. Carts hold no stock: the stock
check on adding only stops one cart asking for more than the store has.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shopmate.db import models as m
from shopmate.db.columns import utcnow
from shopmate.db.session import Database
from shopmate.promotions import CartLine, CouponRule


class CartNotFound(LookupError):
    """No cart with this id: carts come from `cart_for`, so this is a caller's bug."""


@dataclass(frozen=True)
class Added:
    line: CartLine  # the variant's line as it is now, quantity included


@dataclass(frozen=True)
class OutOfStock:
    variant_id: int
    requested: int
    in_cart: int  # already in the cart before this request
    stock: int

    @property
    def can_add(self) -> int:
        """How many more the shopper could add instead (0 when none)."""
        return max(0, self.stock - self.in_cart)


@dataclass(frozen=True)
class UnknownVariant:
    variant_id: int


AddResult = Added | OutOfStock | UnknownVariant


@dataclass(frozen=True)
class VariantChoice:
    """One variant a shopper can pick, with its stock now."""

    id: int
    color: str | None
    size: str | None
    stock: int


class CartRepository:
    """The only way the assistant reads or changes carts."""

    def __init__(self, database: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self.database = database
        self.clock = clock

    def cart_for(self, customer_id: int | None, conversation_id: str) -> int:
        """The id of the shopper's cart, created when missing.

        A customer's cart is found by customer id only; a guest's by conversation id
        among guest carts only, so a guest never reaches a customer's cart.
        """
        query = select(m.Cart.id).order_by(m.Cart.id).limit(1)
        if customer_id is not None:
            query = query.where(m.Cart.customer_id == customer_id)
        else:
            query = query.where(
                m.Cart.customer_id.is_(None), m.Cart.conversation_id == conversation_id
            )
        with self.database.session() as session:
            found = session.scalar(query)
            if found is not None:
                return found
            now = self.clock()
            cart = m.Cart(
                customer_id=customer_id,
                conversation_id=conversation_id,
                created_at=now,
                updated_at=now,
            )
            session.add(cart)
            session.flush()
            return cart.id

    def add_item(self, cart_id: int, variant_id: int, quantity: int = 1) -> AddResult:
        """Add `quantity` of a variant, merging with the line already there; refused
        when the variant is unknown or the cart would hold more than its stock."""
        if quantity <= 0:
            raise ValueError("quantity must be positive")
        with self.database.session() as session:
            cart = self._cart(session, cart_id)
            # Lock the variant row (PostgreSQL) so two adds to the same cart cannot
            # both pass the stock check or both insert the line.
            variant = session.scalar(
                select(m.Variant).where(m.Variant.id == variant_id).with_for_update()
            )
            if variant is None:
                return UnknownVariant(variant_id)
            item = session.scalar(
                select(m.CartItem).where(
                    m.CartItem.cart_id == cart_id, m.CartItem.variant_id == variant_id
                )
            )
            in_cart = item.quantity if item is not None else 0
            if in_cart + quantity > variant.stock:
                return OutOfStock(variant_id, quantity, in_cart, variant.stock)
            if item is None:
                item = m.CartItem(cart_id=cart_id, variant_id=variant_id, quantity=quantity)
                session.add(item)
            else:
                item.quantity += quantity
            cart.updated_at = self.clock()
            session.flush()
            return Added(_line(item.quantity, variant, variant.product))

    def remove_item(self, cart_id: int, variant_id: int, quantity: int | None = None) -> int:
        """Take `quantity` of a variant out of the cart (all of it when None); returns
        how many are left in the cart (0 when the line is gone or never was there)."""
        if quantity is not None and quantity <= 0:
            raise ValueError("quantity must be positive")
        with self.database.session() as session:
            cart = self._cart(session, cart_id)
            item = session.scalar(
                select(m.CartItem).where(
                    m.CartItem.cart_id == cart_id, m.CartItem.variant_id == variant_id
                )
            )
            if item is None:
                return 0
            left = 0 if quantity is None else max(0, item.quantity - quantity)
            if left == 0:
                session.delete(item)
            else:
                item.quantity = left
            cart.updated_at = self.clock()
            return left

    def variants_of(self, product_id: int) -> list[VariantChoice]:
        """A product's variants in catalog order, stock read fresh."""
        with self.database.session() as session:
            rows = session.scalars(
                select(m.Variant).where(m.Variant.product_id == product_id).order_by(m.Variant.id)
            )
            return [VariantChoice(v.id, v.color, v.size, v.stock) for v in rows]

    def lines(self, cart_id: int) -> list[CartLine]:
        """The cart's lines at current variant prices, in the order they were added."""
        with self.database.session() as session:
            self._cart(session, cart_id)
            rows = session.execute(
                select(m.CartItem.quantity, m.Variant, m.Product)
                .join(m.Variant, m.CartItem.variant_id == m.Variant.id)
                .join(m.Product, m.Variant.product_id == m.Product.id)
                .where(m.CartItem.cart_id == cart_id)
                .order_by(m.CartItem.id)
            ).all()
            return [_line(quantity, variant, product) for quantity, variant, product in rows]

    def active_coupons(self, now: datetime) -> list[CouponRule]:
        """Every coupon row, by code, expired and not-yet-started ones included:
        `best_offer(lines, coupons, now)` judges validity so it can say why a coupon
        the shopper holds does not work. `now` is the caller's clock, taken for
        symmetry with best_offer; no row is filtered by it."""
        with self.database.session() as session:
            coupons = session.scalars(select(m.Coupon).order_by(m.Coupon.code)).all()
            return [
                CouponRule(
                    code=c.code,
                    title_zh=c.title_zh,
                    title_en=c.title_en,
                    kind=c.kind,
                    threshold_cents=c.threshold_cents,
                    amount_cents=c.amount_cents,
                    percent_off=c.percent_off,
                    category=c.category,
                    stackable=c.stackable,
                    starts_at=c.starts_at,
                    expires_at=c.expires_at,
                )
                for c in coupons
            ]

    @staticmethod
    def _cart(session: Session, cart_id: int) -> m.Cart:
        cart = session.get(m.Cart, cart_id)
        if cart is None:
            raise CartNotFound(cart_id)
        return cart


def _line(quantity: int, variant: m.Variant, product: m.Product) -> CartLine:
    return CartLine(
        variant_id=variant.id,
        product_id=product.id,
        category=product.category,
        title_zh=product.title_zh,
        title_en=product.title_en,
        unit_price_cents=variant.price_cents,
        quantity=quantity,
    )
