"""A deterministic, bilingual product catalog with the structure of a real store.

    generate_catalog(5000, seed=42) -> list[GeneratedProduct]

Every product is a style of a category (碎花连衣裙 / floral dress) by one of the
category's brands, in one main colour and a material that fits the style, at a price
around the category's base price (brand and material move it), with a rating and
variants: the main colour (and up to two more) in every size of the category, each
with its own stock. Titles name brand, colour, material and style in both languages,
so a query set can be derived from this planted structure (scripts/search_queries.py)
and a shopper's words ("红色真丝连衣裙", "black leather bag under ¥400") have a ground
truth. The same size and seed always give the same products; sizes up to 100,000 are
used by the search benchmark without touching a database.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from shopmate.db.vocabulary import (
    CATEGORY_SPECS,
    COLOR_BY_CODE,
    COLORS,
    MATERIAL_EN,
    CategorySpec,
)

# What a material does to a category's price (silk and leather cost more).
MATERIAL_PRICE_FACTOR = {
    "真丝": 1.6,
    "皮革": 1.5,
    "羊毛": 1.4,
    "亚麻": 1.15,
    "铝合金": 1.3,
    "陶瓷": 1.1,
    "雪纺": 1.0,
    "棉": 0.9,
    "牛仔布": 1.0,
    "帆布": 0.8,
    "网布": 1.0,
    "塑料": 0.8,
    "—": 1.0,
}
# Selling points per category, (zh, en): two go into each description.
FEATURES: dict[str, tuple[tuple[str, str], ...]] = {
    "dresses": (
        ("收腰显瘦", "a fitted waist"),
        ("垂感好", "a soft drape"),
        ("适合通勤和约会", "made for work and evenings"),
        ("不易起皱", "crease resistant"),
    ),
    "tops": (
        ("亲肤透气", "soft and breathable"),
        ("宽松版型", "a relaxed fit"),
        ("百搭基础款", "an easy everyday basic"),
        ("不易变形", "keeps its shape"),
    ),
    "trousers": (
        ("高腰显腿长", "a high waist"),
        ("微弹舒适", "a little stretch"),
        ("垂坠感强", "a clean drape"),
        ("四季可穿", "for every season"),
    ),
    "running_shoes": (
        ("缓震回弹", "responsive cushioning"),
        ("轻量透气", "light and breathable"),
        ("防滑耐磨大底", "a grippy, hard-wearing outsole"),
        ("适合日常慢跑", "made for daily runs"),
    ),
    "casual_shoes": (
        ("软底舒适", "a soft sole"),
        ("百搭不挑衣服", "goes with everything"),
        ("久走不累", "comfortable all day"),
        ("经典款型", "a classic shape"),
    ),
    "bags": (
        ("大容量", "roomy inside"),
        ("多隔层收纳", "several compartments"),
        ("可调节肩带", "an adjustable strap"),
        ("通勤旅行都合适", "right for work and travel"),
    ),
    "electronics_accessories": (
        ("支持快充", "fast charging"),
        ("兼容主流手机", "works with most phones"),
        ("小巧便携", "small and portable"),
        ("一年质保", "a one-year warranty"),
    ),
    "beauty": (
        ("温和不刺激", "gentle on skin"),
        ("持久不脱妆", "long-lasting"),
        ("适合敏感肌", "suits sensitive skin"),
        ("质地轻薄", "a light texture"),
    ),
    "home": (
        ("柔软亲肤", "soft to the touch"),
        ("可机洗", "machine washable"),
        ("简约北欧风", "a simple Nordic look"),
        ("送礼自用皆宜", "a good gift"),
    ),
}
STOCK_LEVELS = (0, 0, 2, 5, 10, 25, 50)


@dataclass
class GeneratedVariant:
    sku: str
    color: str
    size: str
    stock: int
    price_cents: int


@dataclass
class GeneratedProduct:
    code: str
    category: str
    brand: str
    style_zh: str
    style_en: str
    color: str  # the main colour, named in the title
    material: str
    title_zh: str
    title_en: str
    description_zh: str
    description_en: str
    price_cents: int
    rating: float
    image_url: str
    variants: list[GeneratedVariant] = field(default_factory=list)

    @property
    def in_stock(self) -> bool:
        return any(v.stock > 0 for v in self.variants)

    @property
    def colors(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(v.color for v in self.variants))

    @property
    def sizes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(v.size for v in self.variants))

    @property
    def stock(self) -> int:
        return sum(v.stock for v in self.variants)


def product_code(number: int) -> str:
    """P00001 … P99999, then P100000 and on (the code grows past five digits)."""
    return f"P{number:05d}"


def _titles(
    spec: CategorySpec, brand: str, color: str, material: str, style: tuple[str, str]
) -> tuple[str, str]:
    color_zh = COLOR_BY_CODE[color].zh
    if material == "—":
        return f"{brand} {color_zh}{style[0]}", f"{brand} {color} {style[1]}"
    return (
        f"{brand} {color_zh}{material}{style[0]}",
        f"{brand} {color} {MATERIAL_EN[material]} {style[1]}",
    )


def generate_catalog(size: int, seed: int = 42) -> list[GeneratedProduct]:
    """`size` products, categories in turn so every category is equally present."""
    rng = random.Random(seed)  # noqa: S311 - seed data, not secrets
    products: list[GeneratedProduct] = []
    for n in range(size):
        spec = CATEGORY_SPECS[n % len(CATEGORY_SPECS)]
        style = rng.choice(spec.styles)
        brand = rng.choice(spec.brands)
        material = rng.choice(spec.materials_of(style[0]))
        color = rng.choice(COLORS).code
        code = product_code(n + 1)
        # Brands have a price position; materials move the price; whole yuan.
        brand_factor = 0.8 + 0.1 * spec.brands.index(brand)
        price = int(spec.base_price * brand_factor * MATERIAL_PRICE_FACTOR[material])
        price = max(9, price + rng.randrange(-30, 60)) * 100
        title_zh, title_en = _titles(spec, brand, color, material, style)
        features = rng.sample(FEATURES[spec.code], k=2)
        material_zh = "" if material == "—" else f"{material}材质，"
        material_en = "" if material == "—" else f"{MATERIAL_EN[material]}, "
        product = GeneratedProduct(
            code=code,
            category=spec.code,
            brand=brand,
            style_zh=style[0],
            style_en=style[1],
            color=color,
            material=material,
            title_zh=title_zh,
            title_en=title_en,
            description_zh=f"{brand}{style[0]}，{material_zh}{features[0][0]}，{features[1][0]}。",
            description_en=f"A {style[1]} by {brand}: {material_en}"
            f"{features[0][1]} and {features[1][1]}.",
            price_cents=price,
            rating=round(rng.triangular(3.2, 5.0, 4.6), 1),
            # Served by the demo shop page (web/): a generated placeholder per product.
            image_url=f"/img/{code}.svg",
        )
        others = [c.code for c in COLORS if c.code != color]
        colors = [color, *rng.sample(others, k=rng.choice((0, 0, 1, 2)))]
        for variant_color in colors:
            for variant_size in spec.sizes:
                product.variants.append(
                    GeneratedVariant(
                        sku=f"{code}-{variant_color.upper()}-{variant_size}",
                        color=variant_color,
                        size=variant_size,
                        stock=rng.choice(STOCK_LEVELS),
                        price_cents=price,
                    )
                )
        products.append(product)
    return products
