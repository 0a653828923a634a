"""The language rule behind the `language` slot."""

import pytest

from addons.language import detect_language


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("你好", "zh"),
        ("我想买一件红色的连衣裙", "zh"),
        ("iPhone 15 的手机壳有红色吗", "zh"),
        ("我要退这个order", "zh"),
        ("请问 invoice 可以开吗", "zh"),
        ("hello", "en"),
        ("hi", "en"),
        ("Can I return this dress?", "en"),
        ("Is the 连衣裙 available in red?", "en"),
        ("ok", "en"),
    ],
)
def test_detects_language_of_shopper_text(text: str, expected: str) -> None:
    assert detect_language(text) == expected


@pytest.mark.parametrize("text", ["A1234567", "XL", "123456", "😀👍", "", "   ", "?!"])
def test_text_without_language_keeps_the_conversation_language(text: str) -> None:
    assert detect_language(text) is None


def test_balanced_mixed_text_is_decided_by_the_detector() -> None:
    # Two Han characters against two English words: neither script dominates.
    assert detect_language("退货 return policy") in {"zh", "en"}
    assert detect_language("what about the 退货") == "en"
