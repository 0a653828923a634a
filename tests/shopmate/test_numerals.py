"""One number parser, two named readings (shopmate/numerals.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shopmate.numerals import parse_number


@pytest.mark.parametrize(
    ("text", "spoken", "written"),
    [
        ("300", 300, 300),
        ("三百五", 350, 305),  # a shopper's "三百五" is 350
        ("两万五", 25000, 20005),
        ("1.5k", 1500, None),
        ("1,299.00", None, 1299),
        ("twenty-one", None, 21),
        ("１２", None, 12),  # full-width digits in a generated text
        ("abc", None, None),
    ],
)
def test_the_two_readings(text: str, spoken: int | None, written: int | None) -> None:
    as_spoken, as_written = parse_number(text, "spoken"), parse_number(text, "written")
    assert as_spoken == (None if spoken is None else Decimal(spoken))
    assert as_written == (None if written is None else Decimal(written))


def test_a_year_written_digit_by_digit() -> None:
    assert parse_number("二零二六", "written") == Decimal(2026)
