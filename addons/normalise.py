"""What the featurizers see of a token: arbitrary identifiers become placeholders.

Order numbers are arbitrary strings ("B4466800"). Seen as themselves, their character
n-grams taught DIET that a message with an order number is `inform`, so "取消订单
B4466800" lost to "订单号是 A6331182". As one placeholder they say only "an order
number is here"; the entity extractor still reads the real text and offsets.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from shopmate.privacy import ORDER_NUMBER_WRITTEN

ORDER_NUMBER = ORDER_NUMBER_WRITTEN
ORDER_PLACEHOLDER = "__ORDER__"


def feature_lemma(text: str) -> str:
    """The form of a token the featurizers use (Rasa uses `lemma` for that)."""
    if ORDER_NUMBER.fullmatch(text):
        return ORDER_PLACEHOLDER
    return text


# Any CJK ideograph: a text without one has nothing to convert.
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


@functools.lru_cache(maxsize=1)
def _converter() -> Any:
    import opencc  # deferred: only a pipeline that uses this component needs it

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """`text` with Traditional characters replaced by Simplified ones, same length."""
    if not text or not _HAN.search(text):
        return text
    converter = _converter()
    converted = str(converter.convert(text))
    if len(converted) == len(text):
        return converted
    return "".join(
        simple if len(simple := str(converter.convert(char))) == 1 else char for char in text
    )
