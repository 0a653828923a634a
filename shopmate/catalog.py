"""The product catalog as facts: which product a shopper names, and what is true about it.

``ProductRecord`` is the one read model of a product (`record_of` maps a row to it):
search, cards, the cart and recommendations read it, and ``ProductFacts`` is derived
from it. It also says what a product is found by: ``search_text`` (what product search
ranks: titles, descriptions, category words) and ``name_text`` (what names one product:
titles, brand, category words).

``ProductCatalog.find`` resolves "P00012", "这件真丝连衣裙" or "the Lumi silk dress" to
products: a product code is looked up exactly in the database; otherwise the message
is matched with BM25 (the shared zh/en tokenizer) against each record's ``name_text``.
Naming one product and searching for products are different questions (a description
that mentions "silk" must not make a cotton shirt "the silk one"), so the catalog keeps
its own small index over the same records. It is built once, lazily and thread-safely;
stock, prices and variants are always read fresh.

``ProductFacts`` is what generated text (marketing copy) may say about a product:
nothing else, so a model cannot add a material, a price or a colour the store does not
have. No Rasa imports.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from shopmate.choices import color_label
from shopmate.db import models as m
from shopmate.db.catalog_seed import GeneratedProduct
from shopmate.db.session import Database
from shopmate.db.vocabulary import CATEGORY_BY_CODE, CATEGORY_SPECS, MATERIAL_EN
from shopmate.search.lexical import BM25Index
from shopmate.text import tokenize

__all__ = [
    "CATEGORY_NAMES",
    "MATERIAL_NAMES",
    "ProductCatalog",
    "ProductFacts",
    "ProductNotFound",
    "product_codes_in",
    "search_terms",
]

# Category -> (zh noun, en noun, extra search words), from the shared vocabulary.
# Words as generic as "product", "item" or "goods" are not among the synonyms on
# purpose: "write copy for this product" must not match every beauty product.
CATEGORY_NAMES: dict[str, tuple[str, str, str]] = {
    spec.code: (spec.zh, spec.en, " ".join(spec.synonyms)) for spec in CATEGORY_SPECS
}

# Materials are stored in Chinese (the seed's vocabulary); their English names.
# "—" (no material, e.g. cosmetics) is not a material.
MATERIAL_NAMES: dict[str, str] = {zh: en for zh, en in MATERIAL_EN.items() if zh != "—"}
# Words that name no product in particular, yet stand in some titles ("Glow beauty
# product", "home goods"): dropped from both sides of the match.
GENERIC_TERMS = frozenset({"product", "good", "item", "thing", "stuff", "商品", "产品", "东西"})
_MATERIAL_ZH = {en: zh for zh, en in MATERIAL_NAMES.items()}
NO_MATERIAL = frozenset({"", "—", "-", "n/a"})
ONE_SIZE = "one-size"

# Product codes: "P00012" in the seed; "P12" is read as "P00012" too.
_CODE = re.compile(r"(?<![A-Za-z0-9])[Pp]\s?(\d{1,8})(?![A-Za-z0-9])")
_CODE_DIGITS = 5


class ProductNotFound(LookupError):
    """No product with this id (or code)."""


def product_codes_in(text: str) -> list[str]:
    """Product codes written in ``text``, each in the forms it may be stored as
    ("p12" -> "P12", "P00012")."""
    codes: list[str] = []
    for match in _CODE.finditer(text):
        digits = match.group(1)
        for code in (f"P{digits}", f"P{digits.lstrip('0').zfill(_CODE_DIGITS)}"):
            if code not in codes:
                codes.append(code)
    return codes


def _material(value: object) -> str | None:
    if not isinstance(value, str) or value.strip().lower() in NO_MATERIAL:
        return None
    return value.strip()


def _price_text(cents: int) -> str:
    return f"¥{cents / 100:.2f}"


@dataclass(frozen=True)
class ProductRecord:
    """One product as search, cards, the cart and recommendations read it: facts, the
    colours and sizes of its variants, and what is in stock (`load_records`)."""

    id: int
    code: str
    category: str
    brand: str
    title_zh: str
    title_en: str
    description_zh: str
    description_en: str
    material: str | None
    price_cents: int
    rating: float
    image_url: str | None
    colors: tuple[str, ...]  # every variant colour
    sizes: tuple[str, ...]  # every variant size
    colors_in_stock: tuple[str, ...]
    sizes_in_stock: tuple[str, ...]
    stock: int

    @property
    def in_stock(self) -> bool:
        return self.stock > 0

    def title(self, language: str) -> str:
        return self.title_zh if language == "zh" else self.title_en

    def search_text(self) -> str:
        """What BM25 matches: both titles and descriptions, the category's names."""
        spec = CATEGORY_BY_CODE.get(self.category)
        names = f"{spec.zh} {spec.en} {' '.join(spec.synonyms)}" if spec else self.category
        return " ".join(
            (self.title_zh, self.title_en, self.description_zh, self.description_en, names)
        )

    def name_text(self) -> str:
        """What names this product ("the Lumi silk dress", "那个托特包"): both titles,
        the brand and its category's words; no descriptions."""
        spec = CATEGORY_BY_CODE.get(self.category)
        names = f"{spec.zh} {spec.en} {' '.join(spec.synonyms)}" if spec else ""
        return " ".join((self.title_zh, self.title_en, self.brand, names))

    def embedding_text(self) -> str:
        """What is embedded: the two titles (descriptions add noise to short queries)."""
        return f"{self.title_zh} / {self.title_en}"


