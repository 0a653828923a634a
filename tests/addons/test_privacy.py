"""What a stored conversation keeps: no customer token, no phone digits."""

from __future__ import annotations

from addons.privacy import private_events


def user(text: str, **extra: object) -> dict[str, object]:
    return {"event": "user", "text": text, "parse_data": {"text": text, "entities": []}, **extra}


def test_a_phone_answer_is_masked_and_the_token_dropped() -> None:
    events = [
        user("帮我查订单A1000002", metadata={"customer_token": "eyJ.secret", "other": 1}),
        {"event": "active_loop", "name": "order_form"},
        {"event": "slot", "name": "requested_slot", "value": "guest_phone"},
        user(
            "尾号5678",
            parse_data={"text": "尾号5678", "entities": [{"entity": "phone", "value": "5678"}]},
        ),
        {"event": "slot", "name": "guest_phone", "value": "尾号5678"},
        {"event": "slot", "name": "guest_phone", "value": "verified"},
        {"event": "active_loop", "name": None},
        user("订单A1000002的 300 元以内"),
    ]
    stored = list(private_events(events))
    assert stored[0]["text"] == "帮我查订单A1000002"
    assert stored[0]["metadata"] == {"other": 1}
    assert stored[3]["text"] == "尾号****"
    assert stored[3]["parse_data"] == {
        "text": "尾号****",
        "entities": [{"entity": "phone", "value": "****"}],
    }
    assert stored[4]["value"] == "尾号****"
    assert stored[5]["value"] == "verified"
    assert stored[7]["text"] == "订单A1000002的 300 元以内"  # not a phone answer: kept
    assert len(stored) == len(events)
    assert events[3]["text"] == "尾号5678"  # the tracker in flight is untouched


def test_long_numbers_are_masked_anywhere_but_order_numbers_kept() -> None:
    [stored] = private_events([user("我手机 138 1234 5678，订单 A1000001，要 2 件")])
    assert stored["text"] == "我手机 *** **** ****，订单 A1000001，要 2 件"
