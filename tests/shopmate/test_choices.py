"""Which shown option the shopper means."""

from __future__ import annotations

import pytest

from shopmate.choices import Option, ordinal, pick
from shopmate.search.query import QueryParser

ITEMS = [
    Option(11, ("真丝连衣裙", "连衣裙", "Silk dress", "dress"), "red", "M"),
    Option(12, ("托特包", "Tote bag", "Tote", "bag"), "black", "one-size"),
]
VARIANTS = [
    Option(1, ("红色 M",), "red", "M"),
    Option(3, ("红色 L",), "red", "L"),
    Option(5, ("黑色 L",), "black", "L"),
]


def choose(parser: QueryParser, text: str, options: list[Option], kind: str) -> Option | None:
    """As the change form chooses: the parser reads colours and sizes, pick matches."""
    colors, sizes = parser.variant_choice(text)
    return pick(text, options, kind, colors=colors, sizes=sizes)


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("第二个", 2),
        ("第 1 件", 1),
        ("两", None),
        ("the 2nd one", 2),
        ("the first", 1),
        ("2", 2),
        ("最后一个", -1),
        ("the last one", -1),
        ("连衣裙", None),
    ],
)
def test_ordinals_in_both_languages(text: str, position: int | None) -> None:
    assert ordinal(text) == position


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("item-12", 12),
        ("第一个", 11),
        ("the second one", 12),
        ("退那条连衣裙", 11),
        ("the bag please", 12),
        ("就那个包", 12),
        ("裙子那件", 11),
        ("红色的", 11),
        ("第三个", None),  # only two shown
        ("item-99", None),  # not one of the options
        ("variant-11", None),  # a button of another kind
        ("都不是", None),
    ],
)
def test_items_are_picked_by_button_position_name_or_colour(
    query_parser: QueryParser, text: str, expected: int | None
) -> None:
    chosen = choose(query_parser, text, ITEMS, "item")
    assert (chosen.id if chosen else None) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("variant-3", 3),
        ("换成 L 码红色的", 3),
        ("black, size L", 5),
        ("黑色", 5),
        ("L", None),  # two L variants: ask again rather than guess
        ("XL", None),
        ("M", 1),  # a bare letter is a size while variants are on screen
        ("M red", 1),
        ("the red one in L", 3),
        ("要黑的", 5),
    ],
)
def test_variants_are_picked_by_size_and_colour(
    query_parser: QueryParser, text: str, expected: int | None
) -> None:
    chosen = choose(query_parser, text, VARIANTS, "variant")
    assert (chosen.id if chosen else None) == expected


@pytest.mark.parametrize(
    ("text", "colors", "sizes"),
    [
        ("M", (), ("M",)),
        ("M red", ("red",), ("M",)),
        ("换成 L 码的红色", ("red",), ("L",)),
        ("black, size 38", ("black",), ("38",)),
        ("the bag please", (), ()),
    ],
)
def test_variant_choice_reads_letters_as_sizes(
    query_parser: QueryParser, text: str, colors: tuple[str, ...], sizes: tuple[str, ...]
) -> None:
    assert query_parser.variant_choice(text) == (colors, sizes)
