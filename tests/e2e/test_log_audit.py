"""The logs of Rasa and the action server hold none of the seeded customers' personal
data after a conversation full of it (shopmate/log_redaction.py, and code that logs
types and counts, never message text or slots)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.conftest import ShopMate
from tests.e2e.log_audit import personal_data_in_logs, seeded_personal_data

pytestmark = pytest.mark.e2e

ALICE_PHONE = "13812345678"  # customer 1 of tests/factories.py
TYPED_EMAIL = "zhangsan.shopper@example.com"


def test_a_conversation_with_personal_data_leaves_none_in_the_logs(
    shopmate: ShopMate, sender: str, tmp_path: Path
) -> None:
    # Alice, a guest, proves order A1000001 with its number and her full phone, and
    # is told its status.
    shopmate.texts(sender, "订单A1000001现在什么状态")
    answer = shopmate.texts(sender, ALICE_PHONE)
    assert "A1000001" in (shopmate.tracker(sender)["slots"].get("verified_orders") or []), answer
    assert any("A1000001" in text for text in answer)
    # Then a message with an e-mail address and a phone number, in both languages.
    shopmate.texts(sender, f"我的邮箱是 {TYPED_EMAIL}，电话 138-1234-5678，发票请寄给我")
    shopmate.texts(f"{sender}-en", f"please email {TYPED_EMAIL} or call +86 138 1234 5678")

    needles = seeded_personal_data(shopmate.shop_db_url)
    assert ALICE_PHONE in needles  # the audit looks for what Alice typed
    assert "张三" in needles
    # Control: the audit sees each needle as a JSON line would write it, and a phone
    # with separators, so an empty answer below means the logs hold none of them.
    control = tmp_path / "control.log"
    control.write_text(
        "\n".join([*map(json.dumps, needles), "call +86-138-1234-5678"]), encoding="utf-8"
    )
    seen = personal_data_in_logs([control], [*needles, "+86 138 1234 5678"])
    assert {needle for _, needle in seen} == {*needles, "+86 138 1234 5678"}
    assert personal_data_in_logs(shopmate.logs, needles) == []
    assert personal_data_in_logs(shopmate.logs, [TYPED_EMAIL]) == []
