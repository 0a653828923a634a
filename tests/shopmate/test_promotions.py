"""The best coupon combination for a cart: exact cents, one rule per test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shopmate.db.models import CouponKind
from shopmate.promotions import (
    AppliedCoupon,
    CartLine,
    CouponRule,
    NearMiss,
    Rejection,
    RejectReason,
    best_offer,
    near_misses,
)

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
DAY = timedelta(days=1)


def line(category: str, unit_price_cents: int, quantity: int = 1, variant_id: int = 1) -> CartLine:
    return CartLine(
        variant_id=variant_id,
        product_id=variant_id,
        category=category,
        title_zh=f"{category}商品",
        title_en=f"{category} item",
        unit_price_cents=unit_price_cents,
        quantity=quantity,
    )


def coupon(
    code: str,
    kind: CouponKind,
    *,
    threshold: int = 0,
    amount: int = 0,
    percent: int = 0,
    category: str | None = None,
    stackable: bool = False,
    starts_at: datetime = NOW - 10 * DAY,
    expires_at: datetime = NOW + 10 * DAY,
) -> CouponRule:
    return CouponRule(
        code=code,
        title_zh=f"{code}券",
        title_en=f"{code} coupon",
        kind=kind,
        threshold_cents=threshold,
        amount_cents=amount,
        percent_off=percent,
        category=category,
        stackable=stackable,
        starts_at=starts_at,
        expires_at=expires_at,
    )


# The seeded store's coupons (shopmate/db/seed.py).
FULL300_50 = coupon("FULL300-50", CouponKind.THRESHOLD, threshold=30000, amount=5000)
FULL199_20 = coupon("FULL199-20", CouponKind.THRESHOLD, threshold=19900, amount=2000)
DRESS10 = coupon("DRESS10", CouponKind.PERCENT, percent=10, category="dresses")
NEW10 = coupon("NEW10", CouponKind.FIXED, amount=1000, stackable=True)
# A second platform coupon, like the student coupon (满100减15).
STUDENT15 = coupon("STUDENT15", CouponKind.THRESHOLD, threshold=10000, amount=1500, stackable=True)


def codes(offer_applied: tuple[AppliedCoupon, ...]) -> list[str]:
    return [a.code for a in offer_applied]


def reasons(rejected: tuple[Rejection, ...]) -> dict[str, RejectReason]:
    return {r.code: r.reason for r in rejected}


def test_threshold_beats_category_percent_and_the_platform_coupon_stacks() -> None:
    # ¥200 dress + ¥150 bag: 满300减50 saves ¥50, 连衣裙9折 only ¥20; NEW10 adds ¥10.
    lines = [line("dresses", 20000), line("bags", 15000, variant_id=2)]
    offer = best_offer(lines, [FULL300_50, DRESS10, NEW10], NOW)

    assert offer.applied == (
        AppliedCoupon("FULL300-50", "FULL300-50券", "FULL300-50 coupon", 5000),
        AppliedCoupon("NEW10", "NEW10券", "NEW10 coupon", 1000),
    )
    assert (offer.subtotal_cents, offer.saving_cents, offer.total_cents) == (35000, 6000, 29000)
    assert offer.rejected == (
        Rejection(
            "DRESS10",
            "DRESS10券",
            "DRESS10 coupon",
            RejectReason.NOT_STACKABLE,
            conflicts_with="FULL300-50",
        ),
    )


def test_percent_on_dresses_wins_when_the_dresses_cost_more() -> None:
    # ¥600 of dresses: 9折 saves ¥60 > 满300减50's ¥50.
    offer = best_offer([line("dresses", 30000, quantity=2)], [FULL300_50, DRESS10, NEW10], NOW)

    assert [(a.code, a.saving_cents) for a in offer.applied] == [("DRESS10", 6000), ("NEW10", 1000)]
    assert offer.total_cents == 53000
    assert reasons(offer.rejected) == {"FULL300-50": RejectReason.NOT_STACKABLE}


def test_only_one_store_and_one_platform_coupon_per_order() -> None:
    # The knowledge article: two store coupons or two platform coupons never combine.
    lines = [line("bags", 40000)]
    offer = best_offer(lines, [FULL199_20, FULL300_50, NEW10, STUDENT15], NOW)

    assert [(a.code, a.saving_cents) for a in offer.applied] == [
        ("FULL300-50", 5000),
        ("STUDENT15", 1500),
    ]
    assert offer.total_cents == 33500
    assert {r.code: (r.reason, r.conflicts_with) for r in offer.rejected} == {
        "FULL199-20": (RejectReason.NOT_STACKABLE, "FULL300-50"),
        "NEW10": (RejectReason.NOT_STACKABLE, "STUDENT15"),
    }


def test_percent_saving_rounds_down_to_whole_cents() -> None:
    offer = best_offer([line("dresses", 9999)], [DRESS10], NOW)

    assert offer.saving_cents == 999
    assert offer.total_cents == 9000


def test_category_coupon_discounts_only_its_category_on_a_mixed_cart() -> None:
    lines = [line("dresses", 10000), line("bags", 30000, variant_id=2)]
    offer = best_offer(lines, [DRESS10], NOW)

    assert [(a.code, a.saving_cents) for a in offer.applied] == [("DRESS10", 1000)]
    assert offer.total_cents == 39000


def test_category_threshold_counts_only_its_category() -> None:
    # ¥400 in the cart, but only ¥100 of dresses: a 满200 dress coupon is ¥100 short.
    dress_coupon = coupon(
        "DRESS200-30", CouponKind.THRESHOLD, threshold=20000, amount=3000, category="dresses"
    )
    lines = [line("dresses", 10000), line("bags", 30000, variant_id=2)]
    offer = best_offer(lines, [dress_coupon], NOW)

    assert offer.applied == ()
    assert offer.rejected[0].reason == RejectReason.BELOW_THRESHOLD
    assert offer.rejected[0].missing_cents == 10000


def test_category_coupon_without_its_items_is_rejected_and_no_near_miss() -> None:
    offer = best_offer([line("bags", 30000)], [DRESS10], NOW)

    assert offer.applied == ()
    assert reasons(offer.rejected) == {"DRESS10": RejectReason.NO_ELIGIBLE_ITEMS}
    assert offer.near_misses == ()


def test_expired_and_not_started_coupons_are_rejected_with_the_reason() -> None:
    expired = coupon(
        "SUMMER30",
        CouponKind.THRESHOLD,
        threshold=20000,
        amount=3000,
        starts_at=NOW - 120 * DAY,
        expires_at=NOW - 30 * DAY,
    )
    ends_now = coupon("ENDSNOW", CouponKind.FIXED, amount=500, expires_at=NOW)
    starts_now = coupon("STARTSNOW", CouponKind.FIXED, amount=400, starts_at=NOW)
    later = coupon("LATER", CouponKind.FIXED, amount=9000, starts_at=NOW + DAY)
    offer = best_offer([line("bags", 30000)], [expired, ends_now, starts_now, later], NOW)

    assert [(a.code, a.saving_cents) for a in offer.applied] == [("STARTSNOW", 400)]
    assert reasons(offer.rejected) == {
        "SUMMER30": RejectReason.EXPIRED,
        "ENDSNOW": RejectReason.EXPIRED,  # valid while now < expires_at
        "LATER": RejectReason.NOT_STARTED,
    }
    assert offer.near_misses == ()  # an expired coupon is never worth spending more for


def test_near_miss_says_how_much_more_to_spend() -> None:
    # ¥270: 满199减20 applies; 满300减50 is ¥30 away.
    lines = [line("tops", 13500, quantity=2)]
    offer = best_offer(lines, [FULL300_50, FULL199_20], NOW)

    assert [(a.code, a.saving_cents) for a in offer.applied] == [("FULL199-20", 2000)]
    assert offer.total_cents == 25000
    assert offer.near_misses == (
        NearMiss("FULL300-50", "FULL300-50券", "FULL300-50 coupon", None, 3000, 5000),
    )
    assert {r.code: (r.reason, r.missing_cents) for r in offer.rejected} == {
        "FULL300-50": (RejectReason.BELOW_THRESHOLD, 3000)
    }


def test_near_misses_come_smallest_gap_first() -> None:
    percent_over_500 = coupon("BIG8", CouponKind.PERCENT, threshold=50000, percent=8)
    misses = near_misses([line("tops", 10000)], [percent_over_500, FULL300_50, FULL199_20], NOW)

    assert [(m.code, m.missing_cents, m.saving_cents) for m in misses] == [
        ("FULL199-20", 9900, 2000),
        ("FULL300-50", 20000, 5000),
        ("BIG8", 40000, 4000),
    ]


def test_total_never_goes_below_zero() -> None:
    big_store = coupon("STORE8", CouponKind.FIXED, amount=800)
    offer = best_offer([line("home", 500)], [big_store, NEW10], NOW)

    # Either coupon alone already makes it free: one coupon beats two.
    assert (offer.subtotal_cents, offer.saving_cents, offer.total_cents) == (500, 500, 0)
    assert len(offer.applied) == 1
    assert offer.applied[0].saving_cents == 500


def test_a_fixed_amount_never_exceeds_its_eligible_subtotal() -> None:
    dress_voucher = coupon("DRESS100", CouponKind.FIXED, amount=10000, category="dresses")
    lines = [line("dresses", 3000), line("bags", 30000, variant_id=2)]
    offer = best_offer(lines, [dress_voucher], NOW)

    assert offer.saving_cents == 3000
    assert offer.total_cents == 30000


def test_stacked_coupons_never_take_more_off_a_category_than_it_costs() -> None:
    platform_dress = coupon(
        "DRESSPLAT", CouponKind.FIXED, amount=950, category="dresses", stackable=True
    )
    lines = [line("dresses", 1000), line("bags", 30000, variant_id=2)]
    offer = best_offer(lines, [DRESS10, platform_dress], NOW)

    # 9折 takes ¥1 off the ¥10 dress; the ¥9.50 platform coupon gets only the ¥9 left.
    assert [(a.code, a.saving_cents) for a in offer.applied] == [
        ("DRESS10", 100),
        ("DRESSPLAT", 900),
    ]
    assert offer.total_cents == 30000


def test_ties_go_to_fewer_coupons() -> None:
    whole = coupon("STORE10", CouponKind.FIXED, amount=1000)
    half = coupon("STORE5", CouponKind.FIXED, amount=500)
    platform_half = coupon("PLAT5", CouponKind.FIXED, amount=500, stackable=True)
    offer = best_offer([line("home", 1000)], [half, platform_half, whole], NOW)

    assert codes(offer.applied) == ["STORE10"]
    assert offer.total_cents == 0
    assert reasons(offer.rejected) == {
        "STORE5": RejectReason.NOT_STACKABLE,
        "PLAT5": RejectReason.NOT_IN_BEST,  # combinable, but nothing is left to take off
    }


@pytest.mark.parametrize("lines", [[], [line("home", 0)]])
def test_empty_cart_has_nothing_to_discount(lines: list[CartLine]) -> None:
    offer = best_offer(lines, [FULL300_50, NEW10], NOW)

    assert (offer.applied, offer.total_cents, offer.saving_cents) == ((), 0, 0)
    assert set(reasons(offer.rejected).values()) == {RejectReason.NO_ELIGIBLE_ITEMS}
