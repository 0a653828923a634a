"""Money rules shared by the seed data and the after-sales flows. Integer cents only."""

from __future__ import annotations


def item_refund_cents(item_subtotal: int, order_subtotal: int, order_discount: int) -> int:
    """What returning items worth `item_subtotal` gives back: their price less their
    share of the order-level discount (rounded down, so the store never refunds more
    than was paid). Shipping is not refunded for a no-reason return."""
    if order_subtotal <= 0 or item_subtotal <= 0:
        return 0
    paid_for_goods = order_subtotal - order_discount
    return item_subtotal * paid_for_goods // order_subtotal