def records_from_generated(products: Iterable[GeneratedProduct]) -> list[ProductRecord]:
    """Records straight from the generator (benchmarks at 100k skip the database)."""
    return [
        ProductRecord(
            id=number,
            code=p.code,
            category=p.category,
            brand=p.brand,
            title_zh=p.title_zh,
            title_en=p.title_en,
            description_zh=p.description_zh,
            description_en=p.description_en,
            material=p.material,
            price_cents=p.price_cents,
            rating=p.rating,
            image_url=p.image_url,
            colors=p.colors,
            sizes=p.sizes,
            colors_in_stock=tuple(dict.fromkeys(v.color for v in p.variants if v.stock > 0)),
            sizes_in_stock=tuple(dict.fromkeys(v.size for v in p.variants if v.stock > 0)),
            stock=p.stock,
        )
        for number, p in enumerate(products, start=1)
    ]


def record_of(product: m.Product) -> ProductRecord:
    """The read model of one product row (its variants loaded): the one mapping from the
    database to what the assistant knows of a product (search, cards, facts)."""
    variants = sorted(product.variants, key=lambda v: v.id)
    available = [v for v in variants if v.stock > 0]
    return ProductRecord(
        id=product.id,
        code=product.code,
        category=product.category,
        brand=product.brand,
        title_zh=product.title_zh,
        title_en=product.title_en,
        description_zh=product.description_zh or "",
        description_en=product.description_en or "",
        # An imported catalog may keep the material among free-form attributes.
        material=_material(product.material or (product.attributes or {}).get("material")),
        price_cents=product.price_cents,
        rating=float(product.rating or 0.0),
        image_url=product.image_url,
        colors=_unique(v.color for v in variants),
        sizes=_unique(v.size for v in variants),
        colors_in_stock=_unique(v.color for v in available),
        sizes_in_stock=_unique(v.size for v in available),
        stock=sum(v.stock for v in variants),
    )


def load_records(database: Database) -> list[ProductRecord]:
    """Every product with its variants' colours, sizes and stock."""
    with database.session() as session:
        products = session.scalars(
            select(m.Product).options(selectinload(m.Product.variants)).order_by(m.Product.id)
        )
        return [record_of(product) for product in products]


def material_name(material: str | None, language: str) -> str | None:
    if not material or material == "—":
        return None
    return material if language == "zh" else MATERIAL_EN.get(material, material)


