"""Elliptical follow-ups are read with the question before them."""

from __future__ import annotations

import pytest

from shopmate.followup import follow_up_topic


@pytest.mark.parametrize(
    ("text", "language", "topic"),
    [
        ("and what about returns?", "en", "returns"),
        ("What about Canada", "en", "canada"),
        ("and for exchanges too?", "en", "exchanges"),
        ("那运费呢", "zh", "运费"),
        ("香港呢？", "zh", "香港"),
        ("还有发票呢", "zh", "发票"),
        ("那如果是香港呢", "zh", "香港"),
        ("what about it?", "en", ""),
        ("那这个呢", "zh", ""),
    ],
)
def test_a_follow_up_is_reduced_to_its_topic(text: str, language: str, topic: str) -> None:
    assert follow_up_topic(text, language) == topic


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("do you ship to Hong Kong?", "en"),
        ("退货怎么退", "zh"),
        ("and", "en"),
        ("how long does a refund take if I paid with a credit card and the order was split", "en"),
        ("我想问一下如果商品有质量问题怎么退货呢", "zh"),
    ],
)
def test_a_question_of_its_own_is_not_a_follow_up(text: str, language: str) -> None:
    assert follow_up_topic(text, language) is None
