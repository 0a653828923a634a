"""The recommender on small hand-made histories whose right answer is known."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from shopmate.db import models as m
from shopmate.db.seed import SeedConfig, SeedGenerator, seed_database
from shopmate.db.session import Database
from shopmate.recommend import (
    Interactions,
    ProductMeta,
    Purchase,
    Recommender,
    product_meta_from_database,
    product_meta_from_rows,
)

NOW = datetime(2026, 11, 23, tzinfo=UTC)

# A small shop: a red dress and things that go with it, and a few others.
DRESS, RED_SHOES, RED_BAG, BLACK_SHOES, BLACK_BAG = 1, 2, 3, 4, 5
RED_SHOES_2, RED_BAG_2, TOP, TROUSERS, SOLD_OUT, MUG = 6, 7, 8, 9, 10, 11
META = {
    DRESS: ProductMeta("dresses", 4.5, True, "red"),
    RED_SHOES: ProductMeta("casual_shoes", 4.0, True, "red"),
    RED_BAG: ProductMeta("bags", 4.2, True, "red"),
    BLACK_SHOES: ProductMeta("casual_shoes", 5.0, True, "black"),
    BLACK_BAG: ProductMeta("bags", 5.0, True, "black"),
    RED_SHOES_2: ProductMeta("casual_shoes", 4.8, True, "red"),
    RED_BAG_2: ProductMeta("bags", 4.9, True, "red"),
    TOP: ProductMeta("tops", 4.1, True, "white"),
    TROUSERS: ProductMeta("trousers", 4.3, True, "blue"),
    SOLD_OUT: ProductMeta("tops", 4.9, False, "red"),
    MUG: ProductMeta("home", 3.9, True, "white"),
}


def bought(customer: int, product: int, days_ago: float = 1.0) -> Purchase:
    return Purchase(customer, product, NOW - timedelta(days=days_ago))


def build(purchases: list[Purchase], **options: object) -> Recommender:
    return Recommender.build(Interactions(purchases), META, **options)  # type: ignore[arg-type]


def ids(recommendations: list) -> list[int]:  # type: ignore[type-arg]
    return [r.product_id for r in recommendations]


def test_what_others_bought_with_your_item_is_recommended_first() -> None:
    # Two shoppers bought the dress with the top; a third bought only the dress.
    recommender = build(
        [
            *(bought(1, DRESS), bought(1, TOP), bought(2, DRESS), bought(2, TOP)),
            bought(3, DRESS),
            *(bought(c, MUG) for c in (4, 5, 6)),  # a best seller nobody pairs with anything
        ]
    )
    picks = recommender.for_customer(3, k=3)
    assert picks[0].product_id == TOP
    assert picks[0].reason == "similar_to_your_purchases"
    # The list is filled up with best sellers, said to be just that.
    assert picks[1].product_id == MUG
    assert picks[1].reason == "popular"


def test_products_the_customer_bought_or_excluded_are_not_recommended() -> None:
    recommender = build(
        [
            *(bought(1, DRESS), bought(1, TOP), bought(1, TROUSERS)),
            *(bought(2, DRESS), bought(2, TOP), bought(2, RED_BAG)),
            *(bought(3, DRESS), bought(3, TROUSERS)),
        ]
    )
    picks = ids(recommender.for_customer(2, k=10))
    assert not {DRESS, TOP, RED_BAG} & set(picks)
    assert picks[0] == TROUSERS
    # e.g. what is already in the cart
    assert TROUSERS not in ids(recommender.for_customer(2, k=10, exclude=[TROUSERS]))


def test_out_of_stock_products_are_never_recommended() -> None:
    recommender = build(
        [bought(c, DRESS) for c in (1, 2, 3)]
        + [bought(c, SOLD_OUT) for c in (1, 2)]
        + [bought(c, TOP) for c in (1, 2)]
    )
    picks = recommender.for_customer(3, k=10)
    assert ids(picks)[0] == TOP
    assert SOLD_OUT not in ids(picks)
    assert SOLD_OUT not in ids(recommender.popular(20))
    assert SOLD_OUT not in ids(recommender.similar_products(DRESS))


@pytest.mark.parametrize("customer", [None, 404])
def test_a_guest_or_a_customer_without_history_gets_best_sellers(customer: int | None) -> None:
    recommender = build(
        [bought(c, TOP) for c in (1, 2, 3)] + [bought(c, DRESS) for c in (1, 2)] + [bought(1, MUG)]
    )
    picks = recommender.for_customer(customer, k=3)
    assert ids(picks) == [TOP, DRESS, MUG]
    assert {p.reason for p in picks} == {"popular"}
    assert picks == recommender.popular(3)


def test_popularity_counts_recent_sales_then_rating() -> None:
    recommender = build(
        # Long ago the mug sold best; lately the trousers and the top sold alike.
        [bought(c, MUG, days_ago=200) for c in (1, 2, 3, 4)]
        + [bought(c, TOP, days_ago=2) for c in (5, 6)]
        + [bought(c, TROUSERS, days_ago=3) for c in (7, 8)],
        popular_days=30,
        now=NOW,
    )
    # TROUSERS (4.3) before TOP (4.1): same recent sales, better rating.
    assert ids(recommender.popular(3)) == [TROUSERS, TOP, MUG]
    assert ids(recommender.popular(5, category="tops")) == [TOP]  # SOLD_OUT is a top too
    assert recommender.popular(5, category="no-such-category") == []


def test_complete_the_look_for_a_red_dress_gives_red_shoes_and_a_red_bag() -> None:
    recommender = build(
        # The dress was bought with the first red bag twice: that bag leads the bags.
        [
            *(bought(1, DRESS), bought(1, RED_BAG), bought(2, DRESS), bought(2, RED_BAG)),
            *(bought(3, BLACK_SHOES), bought(4, BLACK_BAG), bought(5, TOP)),
        ]
    )
    look = recommender.complete_the_look(DRESS, k=4)
    categories = [META[p].category for p in ids(look)]
    colors = [META[p].color for p in ids(look)]
    assert set(categories[:2]) == {"casual_shoes", "bags"}  # one of each first
    assert colors == ["red"] * 4  # the dress colour before the better-rated black ones
    assert ids(look)[:2] == [RED_SHOES_2, RED_BAG]  # shoes: rating; bags: bought together
    assert {r.reason for r in look} == {"complete_the_look"}
    assert ids(recommender.complete_the_look(DRESS, k=6))[4:] == [BLACK_SHOES, BLACK_BAG]


def test_complete_the_look_for_an_unknown_product_is_empty() -> None:
    recommender = build([bought(1, DRESS)])
    assert recommender.complete_the_look(999) == []
    assert recommender.similar_products(999) == []


def test_similar_products_are_those_bought_by_the_same_customers() -> None:
    recommender = build(
        [bought(c, DRESS) for c in (1, 2, 3)]
        + [bought(c, RED_BAG) for c in (1, 2, 3)]
        + [bought(1, TOP), bought(4, TOP), bought(5, TOP)]
    )
    similar = recommender.similar_products(DRESS, k=5)
    assert ids(similar) == [RED_BAG, TOP]
    assert similar[0].score > similar[1].score
    assert ids(recommender.similar_products(DRESS, k=5, same_category=True)) == []


def test_the_same_history_in_any_order_gives_the_same_lists() -> None:
    purchases = [
        bought(c, p, days_ago=d)
        for c, products, d in [
            (1, (DRESS, TOP, RED_BAG), 5),
            (2, (DRESS, TOP, TROUSERS), 4),
            (3, (DRESS, TROUSERS, RED_BAG), 3),
            (4, (MUG,), 2),
            (5, (DRESS,), 1),
        ]
        for p in products
    ]
    shuffled = list(purchases)
    random.Random(3).shuffle(shuffled)  # noqa: S311 - a fixed test order
    first, second = build(purchases), build(shuffled)
    for customer in (1, 2, 3, 4, 5, None):
        assert first.for_customer(customer, k=6) == second.for_customer(customer, k=6)
    assert first.complete_the_look(DRESS) == second.complete_the_look(DRESS)
    # Customer 5 bought only the dress: TOP, TROUSERS and RED_BAG were each bought by
    # two customers, with it and once with each other, so they tie: product id order.
    assert ids(first.for_customer(5, k=3)) == [RED_BAG, TOP, TROUSERS]


def test_content_vectors_bring_in_a_product_nobody_bought_yet() -> None:
    purchases = [bought(c, DRESS) for c in (1, 2)] + [bought(c, RED_BAG) for c in (1, 2)]
    purchases += [bought(3, RED_BAG), bought(4, MUG), bought(5, MUG), bought(6, MUG)]
    vectors = {p: np.eye(16)[p] for p in META}  # every product unlike every other...
    vectors[RED_BAG_2] = np.eye(16)[RED_BAG] + 0.05 * np.eye(16)[15]  # ...but this bag
    without = build(purchases)
    with_content = build(purchases, content_vectors=vectors)
    # Customer 3 bought the red bag. Nobody bought its look-alike yet: collaborative
    # filtering alone cannot place it, and the customer sees best sellers after the dress.
    assert ids(without.for_customer(3, k=3)) == [DRESS, MUG, BLACK_SHOES]
    picks = with_content.for_customer(3, k=3)
    assert ids(picks) == [DRESS, RED_BAG_2, MUG]
    assert [p.reason for p in picks] == ["similar_to_your_purchases"] * 2 + ["popular"]
    assert ids(with_content.similar_products(RED_BAG_2, k=1)) == [RED_BAG]


# --- from seed rows and from the database ------------------------------------------

SMALL = SeedConfig(customers=30, orders=300, products=27, seed=7, anchor=NOW)


def test_cancelled_orders_are_not_purchases() -> None:
    rows = SeedGenerator(SMALL).build()
    cancelled = {o["id"] for o in rows[m.Order] if o["status"] == m.OrderStatus.CANCELLED}
    assert cancelled
    expected = sum(1 for i in rows[m.OrderItem] if i["order_id"] not in cancelled)
    interactions = Interactions.from_rows(rows)
    assert len(interactions) == expected
    times = [p.placed_at for p in interactions.purchases]
    assert times == sorted(times)


def test_hold_out_last_keeps_the_latest_order_out_of_training() -> None:
    interactions = Interactions(
        [
            *(bought(1, DRESS, 9), bought(1, TOP, 5)),
            *(bought(1, RED_BAG, 1), bought(1, RED_SHOES, 1)),  # one order, the latest
            bought(2, MUG, 3),  # one moment only: nothing to train on, not evaluated
        ]
    )
    training, held_out = interactions.hold_out_last()
    assert held_out == {1: bought(1, RED_SHOES, 1)}
    assert [p.product_id for p in training.purchases] == [DRESS, TOP, MUG]


def test_seeded_customers_get_full_lists_of_new_in_stock_products() -> None:
    rows = SeedGenerator(SMALL).build()
    meta = product_meta_from_rows(rows)
    recommender = Recommender.build(Interactions.from_rows(rows), meta)
    for customer in (1, 2, 3):
        picks = recommender.for_customer(customer, k=5)
        assert len(picks) == 5
        assert not set(ids(picks)) & recommender.purchased(customer)
        assert all(meta[p].in_stock for p in ids(picks))
    dress = next(p for p, info in meta.items() if info.category == "dresses" and info.in_stock)
    look = recommender.complete_the_look(dress, k=2)
    assert {meta[p].category for p in ids(look)} == {"casual_shoes", "bags"}


def test_the_database_gives_what_the_seed_rows_give(database: Database) -> None:
    with database.session() as session:
        seed_database(session, SMALL)
    rows = SeedGenerator(SMALL).build()
    from_db = Interactions.from_database(database)
    from_rows = Interactions.from_rows(rows)
    assert sorted(from_db.purchases, key=repr) == sorted(from_rows.purchases, key=repr)
    assert product_meta_from_database(database) == product_meta_from_rows(rows)
