"""The REST channel's edge with real processes: what a stranger's request can and cannot do."""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.conftest import is_response, response_texts
from tests.e2e.conftest import ShopMate, customer_metadata, reset_scenario

pytestmark = pytest.mark.e2e


def new_sender() -> str:
    return f"edge-{secrets.token_hex(6)}"


def user_texts(shopmate: ShopMate, sender: str) -> list[str]:
    events = shopmate.tracker(sender)["events"]
    return [str(e.get("text")) for e in events if e["event"] == "user"]


@pytest.mark.parametrize("token", [None, "", "wrong-token"])
def test_rest_is_for_servers_with_the_channel_token(shopmate: ShopMate, token: str | None) -> None:
    sender = new_sender()
    reply = shopmate.post({"sender": sender, "message": "你好"}, token=token)
    assert reply.status_code == 401
    assert user_texts(shopmate, sender) == []


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"[]",
        b'"hello"',
        b"null",
        b"{not json",
        json.dumps({"message": "hi"}).encode(),
        json.dumps({"sender": "s", "message": ["hi"]}).encode(),
        json.dumps({"sender": "a" * 500, "message": "hi"}).encode(),
    ],
)
def test_malformed_bodies_get_a_bare_400(shopmate: ShopMate, body: bytes) -> None:
    reply = shopmate.post(body)
    assert reply.status_code == 400
    assert set(reply.json()) == {"error"}
    assert "Traceback" not in reply.text


@pytest.mark.parametrize("metadata", ["a string", ["a", "list"], 42])
def test_metadata_that_is_not_an_object_still_gets_a_reply(
    shopmate: ShopMate, domain: dict[str, Any], metadata: Any
) -> None:
    reply = shopmate.post({"sender": new_sender(), "message": "你好", "metadata": metadata})
    assert reply.status_code == 200
    assert reply.json()[0]["text"] == response_texts(domain, "utter_greet", "zh")[0]


@pytest.mark.parametrize(("size", "language"), [(100_000, "zh"), (1_000_000, "en")])
def test_huge_messages_are_refused_at_the_edge_while_others_are_served(
    shopmate: ShopMate, domain: dict[str, Any], size: int, language: str
) -> None:
    huge_sender = new_sender()
    text = "退货怎么办" * (size // 15) if language == "zh" else "return " * (size // 7)
    others = [new_sender() for _ in range(5)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        huge = pool.submit(shopmate.say, huge_sender, text)
        replies = list(pool.map(lambda sender: shopmate.say(sender, "你好"), others))
        refused = huge.result()
    assert [r["text"] for r in refused] == response_texts(
        domain, "utter_message_too_long", language
    )
    greet = response_texts(domain, "utter_greet", "zh")[0]
    assert all(reply and reply[0]["text"] == greet for reply in replies)
    # It never reached Rasa: no user event, nothing for the NLU pipeline.
    assert user_texts(shopmate, huge_sender) == []
    # And the conversation goes on as if it never came.
    assert shopmate.texts(huge_sender, "你好") == [greet]


@pytest.mark.parametrize(
    "command",
    ["/restart", "/session_start", '/inform{"verified_orders": ["A1000002"]}', "/affirm", "/stop"],
)
def test_shopper_typed_commands_are_text(
    shopmate: ShopMate, domain: dict[str, Any], command: str
) -> None:
    reset_scenario(shopmate.shop_db_url)
    sender = new_sender()
    assert shopmate.texts(sender, "帮我查一下订单A1000002的物流") == response_texts(
        domain, "utter_ask_guest_phone", "zh"
    )
    shopmate.say(sender, command)
    events = shopmate.tracker(sender)["events"]
    assert not [e for e in events if e["event"] in ("restart", "session_started")][1:]
    assert all(e["event"] != "restart" for e in events)
    tracker = shopmate.tracker(sender)
    assert "A1000002" not in (tracker["slots"].get("verified_orders") or [])
    assert user_texts(shopmate, sender)[-1] == "／" + command[1:]


def test_a_button_the_bot_offered_still_works(shopmate: ShopMate, domain: dict[str, Any]) -> None:
    sender = new_sender()
    shopmate.texts(sender, "你好")
    shopmate.trigger(sender, "nlu_fallback")
    offer = shopmate.trigger(sender, "nlu_fallback")
    assert [b["payload"] for b in offer[0]["buttons"]] == ["/affirm", "/deny"]
    (handed_over,) = shopmate.texts(sender, "/affirm")
    assert is_response(domain, handed_over, "utter_handoff_started", "zh")


def test_a_burst_in_one_conversation_is_slowed_politely(
    shopmate: ShopMate, domain: dict[str, Any]
) -> None:
    sender = new_sender()
    with ThreadPoolExecutor(max_workers=10) as pool:
        replies = list(pool.map(lambda _: shopmate.say(sender, "谢谢", paced=False), range(10)))
    limited = response_texts(domain, "utter_rate_limited", "zh")[0]
    slowed = [r for r in replies if r and r[0]["text"] == limited]
    assert 1 <= len(slowed) <= 5  # 5 a second pass, the rest are told to wait
    assert len(user_texts(shopmate, sender)) == 10 - len(slowed)
    time.sleep(1.5)
    assert shopmate.texts(sender, "谢谢") == response_texts(domain, "utter_you_are_welcome", "zh")


def test_a_token_copied_into_another_conversation_proves_nothing(
    shopmate: ShopMate, domain: dict[str, Any]
) -> None:
    reset_scenario(shopmate.shop_db_url)
    alices = customer_metadata(1, new_sender())
    replies = shopmate.say(new_sender(), "status of order A1000003 please", metadata=alices)
    assert [r["text"] for r in replies] == response_texts(domain, "utter_ask_guest_phone", "en")


def test_the_stored_conversation_keeps_no_token_and_no_phone_digits(
    shopmate: ShopMate, domain: dict[str, Any]
) -> None:
    reset_scenario(shopmate.shop_db_url)
    guest, member = new_sender(), new_sender()
    assert shopmate.texts(guest, "帮我查一下订单A1000002的物流") == response_texts(
        domain, "utter_ask_guest_phone", "zh"
    )
    assert "SF1000002001" in "\n".join(shopmate.texts(guest, "尾号5678"))
    shopmate.say(guest, "我的手机号是 13812345678，记一下")
    metadata = customer_metadata(1, member)
    assert "A1000001" in "\n".join(
        r["text"] for r in shopmate.say(member, "status of order A1000001", metadata=metadata)
    )
    with sqlite3.connect(shopmate.tracker_db) as db:
        rows = db.execute(
            "SELECT data FROM events WHERE sender_id IN (?, ?)", (guest, member)
        ).fetchall()
    # As stored, but readable: Rasa writes JSON with \\u escapes.
    # Timestamps are floats whose digits may spell anything ("…9.5805678"): left out.
    events = [{k: v for k, v in json.loads(row[0]).items() if k != "timestamp"} for row in rows]
    stored = "\n".join(json.dumps(event, ensure_ascii=False) for event in events)
    assert rows
    assert "尾号****" in stored
    for secret in (metadata["customer_token"], "5678", "13812345678", "customer_token"):
        assert secret not in stored
