"""Write the labelled product-search query set (data/eval/search_queries.yml).

    .venv-actions/bin/python scripts/make_search_queries.py

Queries are derived from the generated catalog's planted structure: a product is
drawn, some of its attributes are phrased the way shoppers write them (synonyms,
particles, price phrases, size words, selling points), and the relevant products
are ALL products of the catalog that satisfy the same attributes. Each query stores
its attribute predicate, so the benchmark recomputes the relevant set on a catalog
of any size (5k or 100k) from the same generator; the 5k relevant codes are written
too, for reading. Deterministic: the same seed writes the same file.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actions.services.db.catalog_seed import (
    FEATURES,
    GeneratedProduct,
    generate_catalog,
)
from actions.services.db.vocabulary import (
    CATEGORY_BY_CODE,
    COLOR_BY_CODE,
    MATERIAL_EN,
)

OUT = Path(__file__).resolve().parents[1] / "data" / "eval" / "search_queries.yml"
PER_LANGUAGE = 160


def matches(product: GeneratedProduct, where: dict[str, Any]) -> bool:
    """The relevance predicate of a query (shared with scripts/bench_search.py)."""
    if "category" in where and product.category != where["category"]:
        return False
    if "style" in where and product.style_zh != where["style"]:
        return False
    if "color" in where and where["color"] not in product.colors:
        return False
    if "material" in where and product.material != where["material"]:
        return False
    if "brand" in where and product.brand != where["brand"]:
        return False
    if "size" in where and where["size"] not in product.sizes:
        return False
    if "max_price" in where and product.price_cents > where["max_price"] * 100:
        return False
    return not ("feature" in where and where["feature"] not in product.description_zh)


def _zh(product: GeneratedProduct, kind: str, rng: random.Random) -> tuple[str, dict[str, Any]]:
    spec = CATEGORY_BY_CODE[product.category]
    color = COLOR_BY_CODE[product.color]
    color_word = rng.choice([color.zh, color.zh, color.zh[0] + "色的", color.zh + "的"])
    category_word = rng.choice([spec.zh, *spec.synonyms[:3]])
    material = product.material
    price = (product.price_cents // 10000 + 1) * 100  # the next hundred yuan above
    lead = rng.choice(["", "", "我想买", "有没有", "想找", "帮我找", "推荐一下"])
    if kind == "color_category":
        return f"{lead}{color_word}{category_word}", {
            "category": spec.code,
            "color": product.color,
        }
    if kind == "color_material_style":
        if material == "—":
            return f"{lead}{color_word}{product.style_zh}", {
                "style": product.style_zh,
                "color": product.color,
            }
        return f"{lead}{color_word}{material}{product.style_zh}", {
            "style": product.style_zh,
            "color": product.color,
            "material": material,
        }
    if kind == "brand_style":
        return f"{lead}{product.brand}的{product.style_zh}", {
            "brand": product.brand,
            "style": product.style_zh,
        }
    if kind == "style_price":
        phrase = rng.choice([f"{price}以内的", f"{price}元以下的", f"不超过{price}的"])
        return f"{lead}{phrase}{product.style_zh}", {
            "style": product.style_zh,
            "max_price": price,
        }
    if kind == "style_size" and product.sizes[0] != "one-size":
        size = rng.choice(product.sizes)
        word = f"{size}码的" if size.isdigit() else rng.choice([f"{size}码", f"{size}号的"])
        return f"{lead}{word}{color_word}{product.style_zh}", {
            "style": product.style_zh,
            "size": size,
            "color": product.color,
        }
    feature = rng.choice([f for f in FEATURES[product.category] if f[0] in product.description_zh])
    return f"{lead}{feature[0]}的{category_word}", {
        "category": spec.code,
        "feature": feature[0],
    }


def _en(product: GeneratedProduct, kind: str, rng: random.Random) -> tuple[str, dict[str, Any]]:
    spec = CATEGORY_BY_CODE[product.category]
    category_word = rng.choice([spec.en, *[s for s in spec.synonyms if s.isascii()][:2]])
    material = MATERIAL_EN.get(product.material, "")
    price = (product.price_cents // 10000 + 1) * 100
    lead = rng.choice(["", "", "I want ", "looking for ", "do you have ", "show me ", "any "])
    if kind == "color_category":
        return f"{lead}{product.color} {category_word}", {
            "category": spec.code,
            "color": product.color,
        }
    if kind == "color_material_style":
        if product.material == "—":
            return f"{lead}{product.color} {product.style_en}", {
                "style": product.style_zh,
                "color": product.color,
            }
        return f"{lead}{product.color} {material} {product.style_en}", {
            "style": product.style_zh,
            "color": product.color,
            "material": product.material,
        }
    if kind == "brand_style":
        return f"{lead}{product.brand} {product.style_en}", {
            "brand": product.brand,
            "style": product.style_zh,
        }
    if kind == "style_price":
        phrase = rng.choice([f"under {price}", f"below ${price}", f"less than {price} yuan"])
        return f"{lead}{product.style_en} {phrase}", {
            "style": product.style_zh,
            "max_price": price,
        }
    if kind == "style_size" and product.sizes[0] != "one-size":
        size = rng.choice(product.sizes)
        return f"{lead}{product.color} {product.style_en} in size {size}", {
            "style": product.style_zh,
            "size": size,
            "color": product.color,
        }
    feature = rng.choice([f for f in FEATURES[product.category] if f[0] in product.description_zh])
    return f"{lead}{category_word} with {feature[1]}", {
        "category": spec.code,
        "feature": feature[0],
    }


KINDS = (
    "color_category",
    "color_material_style",
    "brand_style",
    "style_price",
    "style_size",
    "feature",
)


def build(seed: int = 7) -> list[dict[str, Any]]:
    catalog = generate_catalog(5000)
    rng = random.Random(seed)
    queries: list[dict[str, Any]] = []
    for language, phrase in (("zh", _zh), ("en", _en)):
        seen: set[str] = set()
        while len([q for q in queries if q["language"] == language]) < PER_LANGUAGE:
            product = rng.choice(catalog)
            kind = KINDS[len(seen) % len(KINDS)]
            text, where = phrase(product, kind, rng)
            if text in seen:
                continue
            seen.add(text)
            relevant = [p.code for p in catalog if matches(p, where)]
            queries.append(
                {
                    "id": f"{language}-{len(seen):03d}",
                    "language": language,
                    "kind": kind,
                    "text": text,
                    "where": where,
                    "relevant": relevant,
                }
            )
    return queries


def main() -> None:
    queries = build()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    header = (
        "# Labelled product-search queries (issue 5), written by scripts/make_search_queries.py.\n"
        "# `where` is the relevance predicate; `relevant` lists the matching products of the\n"
        "# default 5,000-product catalog (generate_catalog(5000, seed=42)).\n"
    )
    body = yaml.safe_dump({"queries": queries}, allow_unicode=True, sort_keys=False, width=120)
    OUT.write_text(header + body, encoding="utf-8")
    sizes = sorted(len(q["relevant"]) for q in queries)
    print(
        f"{len(queries)} queries; relevant per query: min {sizes[0]}, median "
        f"{sizes[len(sizes) // 2]}, max {sizes[-1]}"
    )


if __name__ == "__main__":
    main()
