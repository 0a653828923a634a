"""The entity labels of query understanding, and the text normalisation every part shares."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

CATEGORY: Final = "CATEGORY"
COLOR: Final = "COLOR"
SIZE: Final = "SIZE"
BRAND: Final = "BRAND"
MATERIAL: Final = "MATERIAL"
STYLE: Final = "STYLE"
PRICE: Final = "PRICE"
CHEAPER: Final = "CHEAPER"
PRICIER: Final = "PRICIER"
OTHER_COLOR: Final = "OTHER_COLOR"
IN_STOCK: Final = "IN_STOCK"

# For the same words, the first label wins ("jeans": style before category).
_LABEL_PRIORITY: Final = {STYLE: 0, CATEGORY: 1, BRAND: 2, MATERIAL: 3, COLOR: 4, SIZE: 5}
_KEY_SEP: Final = "\x1f"

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_ALL_HAN = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+$")
_WORD = re.compile(r"\w")


def normalise(text: str) -> str:
    """NFKC (full-width digits, letters and ￥ become ASCII) and trimmed whitespace."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip()


def _lower_same_length(text: str) -> str:
    return "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in text)
