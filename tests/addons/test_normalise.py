"""Order numbers reach the featurizers as one placeholder."""

import pytest

from addons.normalise import ORDER_PLACEHOLDER, feature_lemma


@pytest.mark.parametrize("text", ["A1000001", "b4466800", "C-1234567"])
def test_order_numbers_become_one_placeholder(text: str) -> None:
    assert feature_lemma(text) == ORDER_PLACEHOLDER


@pytest.mark.parametrize("text", ["取消", "订单", "A123", "12345678", "XL", "A10000012"])
def test_other_tokens_are_unchanged(text: str) -> None:
    assert feature_lemma(text) == text
