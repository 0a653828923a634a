"""Delivery addresses typed in one message, in Chinese and English."""

from __future__ import annotations

import pytest

from shopmate.address import ParsedAddress, parse_address


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "浙江省杭州市西湖区文三路 1 号 310000",
            ParsedAddress("浙江省", "杭州市", "西湖区文三路1号", "310000"),
        ),
        (
            "改成上海市浦东新区世纪大道100号，李四 13900001111",
            ParsedAddress("上海市", "上海市", "浦东新区世纪大道100号", "", "李四", "13900001111"),
        ),
        ("北京朝阳区建国路88号", ParsedAddress("北京市", "北京市", "朝阳区建国路88号")),
        (
            "新地址是：江苏省南京市鼓楼区中山路 8 号 2 栋 301 室",
            ParsedAddress("江苏省", "南京市", "鼓楼区中山路8号2栋301室"),
        ),
        (
            "12 Main St, Springfield, IL 62704",
            ParsedAddress("IL", "Springfield", "12 Main St", "62704"),
        ),
        (
            "new address: 1 Infinite Loop, Cupertino, CA 95014, USA",
            ParsedAddress("CA", "Cupertino", "1 Infinite Loop", "95014"),
        ),
    ],
)
def test_addresses_are_split_into_their_parts(text: str, expected: ParsedAddress) -> None:
    assert parse_address(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "上海", "我想改地址", "浙江省杭州市", "hello there", "Springfield, IL", "x" * 5000],
)
def test_text_without_a_city_and_a_street_is_not_an_address(text: str) -> None:
    assert parse_address(text) is None


def test_the_address_reads_back_as_written() -> None:
    zh = parse_address("浙江省杭州市西湖区文三路 1 号 310000，王五")
    assert zh is not None
    assert zh.one_line() == "浙江省杭州市西湖区文三路1号（310000），王五"
    en = parse_address("12 Main St, Springfield, IL 62704")
    assert en is not None
    assert en.one_line() == "12 Main St, Springfield, IL 62704"
