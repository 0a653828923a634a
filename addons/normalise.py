"""What the featurizers see of a token: arbitrary identifiers become placeholders.

Order numbers are arbitrary strings ("B4466800"). Seen as themselves, their character
n-grams taught DIET that a message with an order number is `inform`, so "取消订单
B4466800" lost to "订单号是 A6331182". As one placeholder they say only "an order
number is here"; the entity extractor still reads the real text and offsets.
"""

from __future__ import annotations

import re

ORDER_NUMBER = re.compile(r"[A-Za-z]-?\d{7}")
ORDER_PLACEHOLDER = "__ORDER__"


def feature_lemma(text: str) -> str:
    """The form of a token the featurizers use (Rasa uses `lemma` for that)."""
    if ORDER_NUMBER.fullmatch(text):
        return ORDER_PLACEHOLDER
    return text
