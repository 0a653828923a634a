"""Catalog vocabulary shared by the seed and the product catalog.

Materials are stored in Chinese; these are their English names. Kept apart from
seed.py so the catalog can read them without importing Faker.
"""

from __future__ import annotations

MATERIAL_EN: dict[str, str] = {
    "真丝": "silk",
    "棉": "cotton",
    "雪纺": "chiffon",
    "羊毛": "wool",
    "亚麻": "linen",
    "牛仔布": "denim",
    "网布": "mesh",
    "帆布": "canvas",
    "皮革": "leather",
    "塑料": "plastic",
    "铝合金": "aluminium",
    "陶瓷": "ceramic",
    "—": "—",  # no material (e.g. cosmetics)
}
