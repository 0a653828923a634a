from shopmate.db.pricing import item_refund_cents


def test_refund_is_the_item_price_without_a_discount() -> None:
    assert item_refund_cents(12900, 25800, 0) == 12900


def test_order_discount_is_shared_across_items() -> None:
    # ¥400 of goods with ¥50 off: returning a ¥100 item gives back ¥87.50.
    assert item_refund_cents(10000, 40000, 5000) == 8750


def test_all_items_returned_gives_back_exactly_what_was_paid_for_goods() -> None:
    assert item_refund_cents(40000, 40000, 5000) == 35000


def test_rounding_never_refunds_more_than_paid() -> None:
    assert item_refund_cents(3333, 10000, 1) <= 3333 * 9999 / 10000
    assert item_refund_cents(0, 10000, 0) == 0
