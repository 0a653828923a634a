"""Grounding: invented facts are caught, faithful restatements (in other forms) pass."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shopmate.llm.grounding import check_grounding, extract_claims, parse_number

FACTS_ZH = [
    "订单号: A1234567",
    "状态: 已发货",
    "发货日期: 2026-11-20",
    "预计送达: 2026年11月22日 18:00",
    "金额: ¥12.50",
    "件数: 3件",
    "退货期限: 签收后7天",
    "发货时限: 48小时",
    "优惠: 8折",
    "商品: 《云朵T恤》",
    "材质: 棉",
]
FACTS_EN = [
    "order: A1234567",
    "shipped on: Nov 20, 2026",
    "total: $30",
    "items: 2 items",
    "return window: 15 days",
    "discount: 20% off",
    "product: “Cloud Tee”",
    "material: cotton",
]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("12.50", "12.5"),
        ("1,299.00", "1299"),
        ("１２", "12"),
        ("七", "7"),
        ("十五", "15"),
        ("二十四", "24"),
        ("一百零五", "105"),
        ("两万", "20000"),
        ("二零二六", "2026"),
        ("twenty-one", "21"),
        ("seven", "7"),
    ],
)
def test_numbers_in_any_script_parse_to_one_value(text: str, value: str) -> None:
    assert parse_number(text) == Decimal(value)


@pytest.mark.parametrize(
    "answer",
    [
        "您的订单A1234567已于2026-11-20发货，金额¥12.50，共3件。",
        # Normalised forms: 12.5元 == ¥12.50, full-width digits, Chinese numerals, no year.
        "订单 A1234567 于11月20日发货，金额12.5元。",
        "订单Ａ１２３４５６７金额１２.５０元，共三件。",
        "签收后七天内可以退货，48小时内发货。",
        "预计2026年11月22日下午6点送达。",
        "预计十一月二十二日18:00送达。",
        "《云朵T恤》纯棉材质，现在打八折。",
        "云朵T恤现在享受20%的优惠。",
        "您好，您的包裹已经在路上了，请耐心等待。",
    ],
)
def test_faithful_chinese_answers_pass(answer: str) -> None:
    result = check_grounding(answer, FACTS_ZH)
    assert result.ok, result.unsupported


@pytest.mark.parametrize(
    "answer",
    [
        "Your order A1234567 shipped on November 20, 2026; the total is $30.00.",
        "Order A1234567 shipped on 20 Nov for 30 dollars, 2 items.",
        "You can return it within fifteen days.",
        "The Cloud Tee is made of cotton and is 20% off.",
        "Thanks for waiting, your parcel is on its way!",
    ],
)
def test_faithful_english_answers_pass(answer: str) -> None:
    result = check_grounding(answer, FACTS_EN)
    assert result.ok, result.unsupported


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        ("您的订单A1234567金额¥15.00。", "money"),
        ("退款13元将原路退回。", "money"),
        ("只要300块。", "money"),
        ("订单B7654321已发货。", "identifier"),
        ("您的订单于2026-11-21发货。", "date"),
        ("您的订单于2025年11月20日发货。", "date"),
        ("预计11月25日送达。", "date"),
        ("预计明天送达。", "relative_date"),
        ("预计下午3点送达。", "time"),
        ("签收后15天内可以退货。", "duration"),
        ("签收后十五天内可以退货。", "duration"),
        ("24小时内发货。", "duration"),
        ("3个工作日内退款。", "duration"),
        ("现在打七折。", "percent"),
        ("全场50%优惠。", "percent"),
        ("您购买了5件商品。", "quantity"),
        ("《星空连衣裙》也很受欢迎。", "product_name"),
        ("这件T恤是真丝的。", "material"),
        ("本店全场包邮。", "promise"),
        ("还剩 42 个名额。", "quantity"),
        ("库存还有 17。", "number"),
    ],
)
def test_invented_chinese_facts_are_rejected(answer: str, kind: str) -> None:
    result = check_grounding(answer, FACTS_ZH)
    assert not result.ok
    assert kind in {claim.kind for claim in result.unsupported}


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        ("Your total is $35.", "money"),
        ("Order A7654321 is on its way.", "identifier"),
        ("It shipped on Nov 21, 2026.", "date"),
        ("It will arrive tomorrow.", "relative_date"),
        ("It will arrive by 5pm.", "time"),
        ("You can return it within 30 days.", "duration"),
        ("You can return it within a month.", "duration"),
        ("Everything is 50% off.", "percent"),
        ("You ordered 4 items.", "quantity"),
        ('Try our "Moon Dress" too.', "product_name"),
        ("The Cloud Tee is 100% silk.", "material"),
        ("Free shipping on every order.", "promise"),
        ("Call us on 13812345678.", "identifier"),
    ],
)
def test_invented_english_facts_are_rejected(answer: str, kind: str) -> None:
    result = check_grounding(answer, FACTS_EN)
    assert not result.ok
    assert kind in {claim.kind for claim in result.unsupported}


def test_bare_numbers_in_facts_back_numbers_with_units() -> None:
    facts = ["price: 12.50", "return_window_days: 7", "quantity: 3"]
    assert check_grounding("价格12.5元，7天内可退，共3件。", facts).ok
    assert check_grounding("Price ¥12.50, returns within 7 days.", facts).ok


def test_numbers_with_units_in_facts_only_back_their_own_kind() -> None:
    # "3件" in the facts does not make "3天" true.
    assert not check_grounding("3天内送达。", ["件数: 3件"]).ok


def test_fact_lines_are_read_one_by_one() -> None:
    # Read as one text, "12.50" and "items: 3" would become "12.50 items", a count that
    # could no longer back the price.
    facts = ["total: 12.50", "items: 3"]
    assert check_grounding("合计12.5元。", facts).ok


def test_known_catalog_names_need_the_facts() -> None:
    names = ["云朵T恤", "星空连衣裙", "Moon Dress"]
    assert check_grounding("云朵T恤很舒服。", FACTS_ZH, known_product_names=names).ok
    result = check_grounding("星空连衣裙也不错。", FACTS_ZH, known_product_names=names)
    assert [claim.kind for claim in result.unsupported] == ["product_name"]
    assert not check_grounding("The Moon Dress is nice.", FACTS_EN, known_product_names=names).ok


def test_years_and_articles_are_not_counts() -> None:
    # 一件 / 两点 read as "a" and "two points", not a count or 2 o'clock.
    assert check_grounding("这是一件很好的衣服，有两点需要注意。", FACTS_ZH).ok


def test_list_markers_are_layout() -> None:
    assert check_grounding("1. 订单A1234567已发货\n2. 金额¥12.50", FACTS_ZH).ok


def test_discounts_compare_across_notations() -> None:
    # 8折 means paying 80 %, i.e. 20 % off.
    assert check_grounding("现在八折。", ["discount: 20% off"]).ok
    assert check_grounding("20% off now.", ["优惠: 8折"]).ok
    assert not check_grounding("现在七五折。", ["discount: 20% off"]).ok


def test_durations_compare_across_units() -> None:
    assert check_grounding("一周内可以退货。", ["return window: 7 days"]).ok
    assert check_grounding("within 48 hours", ["发货时限: 2天"]).ok
    assert not check_grounding("within 48 hours", ["发货时限: 3天"]).ok


def test_claims_expose_kind_and_normalised_key() -> None:
    claims = extract_claims("¥12.50, 7天, A1234567")
    keys = {key for claim in claims for key in claim.keys}
    assert {"money:12.5", "dur:min:10080", "id:A1234567"} <= keys


def test_capitalised_names_must_come_from_the_facts() -> None:
    facts = ["name: Swift Runner", "carrier: SF Express"]
    assert check_grounding("Meet Swift Runner, shipped by SF Express.", facts).ok
    result = check_grounding("Spyder Runner is a revolutionary smartwatch.", facts)
    assert [claim.text for claim in result.unsupported] == ["Spyder Runner"]
    assert check_grounding("Thank You for waiting. Great News: it shipped.", facts).ok
