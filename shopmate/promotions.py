"""The cheapest coupon combination for a cart, and why the other coupons were not used.

Pure logic over plain values: no database, no Rasa. Money is integer cents (CNY).

Rules (they follow data/knowledge/{zh,en}/coupons.md and coupon-stacking.md, which is
what the assistant tells shoppers):

- Validity: a coupon can be used when ``starts_at <= now < expires_at``.
- Scope: a coupon with a ``category`` applies to that category's lines only (品类券,
  e.g. 连衣裙9折); without one it applies to the whole cart.
- Thresholds and percentages are evaluated on the coupon's eligible subtotal (its
  scope's lines at the prices given, before any coupon; shipping is never part of a
  cart line). The threshold is inclusive: 满300 means a subtotal of ¥300 or more.
  A threshold on any kind counts: 'threshold' is 满X减Y, 'percent' may have one,
  'fixed' normally has none.
- Percent off rounds the saving DOWN to whole cents, so the store never gives more
  than the rule says (¥99.99 at 10% off saves ¥9.99, not ¥10.00).
- One store coupon plus one platform coupon per order, at most. ``stackable`` marks a
  platform coupon (new-user, student, member-birthday coupons); store coupons
  (满减券 and 品类券) are not stackable. Two store coupons, or two platform coupons,
  cannot be used together (the knowledge articles say so; "stackable coupons combine
  with each other" would contradict what the assistant tells shoppers).
- Savings: within a combination the store coupon applies first, then the platform
  coupon. A coupon never saves more than its eligible subtotal less what earlier
  coupons of the same scope (or a narrower one inside it) already took off, and never
  more than what is left of the order: the total never goes below 0.
- Best offer: every allowed combination is tried (at most one of each class, so
  ``(store + 1) * (platform + 1)`` combinations, exhaustive for any number of
  coupons); the lowest total wins, ties go to fewer coupons, then to the codes in
  alphabetical order so the answer is stable.
- Member prices (Silver/Gold 95折) come first and points come last in the shop's
  order of calculation: the caller passes line prices after any member discount,
  and points are applied by checkout on ``total_cents``; neither is modelled here.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from shopmate.db.models import CouponKind


@dataclass(frozen=True)
class CartLine:
    variant_id: int
    product_id: int
    category: str
    title_zh: str
    title_en: str
    unit_price_cents: int
    quantity: int

    @property
    def subtotal_cents(self) -> int:
        return self.unit_price_cents * self.quantity


@dataclass(frozen=True)
class CouponRule:
    code: str
    title_zh: str
    title_en: str
    kind: CouponKind
    threshold_cents: int
    amount_cents: int
    percent_off: int
    category: str | None  # None: the whole cart
    stackable: bool  # True: a platform coupon, combinable with one store coupon
    starts_at: datetime
    expires_at: datetime


class RejectReason(enum.StrEnum):
    """Why a coupon is not part of the best offer; the action picks the wording."""

    EXPIRED = "expired"
    NOT_STARTED = "not_started"
    BELOW_THRESHOLD = "below_threshold"  # see Rejection.missing_cents
    NO_ELIGIBLE_ITEMS = "no_eligible_items"
    # Usable, but the best offer already has a coupon of its class (store/platform).
    NOT_STACKABLE = "not_stackable"  # see Rejection.conflicts_with
    # Usable and combinable, but it would take nothing more off this cart.
    NOT_IN_BEST = "not_in_best"


@dataclass(frozen=True)
class AppliedCoupon:
    code: str
    title_zh: str
    title_en: str
    saving_cents: int


@dataclass(frozen=True)
class Rejection:
    code: str
    title_zh: str
    title_en: str
    reason: RejectReason
    missing_cents: int = 0  # BELOW_THRESHOLD: how much more the eligible items need
    conflicts_with: str | None = None  # NOT_STACKABLE: the chosen coupon of its class


@dataclass(frozen=True)
class NearMiss:
    """A valid coupon the cart misses only by its threshold ("add ¥30 more for ¥50 off").

    `saving_cents` is what the coupon itself takes off at exactly the threshold; it is
    not the gain over the current best offer (a store coupon would replace another).
    """

    code: str
    title_zh: str
    title_en: str
    category: str | None  # the spend must be in this category; None: anything
    missing_cents: int
    saving_cents: int


@dataclass(frozen=True)
class Offer:
    applied: tuple[AppliedCoupon, ...]
    subtotal_cents: int
    saving_cents: int
    total_cents: int
    rejected: tuple[Rejection, ...]
    near_misses: tuple[NearMiss, ...]


def eligible_subtotal(lines: Sequence[CartLine], coupon: CouponRule) -> int:
    """What the coupon's scope costs: the whole cart, or its category's lines."""
    return sum(
        line.subtotal_cents
        for line in lines
        if coupon.category is None or line.category == coupon.category
    )


def rule_saving(coupon: CouponRule, eligible_cents: int) -> int:
    """What the coupon's rule takes off an eligible subtotal that meets its threshold,
    on its own: percent rounded down, an amount never above the subtotal."""
    if coupon.kind == CouponKind.PERCENT:
        return eligible_cents * coupon.percent_off // 100
    return min(coupon.amount_cents, eligible_cents)


def _unusable_reason(
    lines: Sequence[CartLine], coupon: CouponRule, now: datetime
) -> Rejection | None:
    """Why the coupon cannot be used on this cart at all, or None when it can."""

    def reject(reason: RejectReason, missing_cents: int = 0) -> Rejection:
        return Rejection(coupon.code, coupon.title_zh, coupon.title_en, reason, missing_cents)

    if now < coupon.starts_at:
        return reject(RejectReason.NOT_STARTED)
    if now >= coupon.expires_at:
        return reject(RejectReason.EXPIRED)
    eligible = eligible_subtotal(lines, coupon)
    if eligible == 0:
        return reject(RejectReason.NO_ELIGIBLE_ITEMS)
    if eligible < coupon.threshold_cents:
        return reject(RejectReason.BELOW_THRESHOLD, coupon.threshold_cents - eligible)
    return None


def _within(inner: str | None, outer: str | None) -> bool:
    """True when scope `inner` lies inside scope `outer` (None is the whole cart)."""
    return outer is None or inner == outer


def _apply(
    combination: Sequence[CouponRule], eligible: dict[str, int], subtotal: int
) -> tuple[AppliedCoupon, ...]:
    """The savings of a combination, store coupon first (see the module rules)."""
    applied: list[AppliedCoupon] = []
    taken: list[tuple[CouponRule, int]] = []
    left = subtotal
    for coupon in sorted(combination, key=lambda c: c.stackable):
        in_scope = eligible[coupon.code]
        already = sum(s for earlier, s in taken if _within(earlier.category, coupon.category))
        saving = max(0, min(rule_saving(coupon, in_scope), in_scope - already, left))
        taken.append((coupon, saving))
        left -= saving
        applied.append(AppliedCoupon(coupon.code, coupon.title_zh, coupon.title_en, saving))
    return tuple(applied)


def near_misses(
    lines: Sequence[CartLine], coupons: Sequence[CouponRule], now: datetime
) -> tuple[NearMiss, ...]:
    """Valid coupons the cart is below the threshold of, the smallest gap first.

    A category coupon with none of its items in the cart is not a near miss: the
    shopper would have to start shopping a category, not add a little more.
    """
    misses = []
    for coupon in coupons:
        rejection = _unusable_reason(lines, coupon, now)
        if rejection is None or rejection.reason != RejectReason.BELOW_THRESHOLD:
            continue
        misses.append(
            NearMiss(
                coupon.code,
                coupon.title_zh,
                coupon.title_en,
                coupon.category,
                rejection.missing_cents,
                rule_saving(coupon, coupon.threshold_cents),
            )
        )
    return tuple(sorted(misses, key=lambda miss: (miss.missing_cents, miss.code)))


def best_offer(lines: Sequence[CartLine], coupons: Sequence[CouponRule], now: datetime) -> Offer:
    """The cheapest allowed coupon combination for the cart at `now`, with the reason
    each other coupon was left out and the thresholds the cart narrowly misses.

    Coupon codes are unique (they are in the database).
    """
    subtotal = sum(line.subtotal_cents for line in lines)
    unusable: dict[str, Rejection] = {}
    usable: list[CouponRule] = []
    for coupon in coupons:
        rejection = _unusable_reason(lines, coupon, now)
        if rejection is None:
            usable.append(coupon)
        else:
            unusable[coupon.code] = rejection
    eligible = {coupon.code: eligible_subtotal(lines, coupon) for coupon in usable}

    # One store coupon and one platform coupon at most: each slot is one of its class
    # or empty, so every allowed combination is a pair and the search is exhaustive.
    store: list[CouponRule | None] = [None, *(c for c in usable if not c.stackable)]
    platform: list[CouponRule | None] = [None, *(c for c in usable if c.stackable)]
    best: tuple[AppliedCoupon, ...] = ()
    best_key: tuple[int, int, tuple[str, ...]] = (subtotal, 0, ())
    for store_coupon in store:
        for platform_coupon in platform:
            combination = [c for c in (store_coupon, platform_coupon) if c is not None]
            applied = _apply(combination, eligible, subtotal)
            total = subtotal - sum(a.saving_cents for a in applied)
            key = (total, len(applied), tuple(sorted(a.code for a in applied)))
            if key < best_key:
                best, best_key = applied, key

    chosen = {a.code for a in best}
    chosen_of_class = {c.stackable: c.code for c in usable if c.code in chosen}
    rejected = []
    for coupon in coupons:
        if coupon.code in chosen:
            continue
        if coupon.code in unusable:
            rejected.append(unusable[coupon.code])
            continue
        rival = chosen_of_class.get(coupon.stackable)
        reason = RejectReason.NOT_IN_BEST if rival is None else RejectReason.NOT_STACKABLE
        rejected.append(
            Rejection(coupon.code, coupon.title_zh, coupon.title_en, reason, conflicts_with=rival)
        )

    saving = sum(a.saving_cents for a in best)
    return Offer(
        applied=best,
        subtotal_cents=subtotal,
        saving_cents=saving,
        total_cents=subtotal - saving,
        rejected=tuple(rejected),
        near_misses=near_misses(lines, coupons, now),
    )
