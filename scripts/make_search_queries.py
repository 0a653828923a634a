"""Write the labelled product-search query set (data/eval/search_queries.yml).

    .venv-actions/bin/python -m scripts.make_search_queries

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
from pathlib import Path
from typing import Any

import yaml

from shopmate.db.catalog_seed import (
    FEATURES,
    GeneratedProduct,
    generate_catalog,
)
from shopmate.db.vocabulary import (
    CATEGORY_BY_CODE,
    COLOR_BY_CODE,
    MATERIAL_EN,
)

OUT = Path(__file__).resolve().parents[1] / "data" / "eval" / "search_queries.yml"
PER_LANGUAGE = 160  # generated; plus 20 hand-written paraphrases per language


def matches(product: GeneratedProduct, where: dict[str, Any]) -> bool:
    """The relevance predicate of a query (shared with scripts/bench_search.py)."""
    if "category" in where and product.category != where["category"]:
        return False
    if "style" in where and product.style_zh != where["style"]:
        return False
    if "styles" in where and product.style_zh not in where["styles"]:
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


# Paraphrases: what the shopper wants in words no title or synonym list has (the
# case embeddings are for). Relevant: every product of the listed styles.
PARAPHRASES: tuple[tuple[str, str, list[str]], ...] = (
    ("zh", "给手机充电的东西", ["充电器", "数据线", "充电宝"]),
    ("zh", "出门在外手机没电了怎么办", ["充电宝"]),
    ("zh", "听歌用的无线耳机", ["蓝牙耳机"]),
    ("zh", "防止手机摔坏的壳", ["手机壳"]),
    ("zh", "让电脑屏幕高一点的架子", ["笔记本支架"]),
    ("zh", "夏天防晒用的", ["防晒霜"]),
    ("zh", "涂嘴唇的", ["口红"]),
    ("zh", "化妆打底用的", ["粉底液"]),
    ("zh", "晚上保湿的护肤品", ["面霜", "精华液"]),
    ("zh", "喝咖啡的杯子", ["马克杯"]),
    ("zh", "洗完澡擦身体用的", ["毛巾"]),
    ("zh", "沙发上靠着的软垫", ["抱枕"]),
    ("zh", "让房间香香的", ["香薰蜡烛"]),
    ("zh", "铺床用的", ["床单"]),
    ("zh", "上学背书用的包", ["双肩包"]),
    ("zh", "能装下笔记本电脑的大包", ["托特包", "双肩包"]),
    ("zh", "马拉松比赛穿的鞋", ["竞速跑鞋"]),
    ("zh", "山路上跑步穿的鞋", ["越野跑鞋"]),
    ("zh", "冬天穿的保暖上衣", ["毛衣", "卫衣"]),
    ("zh", "夏天穿的无袖上衣", ["背心"]),
    ("en", "something to charge my phone", ["充电器", "数据线", "充电宝"]),
    ("en", "my phone battery dies when I travel", ["充电宝"]),
    ("en", "wireless headphones for music", ["蓝牙耳机"]),
    ("en", "protect my phone from drops", ["手机壳"]),
    ("en", "raise my laptop screen", ["笔记本支架"]),
    ("en", "protection from the sun", ["防晒霜"]),
    ("en", "colour for my lips", ["口红"]),
    ("en", "makeup base for an even skin tone", ["粉底液"]),
    ("en", "night moisturiser for dry skin", ["面霜", "精华液"]),
    ("en", "a cup for my morning coffee", ["马克杯"]),
    ("en", "something to dry off after a shower", ["毛巾"]),
    ("en", "a soft pillow for the sofa", ["抱枕"]),
    ("en", "make my room smell nice", ["香薰蜡烛"]),
    ("en", "linens for my bed", ["床单"]),
    ("en", "a bag to carry school books on my back", ["双肩包"]),
    ("en", "a big bag that fits a laptop", ["托特包", "双肩包"]),
    ("en", "shoes for a marathon race", ["竞速跑鞋"]),
    ("en", "shoes for running on mountain paths", ["越野跑鞋"]),
    ("en", "warm top for winter", ["毛衣", "卫衣"]),
    ("en", "sleeveless top for summer", ["背心"]),
)

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
    for language, text, styles in PARAPHRASES:
        number = len([q for q in queries if q["language"] == language]) + 1
        where = {"styles": styles}
        queries.append(
            {
                "id": f"{language}-{number:03d}",
                "language": language,
                "kind": "paraphrase",
                "text": text,
                "where": where,
                "relevant": [p.code for p in catalog if matches(p, where)],
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