@dataclass(frozen=True)
class ProductFacts:
    """Everything that may be said about one product, read from the database.

    ``material`` is as stored (Chinese, e.g. "真丝"); ``colours`` are the catalog's colour
    codes ("red") of every variant, in variant order; ``sizes`` likewise ("one-size" for
    bags and the like); ``in_stock`` is true when any variant has stock; ``rating`` is None
    when the product has none (0).
    """

    id: int
    code: str
    title_zh: str
    title_en: str
    brand: str
    category: str
    material: str | None
    price_cents: int
    colours: tuple[str, ...] = ()
    sizes: tuple[str, ...] = ()
    in_stock: bool = False
    rating: float | None = None

    @classmethod
    def of(cls, record: ProductRecord) -> ProductFacts:
        """What may be said of a product, from its read model."""
        return cls(
            id=record.id,
            code=record.code,
            title_zh=record.title_zh,
            title_en=record.title_en,
            brand=record.brand,
            category=record.category,
            material=record.material,
            price_cents=record.price_cents,
            colours=record.colors,
            sizes=record.sizes,
            in_stock=record.in_stock,
            rating=record.rating or None,
        )

    def title(self, language: str) -> str:
        return self.title_zh if language == "zh" else self.title_en

    def material_name(self, language: str) -> str | None:
        if self.material is None:
            return None
        if language == "zh":
            return _MATERIAL_ZH.get(self.material.lower(), self.material)
        return MATERIAL_NAMES.get(self.material, self.material)

    def category_name(self, language: str) -> str:
        zh, en, _ = CATEGORY_NAMES.get(self.category, (self.category, self.category, ""))
        return zh if language == "zh" else en

    def colour_names(self, language: str) -> list[str]:
        return [color_label(colour, language) for colour in self.colours]

    def size_names(self) -> list[str]:
        """Sizes a shopper can choose ("one-size" is no choice)."""
        return [size for size in self.sizes if size != ONE_SIZE]

    @property
    def price_text(self) -> str:
        return _price_text(self.price_cents)

    def describe(self, language: str) -> list[str]:
        """The facts as lines for a generator (``GenerationRequest.facts``), in
        ``language``: only what the database holds, nothing a model could misread."""
        zh = language == "zh"
        sep = "、" if zh else ", "
        lines = [
            f"{'商品' if zh else 'product'}: {self.title(language)}",
            f"{'品牌' if zh else 'brand'}: {self.brand}",
            f"{'品类' if zh else 'category'}: {self.category_name(language)}",
        ]
        material = self.material_name(language)
        if material:
            lines.append(f"{'材质' if zh else 'material'}: {material}")
        lines.append(f"{'价格' if zh else 'price'}: {self.price_text}")
        if self.colours:
            lines.append(f"{'颜色' if zh else 'colours'}: {sep.join(self.colour_names(language))}")
        if self.size_names():
            lines.append(f"{'尺码' if zh else 'sizes'}: {sep.join(self.size_names())}")
        if zh:
            lines.append(f"库存: {'有货' if self.in_stock else '暂时缺货'}")
        else:
            lines.append(f"stock: {'in stock' if self.in_stock else 'out of stock'}")
        if self.rating is not None:
            lines.append(f"{'评分' if zh else 'rating'}: {self.rating:.1f}")
        return lines


