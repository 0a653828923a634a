"""Import a store's own product export (CSV or JSON) into the catalog tables.

    .venv-actions/bin/python -m shopmate.db.catalog_import products.csv [--dry-run]

The schema is documented in docs/catalog.md. CSV: one row per variant, product columns
repeated on each row of the product. JSON: a list of products, each with a "variants"
list. Products are matched by `code` and variants by `sku`: a second import updates
them (price, stock, titles) instead of duplicating; nothing is deleted. The whole file
is validated first and nothing is written when any row is wrong, so a half-imported
catalog never reaches shoppers. Rebuild the search index afterwards (`make index`).
"""

from __future__ import annotations

import argparse
import csv
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shopmate.db import models as m
from shopmate.db.session import Database
from shopmate.settings import get_settings

PRODUCT_FIELDS = ("code", "category", "brand", "title_zh", "title_en", "price")
OPTIONAL_PRODUCT_FIELDS = (
    "description_zh",
    "description_en",
    "material",
    "rating",
    "image_url",
)
VARIANT_FIELDS = ("sku", "stock")
OPTIONAL_VARIANT_FIELDS = ("color", "size", "variant_price")
MAX_LENGTH = {"code": 32, "category": 64, "brand": 64, "title_zh": 255, "title_en": 255}


class CatalogFileError(ValueError):
    """The file cannot be imported; `problems` says where and why (row numbers)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} problem(s): " + "; ".join(problems[:10]))
        self.problems = problems


@dataclass
class ImportedVariant:
    sku: str
    color: str | None
    size: str | None
    stock: int
    price_cents: int


@dataclass
class ImportedProduct:
    code: str
    category: str
    brand: str
    title_zh: str
    title_en: str
    price_cents: int
    description_zh: str = ""
    description_en: str = ""
    material: str | None = None
    rating: float = 0.0
    image_url: str | None = None
    variants: list[ImportedVariant] = field(default_factory=list)


def _cents(value: Any, what: str) -> int:
    try:
        amount = Decimal(str(value).strip().lstrip("¥$"))
    except InvalidOperation as error:
        raise ValueError(f"{what} {value!r} is not a number") from error
    if amount < 0:
        raise ValueError(f"{what} must not be negative")
    return int((amount * 100).to_integral_value())


def _text(record: Mapping[str, Any], name: str) -> str:
    value = record.get(name)
    return "" if value is None else str(value).strip()


def _product(record: Mapping[str, Any]) -> ImportedProduct:
    for name in PRODUCT_FIELDS:
        if not _text(record, name):
            raise ValueError(f"{name} is missing")
    for name, limit in MAX_LENGTH.items():
        if len(_text(record, name)) > limit:
            raise ValueError(f"{name} is longer than {limit} characters")
    rating = float(_text(record, "rating") or 0)
    if not 0 <= rating <= 5:
        raise ValueError("rating must be between 0 and 5")
    return ImportedProduct(
        code=_text(record, "code"),
        category=_text(record, "category"),
        brand=_text(record, "brand"),
        title_zh=_text(record, "title_zh"),
        title_en=_text(record, "title_en"),
        price_cents=_cents(record["price"], "price"),
        description_zh=_text(record, "description_zh"),
        description_en=_text(record, "description_en"),
        material=_text(record, "material") or None,
        rating=rating,
        image_url=_text(record, "image_url") or None,
    )


def _variant(record: Mapping[str, Any], product: ImportedProduct) -> ImportedVariant:
    if not _text(record, "sku"):
        raise ValueError("sku is missing")
    stock = int(_text(record, "stock") or 0)
    if stock < 0:
        raise ValueError("stock must not be negative")
    price = _text(record, "variant_price")
    return ImportedVariant(
        sku=_text(record, "sku"),
        color=_text(record, "color").lower() or None,
        size=_text(record, "size") or None,
        stock=stock,
        price_cents=_cents(price, "variant_price") if price else product.price_cents,
    )


def parse_records(records: Iterable[Mapping[str, Any]]) -> list[ImportedProduct]:
    """Flat variant rows (CSV) or nested products (JSON) to products; every problem
    is collected before raising, each with its 1-based record number."""
    products: dict[str, ImportedProduct] = {}
    skus: set[str] = set()
    problems: list[str] = []
    for number, record in enumerate(records, start=1):
        try:
            product = _product(record)
            known = products.setdefault(product.code, product)
            nested = record.get("variants")
            rows = nested if isinstance(nested, list) else [record]
            for row in rows:
                variant = _variant(row, known)
                if variant.sku in skus:
                    raise ValueError(f"sku {variant.sku} appears twice")
                skus.add(variant.sku)
                known.variants.append(variant)
        except (ValueError, TypeError) as error:
            problems.append(f"record {number}: {error}")
    if problems:
        raise CatalogFileError(problems)
    return list(products.values())


def read_catalog_file(path: Path) -> list[ImportedProduct]:
    if path.suffix.lower() == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, list):
            raise CatalogFileError(["a JSON catalog is a list of products"])
        return parse_records(data)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return parse_records(csv.DictReader(handle))


def import_catalog(session: Session, products: list[ImportedProduct]) -> dict[str, int]:
    """Insert or update products by code and variants by sku."""
    counts = {
        "products_added": 0,
        "products_updated": 0,
        "variants_added": 0,
        "variants_updated": 0,
    }
    codes = [p.code for p in products]
    existing = {
        p.code: p for p in session.scalars(select(m.Product).where(m.Product.code.in_(codes)))
    }
    for item in products:
        row = existing.get(item.code)
        values = {
            "category": item.category,
            "brand": item.brand,
            "title_zh": item.title_zh,
            "title_en": item.title_en,
            "description_zh": item.description_zh,
            "description_en": item.description_en,
            "material": item.material,
            "price_cents": item.price_cents,
            "rating": item.rating,
            "image_url": item.image_url,
        }
        if row is None:
            row = m.Product(code=item.code, attributes={}, **values)
            session.add(row)
            session.flush()
            counts["products_added"] += 1
        else:
            for key, value in values.items():
                setattr(row, key, value)
            counts["products_updated"] += 1
        variants = {v.sku: v for v in row.variants}
        for variant in item.variants:
            target = variants.get(variant.sku)
            if target is None:
                session.add(
                    m.Variant(
                        product_id=row.id,
                        sku=variant.sku,
                        color=variant.color,
                        size=variant.size,
                        stock=variant.stock,
                        price_cents=variant.price_cents,
                    )
                )
                counts["variants_added"] += 1
            else:
                target.color, target.size = variant.color, variant.size
                target.stock, target.price_cents = variant.stock, variant.price_cents
                counts["variants_updated"] += 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description="Import a product CSV/JSON (docs/catalog.md).")
    parser.add_argument("path", type=Path)
    parser.add_argument("--dry-run", action="store_true", help="validate only")
    args = parser.parse_args()
    try:
        products = read_catalog_file(args.path)
    except CatalogFileError as error:
        print("not imported:")
        for problem in error.problems:
            print(f"  {problem}")
        raise SystemExit(1) from None
    variants = sum(len(p.variants) for p in products)
    print(f"{len(products)} products, {variants} variants are valid")
    if args.dry_run:
        return
    database = Database(get_settings().database_url)
    with database.session() as session:
        counts = import_catalog(session, products)
    print(f"imported: {counts}; run `make index` to rebuild the search index")


if __name__ == "__main__":
    main()
