"""What a stored conversation keeps: no customer token, no phone digits."""

from __future__ import annotations

from shopmate.privacy import private_events


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


def test_the_session_start_copy_of_the_metadata_loses_the_token() -> None:
    events = [
        {
            "event": "slot",
            "name": "session_started_metadata",
            "value": {"customer_token": "t", "x": 1},
        },
        {"event": "session_started", "metadata": {"model_id": "m"}},
        user("hi", parse_data={"text": "hi", "metadata": {"customer_token": "t"}, "entities": []}),
    ]
    stored = list(private_events(events))
    assert stored[0]["value"] == {"x": 1}
    assert stored[1] == events[1]
    assert stored[2]["parse_data"]["metadata"] == {}


def test_a_phone_answer_keeps_its_order_number() -> None:
    events = [
        {"event": "slot", "name": "requested_slot", "value": "guest_phone"},
        user("是 A1000002 的，尾号 5678"),
    ]
    assert list(private_events(events))[1]["text"] == "是 A1000002 的，尾号 ****"


def test_long_numbers_are_masked_anywhere_but_order_numbers_kept() -> None:
    [stored] = private_events([user("我手机 138 1234 5678，订单 A1000001，要 2 件")])
    assert stored["text"] == "我手机 *** **** ****，订单 A1000001，要 2 件"
