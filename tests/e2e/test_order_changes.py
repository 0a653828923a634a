"""Order changes over REST with the trained model, the action server and a real order
database reset to the scenario of tests/factories.py before each test (Alice =
customer 1: A1000001 paid, A1000002 in transit, A1000003 delivered 3 days ago,
A1000004 10 days ago, A1000006 unpaid; Bob = customer 2)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from shopmate.db import models as m
from shopmate.db.session import Database
from tests.conftest import response_texts
from tests.e2e.conftest import ShopMate, customer_metadata, reset_scenario

pytestmark = pytest.mark.e2e


@pytest.fixture
def shop(shopmate: ShopMate) -> Iterator[Database]:
    """The order database the action server uses, as the scenario left it."""
    reset_scenario(shopmate.shop_db_url)
    database = Database(shopmate.shop_db_url)
    yield database
    database.dispose()


class Shopper:
    """One conversation: a logged-in shopper sends a fresh signed token every message."""

    def __init__(self, shopmate: ShopMate, sender: str, customer_id: int | None = None) -> None:
        self.shopmate, self.sender, self.customer_id = shopmate, sender, customer_id
        self.last: list[dict[str, Any]] = []

    def __call__(self, text: str) -> list[str]:
        metadata = customer_metadata(self.customer_id, self.sender) if self.customer_id else None
        self.last = self.shopmate.say(self.sender, text, metadata=metadata)
        return [message.get("text", "") for message in self.last]

    def buttons(self) -> list[str]:
        return [b["title"] for message in self.last for b in message.get("buttons", [])]


def text(domain: dict[str, Any], name: str, language: str, **values: Any) -> str:
    [template] = response_texts(domain, name, language)
    return template.format(**values)


def status(database: Database, number: str) -> m.OrderStatus:
    with database.session() as s:
        order = s.scalar(select(m.Order).where(m.Order.order_number == number))
        assert order is not None
        return order.status


def count(database: Database, model: type[m.Base]) -> int:
    with database.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


# --- cancel ---------------------------------------------------------------------------


def test_cancel_is_confirmed_then_done_and_a_repeat_changes_nothing_zh(
    shopmate: ShopMate, sender: str, domain: dict[str, Any], shop: Database
) -> None:
    alice = Shopper(shopmate, sender, customer_id=1)
    confirm = text(
        domain,
        "utter_confirm_cancel",
        "zh",
        order_number="A1000001",
        amount="¥350.00",
        method="支付宝",
    )
    assert alice("帮我取消订单A1000001") == [confirm]
    assert confirm.startswith("确认取消订单 A1000001 吗？")
    assert alice.buttons() == ["确认", "先不了"]
    assert status(shop, "A1000001") == m.OrderStatus.PAID  # nothing before the "yes"
    done = text(
        domain,
        "utter_cancel_done",
        "zh",
        order_number="A1000001",
        amount="¥350.00",
        method="支付宝",
    )
    assert alice("确认") == [done]
    assert status(shop, "A1000001") == m.OrderStatus.CANCELLED
    # Asking again: told it is already done, offered the refund status; one refund only.
    assert alice("取消订单A1000001") == [
        text(domain, "utter_refusal_already_cancelled", "zh", order_number="A1000001"),
        text(domain, "utter_next_check_refund_status", "zh", order_number="A1000001"),
    ]
    assert count(shop, m.Refund) == 1
    assert count(shop, m.AuditLog) == 1


def test_guest_cancels_after_proving_the_order_en(
    shopmate: ShopMate, sender: str, domain: dict[str, Any], shop: Database
) -> None:
    guest = Shopper(shopmate, sender)
    [asked] = guest("I want to cancel my order")
    # The change form says which change it starts, then asks for the order number.
    assert asked in response_texts(domain, "utter_ask_change_form_order_id", "en")
    assert asked.startswith("Sure, let's cancel an order.")
    assert guest("A1000001") == response_texts(domain, "utter_ask_guest_phone", "en")
    assert guest("5678") == [
        text(
            domain,
            "utter_confirm_cancel",
            "en",
            order_number="A1000001",
            amount="¥350.00",
            method="Alipay",
        )
    ]
    assert guest("yes")[0].startswith("Order A1000001 is cancelled.")
    assert status(shop, "A1000001") == m.OrderStatus.CANCELLED
    # The refund the cancel created is what the refund status now reports, without
    # proving the order again in the same conversation.
    [refund] = guest("where is my refund?")
    assert "A1000001" in refund
    assert "¥350.00" in refund
    assert "Alipay" in refund


def test_a_shipped_order_cannot_be_cancelled_and_the_shopper_is_told_why_en(
    shopmate: ShopMate, sender: str, domain: dict[str, Any], shop: Database
) -> None:
    alice = Shopper(shopmate, sender, customer_id=1)
    assert alice("please cancel order A1000002") == [
        text(domain, "utter_refusal_already_shipped", "en", order_number="A1000002"),
        text(domain, "utter_next_return_after_delivery", "en", order_number="A1000002"),
    ]
    assert status(shop, "A1000002") == m.OrderStatus.IN_TRANSIT


def test_a_corrected_order_number_is_confirmed_instead_zh(
    shopmate: ShopMate, sender: str, domain: dict[str, Any], shop: Database
) -> None:
    alice = Shopper(shopmate, sender, customer_id=1)
    assert alice("取消订单A1000006") == [
        text(domain, "utter_confirm_cancel_unpaid", "zh", order_number="A1000006")
    ]
    assert alice("不对，是A1000001")[-1] == text(
        domain,
        "utter_confirm_cancel",
        "zh",
        order_number="A1000001",
        amount="¥350.00",
        method="支付宝",
    )
    alice("确认")
    assert status(shop, "A1000001") == m.OrderStatus.CANCELLED
    assert status(shop, "A1000006") == m.OrderStatus.PENDING_PAYMENT


def test_no_at_the_confirmation_keeps_the_order_en(
    shopmate: ShopMate, sender: str, domain: dict[str, Any], shop: Database
) -> None:
    alice = Shopper(shopmate, sender, customer_id=1)
    alice("cancel order A1000001")
    assert alice("no") == [text(domain, "utter_change_kept", "en", order_number="A1000001")]
    assert status(shop, "A1000001") == m.OrderStatus.PAID
    assert count(shop, m.AuditLog) == 0


def test_someone_elses_order_cannot_be_cancelled(
    shopmate: ShopMate, sender: str, domain: dict[str, Any], shop: Database
) -> None:
    bob = Shopper(shopmate, sender, customer_id=2)
    replies = bob("cancel order A1000001")
    assert replies[0] == text(domain, "utter_order_not_found", "en", order_id="A1000001")
    assert not any("¥350.00" in r for r in replies)
    bob("yes")
    assert status(shop, "A1000001") == m.OrderStatus.PAID


# --- address --------------------------------------------------------------------------


def test_address_change_reads_the_new_address_back_zh(
    shopmate: ShopMate, sender: str, domain: dict[str, Any], shop: Database
) -> None:
    alice = Shopper(shopmate, sender, customer_id=1)
    assert alice("我想改一下订单A1000001的收货地址") == response_texts(
        domain, "utter_ask_new_address", "zh"
    )
    assert alice("改到杭州")[0] == response_texts(domain, "utter_invalid_address", "zh")[0]
    address = "浙江省杭州市西湖区文三路1号（310000）"
    assert alice("浙江省杭州市西湖区文三路 1 号 310000") == [
        text(domain, "utter_confirm_address", "zh", order_number="A1000001", address=address)
    ]
    assert alice("是的") == [
        text(domain, "utter_address_done", "zh", order_number="A1000001", address=address)
    ]
    with shop.session() as s:
        order = s.scalar(select(m.Order).where(m.Order.order_number == "A1000001"))
        assert order is not None
        assert (order.city, order.postal_code) == ("杭州市", "310000")


def test_address_of_a_shipped_order_is_refused_with_the_next_step_en(
    shopmate: ShopMate, sender: str, domain: dict[str, Any], shop: Database
) -> None:
    alice = Shopper(shopmate, sender, customer_id=1)
    assert alice("can I change the delivery address for A1000002?") == [
        text(domain, "utter_refusal_already_shipped", "en", order_number="A1000002"),
        text(domain, "utter_next_contact_carrier", "en", order_number="A1000002"),
    ]


# --- return ---------------------------------------------------------------------------


def test_return_with_a_policy_question_in_the_middle_zh(
    shopmate: ShopMate, sender: str, domain: dict[str, Any], shop: Database
) -> None:
    alice = Shopper(shopmate, sender, customer_id=1)
    [asked] = alice("我要退货")
    assert asked in response_texts(domain, "utter_ask_change_form_order_id", "zh")
    assert asked.startswith("好的，帮您退货。")
    interrupted = alice("退货运费谁出")
    # The answer to the question, then the form asks again for what it was waiting for.
    assert len(interrupted) == 2
    assert "运费" in interrupted[0]
    assert interrupted[-1] == asked
    assert alice("A1000003") == [
        text(domain, "utter_ask_return_item", "zh", order_number="A1000003")
    ]
    assert alice.buttons() == ["真丝连衣裙（红色 M）", "托特包（黑色）"]
    assert alice("第一件") == response_texts(domain, "utter_ask_return_reason", "zh")
    assert alice("尺码偏小") == [
        text(
            domain,
            "utter_confirm_return",
            "zh",
            order_number="A1000003",
            item="真丝连衣裙",
            quantity=1,
            amount="¥87.50",
        )
    ]
    done = alice("确认")
    assert done == [
        text(
            domain,
            "utter_return_done",
            "zh",
            order_number="A1000003",
            item="真丝连衣裙",
            quantity=1,
            amount="¥87.50",
            method="支付宝",
        )
    ]
    assert (count(shop, m.ReturnRequest), count(shop, m.Refund)) == (1, 1)
    # The dress is no longer offered for return; only the bag is left.
    # One item left: nothing to choose, the reason is asked straight away.
    assert alice("订单A1000003还想退一件") == response_texts(
        domain, "utter_ask_return_reason", "zh"
    )


def test_return_en_and_the_refund_is_the_items_share(
    shopmate: ShopMate, sender: str, domain: dict[str, Any], shop: Database
) -> None:
    alice = Shopper(shopmate, sender, customer_id=1)
    alice("I want to return something from order A1000003")
    assert alice.buttons() == ["Silk dress (red M)", "Tote bag (black)"]
    alice("the bag")
    assert alice("changed my mind") == [
        text(
            domain,
            "utter_confirm_return",
            "en",
            order_number="A1000003",
            item="Tote bag",
            quantity=1,
            amount="¥262.50",
        )
    ]
    assert alice("yes")[0].startswith("Your return is booked")
    with shop.session() as s:
        refund = s.scalar(select(m.Refund))
        assert refund is not None
        assert refund.amount_cents == 26250


def test_return_after_seven_days_is_refused_with_the_warranty_offered_zh(
    shopmate: ShopMate, sender: str, domain: dict[str, Any], shop: Database
) -> None:
    alice = Shopper(shopmate, sender, customer_id=1)
    assert alice("订单A1000004我要退货") == [
        text(domain, "utter_refusal_return_window_closed", "zh", order_number="A1000004"),
        text(domain, "utter_next_warranty", "zh", order_number="A1000004"),
    ]
    assert count(shop, m.ReturnRequest) == 0


# --- exchange -------------------------------------------------------------------------


def test_exchange_for_another_size_zh(
    shopmate: ShopMate, sender: str, domain: dict[str, Any], shop: Database
) -> None:
    alice = Shopper(shopmate, sender, customer_id=1)
    assert alice("订单A1000003的裙子想换个尺码") == [
        text(domain, "utter_ask_exchange_item", "zh", order_number="A1000003")
    ]
    assert alice("连衣裙") == response_texts(domain, "utter_ask_new_variant", "zh")
    assert alice.buttons() == ["红色 L"]
    assert alice("换成L码") == [
        text(
            domain,
            "utter_confirm_exchange",
            "zh",
            order_number="A1000003",
            item="真丝连衣裙",
            old_variant="红色 M",
            new_variant="红色 L",
        )
    ]
    assert alice("确认")[0].startswith("换货申请已提交")
    with shop.session() as s:
        assert s.get(m.Variant, 3).stock == 2  # type: ignore[union-attr]
        assert s.scalar(select(func.count()).select_from(m.Exchange)) == 1


def test_exchange_with_nothing_in_stock_is_refused_en(
    shopmate: ShopMate, sender: str, domain: dict[str, Any], shop: Database
) -> None:
    alice = Shopper(shopmate, sender, customer_id=1)
    alice("I'd like to exchange an item from order A1000003")
    assert alice("the tote bag") == [
        text(domain, "utter_refusal_no_other_variant", "en", order_number="A1000003"),
        text(domain, "utter_next_request_return", "en", order_number="A1000003"),
    ]
    assert count(shop, m.Exchange) == 0


# --- refund ---------------------------------------------------------------------------


def test_refund_of_an_unshipped_order_is_a_cancel_zh(
    shopmate: ShopMate, sender: str, domain: dict[str, Any], shop: Database
) -> None:
    alice = Shopper(shopmate, sender, customer_id=1)
    assert alice("订单A1000001我要退款") == [
        text(
            domain,
            "utter_confirm_cancel",
            "zh",
            order_number="A1000001",
            amount="¥350.00",
            method="支付宝",
        )
    ]
    alice("确认")
    assert status(shop, "A1000001") == m.OrderStatus.CANCELLED
    with shop.session() as s:
        refund = s.scalar(select(m.Refund))
        assert refund is not None
        assert refund.amount_cents == 35000


def test_refund_of_a_parcel_on_its_way_is_refused_en(
    shopmate: ShopMate, sender: str, domain: dict[str, Any], shop: Database
) -> None:
    alice = Shopper(shopmate, sender, customer_id=1)
    assert alice("I want a refund for order A1000002") == [
        text(domain, "utter_refusal_already_shipped", "en", order_number="A1000002"),
        text(domain, "utter_next_return_after_delivery", "en", order_number="A1000002"),
    ]
    assert count(shop, m.Refund) == 0
