"""Importing a store's own catalog export (docs/catalog.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shopmate.db import models as m
from shopmate.db.catalog_import import (
    CatalogFileError,
    import_catalog,
    read_catalog_file,
)
from shopmate.db.session import Database

HEADER = "code,category,brand,title_zh,title_en,price,material,rating,sku,color,size,stock\n"
ROWS = (
    "Q1,dresses,Lumi,红色真丝连衣裙,Red silk dress,459,真丝,4.7,Q1-RED-S,red,S,5\n"
    "Q1,dresses,Lumi,红色真丝连衣裙,Red silk dress,459,真丝,4.7,Q1-RED-M,red,M,0\n"
    "Q2,bags,Carryall,黑色托特包,Black tote,¥299.90,皮革,4.2,Q2-BLACK,black,one-size,3\n"
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_rows_become_products_with_variants(tmp_path: Path, database: Database) -> None:
    products = read_catalog_file(write(tmp_path, "p.csv", HEADER + ROWS))
    assert [(p.code, len(p.variants)) for p in products] == [("Q1", 2), ("Q2", 1)]
    assert products[1].price_cents == 29990
    with database.session() as session:
        counts = import_catalog(session, products)
    assert counts == {
        "products_added": 2,
        "products_updated": 0,
        "variants_added": 3,
        "variants_updated": 0,
    }
    with database.session() as session:
        dress = session.query(m.Product).filter_by(code="Q1").one()
        assert dress.title_en == "Red silk dress"
        assert sorted((v.size, v.stock) for v in dress.variants) == [("M", 0), ("S", 5)]


def test_importing_again_updates_instead_of_duplicating(tmp_path: Path, database: Database) -> None:
    first = read_catalog_file(write(tmp_path, "a.csv", HEADER + ROWS))
    with database.session() as session:
        import_catalog(session, first)
    again = read_catalog_file(write(tmp_path, "b.csv", HEADER + ROWS.replace(",0\n", ",7\n")))
    with database.session() as session:
        counts = import_catalog(session, again)
    assert counts["products_added"] == 0
    assert counts["variants_updated"] == 3
    with database.session() as session:
        assert session.query(m.Variant).filter_by(sku="Q1-RED-M").one().stock == 7
        assert session.query(m.Product).filter(m.Product.code.in_(["Q1", "Q2"])).count() == 2


def test_json_export_with_nested_variants(tmp_path: Path) -> None:
    data = [
        {
            "code": "Q9",
            "category": "home",
            "brand": "Nest",
            "title_zh": "陶瓷马克杯",
            "title_en": "Ceramic mug",
            "price": 59,
            "variants": [{"sku": "Q9-W", "color": "white", "stock": 12}],
        }
    ]
    [mug] = read_catalog_file(write(tmp_path, "p.json", json.dumps(data, ensure_ascii=False)))
    assert mug.variants[0].price_cents == 5900
    assert mug.variants[0].size is None


def test_a_bad_file_is_refused_whole_with_the_record_numbers(tmp_path: Path) -> None:
    bad = HEADER + ROWS + "Q3,tops,,T恤,Tee,-5,棉,9,Q1-RED-S,red,M,x\n"
    with pytest.raises(CatalogFileError) as error:
        read_catalog_file(write(tmp_path, "bad.csv", bad))
    assert error.value.problems == ["record 4: brand is missing"]
    with pytest.raises(CatalogFileError) as error:
        read_catalog_file(write(tmp_path, "dup.csv", HEADER + ROWS + ROWS.splitlines()[0] + "\n"))
    assert "appears twice" in error.value.problems[0]