def _unique(values: Iterable[str | None]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for value in values:
        if value:
            seen.setdefault(value, None)
    return tuple(seen)


def _facts(product: m.Product) -> ProductFacts:
    return ProductFacts.of(record_of(product))


def search_terms(text: str) -> list[str]:
    """The shared zh/en tokenizer, minus words that name no product in particular."""
    return [term for term in tokenize(text) if term not in GENERIC_TERMS]


@dataclass(frozen=True)
class _NameIndex:
    bm25: BM25Index
    product_ids: tuple[int, ...]
    names: tuple[str, ...]
    name_texts: dict[int, str]  # product id -> its name_text


class ProductCatalog:
    """Products by code or by name, and their facts. Thread-safe; every method may
    raise the database's errors (``sqlalchemy.exc.SQLAlchemyError``)."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._index: _NameIndex | None = None
        self._lock = threading.Lock()

    # --- the name index ----------------------------------------------------------------

    def _name_index(self) -> _NameIndex:
        index = self._index
        if index is None:
            with self._lock:
                index = self._index
                if index is None:
                    index = self._index = self._build_index()
        return index

    def _build_index(self) -> _NameIndex:
        records = load_records(self.database)
        texts = {record.id: record.name_text() for record in records}
        names = _unique(n for r in records for n in (r.title_zh, r.title_en, r.brand))
        return _NameIndex(
            BM25Index([(str(id_), text) for id_, text in texts.items()], search_terms),
            tuple(texts),
            names,
            texts,
        )

    def warm_up(self) -> None:
        """Build the name index now (at server start) rather than on first use."""
        self._name_index()

    def refresh(self) -> None:
        """Forget the name index; the next search rebuilds it (after catalog changes)."""
        with self._lock:
            self._index = None

    def product_names(self) -> tuple[str, ...]:
        """Every product title (zh and en) and brand: names a generated text may use only
        when its facts do (``GenerationRequest.known_product_names``)."""
        return self._name_index().names

    # --- lookups -----------------------------------------------------------------------

    def facts(self, product_id: int) -> ProductFacts:
        """The facts of one product; ``ProductNotFound`` if there is none."""
        found = self._load([product_id])
        if not found:
            raise ProductNotFound(product_id)
        return found[0]

    def by_code(self, code: str) -> ProductFacts | None:
        """The product with this code ("P00012", "p12"), or None."""
        found = self._by_codes(product_codes_in(code) or [code.strip().upper()])
        return found[0] if found else None

    def find(
        self, text: str, language: str, limit: int = 3, *, prefer: str | None = None
    ) -> list[ProductFacts]:
        """Up to ``limit`` products the text names, best first; [] when it names none.

        A product code in the text decides alone (an unknown code finds nothing rather
        than a lookalike). Otherwise titles, brands and category nouns of both languages
        are matched: shoppers mix them ("这条 silk dress"), so ``language`` does not
        narrow the search. Equal scores keep catalog order (lower id first).

        ``prefer`` is the code of the product the conversation is about. It comes first
        when the text says nothing that the best match has and it lacks: "这件连衣裙"
        keeps the dress being discussed, "那个托特包" moves on to a bag.
        """
        if limit <= 0 or not text.strip():
            return []
        codes = product_codes_in(text)
        if codes:
            return self._by_codes(codes)[:limit]
        index = self._name_index()
        hits = index.bm25.search(text, limit)
        found = self._load([index.product_ids[row] for row, _ in hits])
        if prefer and found and found[0].code != prefer.strip().upper():
            preferred = self.by_code(prefer)
            if preferred is not None and self._covers(index, text, preferred, found[0]):
                found = [preferred, *(f for f in found if f.id != preferred.id)][:limit]
        return found

    @staticmethod
    def _covers(index: _NameIndex, text: str, candidate: ProductFacts, best: ProductFacts) -> bool:
        """True when ``candidate`` has every word of ``text`` that ``best`` matched."""

        def terms_of(facts: ProductFacts) -> set[str]:
            return set(index.bm25.terms(index.name_texts.get(facts.id, "")))

        matched = set(index.bm25.terms(text)) & terms_of(best)
        return bool(matched) and matched <= terms_of(candidate)

    def _by_codes(self, codes: Sequence[str]) -> list[ProductFacts]:
        return self._in_order(m.Product.code, codes, lambda facts: facts.code)

    def _load(self, product_ids: Sequence[int]) -> list[ProductFacts]:
        return self._in_order(m.Product.id, product_ids, lambda facts: facts.id)

    def _in_order(
        self, column: Any, keys: Sequence[Any], key_of: Callable[[ProductFacts], Any]
    ) -> list[ProductFacts]:
        """The products whose `column` is one of `keys`, in the order of `keys`."""
        if not keys:
            return []
        with self.database.session() as session:
            products = session.scalars(
                select(m.Product)
                .where(column.in_(list(keys)))
                .options(selectinload(m.Product.variants))
            ).all()
            found = {key_of(facts): facts for facts in map(_facts, products)}
        return [found[key] for key in keys if key in found]
