"""addons/remote_actions.py's request body, checked in the Rasa runtime by
tests/addons/test_tracker_slice.py: the last ACTION_TRACKER_EVENTS events, the slots,
the latest message and the active loop of a long conversation; the domain only for the
actions that need it; every event for the handoff; Rasa's own body with the slice off.

Writes the bodies it built to the JSON file named by its argument, so that the action
server's side (rasa-sdk and the actions' helpers, Python 3.11) can read them back.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from typing import Any

from rasa.core.actions.action import RemoteAction
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

import addons.stores  # noqa: F401 - what installs the patch, as Rasa loads it
from addons import remote_actions

DOMAIN = Domain.load("domain")
ENDPOINT = EndpointConfig("http://127.0.0.1:1/webhook")
LIMIT = remote_actions.REQUEST.tracker_events


def turn(text: str, intent: str, *actions: str, **slots: Any) -> list[Event]:
    """One shopper turn as Rasa logs it: the message, its slots, the actions, replies."""
    events: list[Event] = [
        UserUttered(
            text,
            {"name": intent, "confidence": 0.97},
            [{"entity": "language", "value": "zh", "start": 0, "end": 0}],
            parse_data={
                "intent": {"name": intent, "confidence": 0.97},
                "entities": [],
                "text": text,
                "intent_ranking": [{"name": intent, "confidence": 0.97}],
            },
            input_channel="socketio",
        ),
        ActionExecuted("action_extract_slots"),
        *(SlotSet(name, value) for name, value in slots.items()),
    ]
    for action in actions:
        events += [
            ActionExecuted(action),
            BotUttered(f"{action} 的回复", metadata={"utter_action": action}),
        ]
    return [*events, ActionExecuted("action_listen")]


def conversation() -> list[Event]:
    events: list[Event] = [
        ActionExecuted("action_session_start"),
        SessionStarted(),
        ActionExecuted("action_listen"),
    ]
    for i in range(70):  # 70 earlier turns of policy questions and small talk
        events += turn(f"问题{i}：运费怎么算", "ask_faq", "action_answer_faq", language="zh")
    # The order question the last turns are about, then the form asking for the proof.
    events += turn("我的订单到哪了", "check_order_status", "order_form", requested_slot="order_id")
    events.insert(-1, ActiveLoop("order_form"))
    for attempt in range(5):
        events += turn(f"A100000{attempt}", "inform", "order_form", order_id=f"A100000{attempt}")
    # The latest message: the phone, with the form's slot candidates at the very end
    # (how Rasa calls validate_order_form).
    events += [
        UserUttered(
            "手机尾号1234", {"name": "inform", "confidence": 0.9}, input_channel="socketio"
        ),
        ActionExecuted("action_extract_slots"),
        SlotSet("guest_phone", "1234"),
        SlotSet("order_id", "A1000004"),
    ]
    return events


def body_for(action: str, tracker: DialogueStateTracker) -> dict[str, Any]:
    return RemoteAction(action, ENDPOINT)._action_call_format(tracker, DOMAIN)


def check() -> dict[str, Any]:
    assert RemoteAction._action_call_format.__module__ == "addons.remote_actions"
    assert LIMIT == 120, LIMIT
    tracker = DialogueStateTracker.from_events("slice-check", conversation(), DOMAIN.slots)
    events = [event.as_dict() for event in tracker.events]
    assert len(events) > 3 * LIMIT, len(events)
    rasa = remote_actions._rasa_action_call_format(
        RemoteAction("action_answer_order", ENDPOINT), tracker, DOMAIN
    )

    answer = body_for("action_answer_order", tracker)
    state = answer["tracker"]
    assert len(state["events"]) == LIMIT
    assert state["events"] == events[-LIMIT:], "the last events, exactly as Rasa serialises them"
    for key in (
        "slots",
        "latest_message",
        "active_loop",
        "latest_action",
        "latest_action_name",
        "paused",
        "followup_action",
        "latest_input_channel",
        "latest_event_time",
        "sender_id",
    ):
        assert state[key] == rasa["tracker"][key], key
    assert state["slots"]["order_id"] == "A1000004"
    assert state["active_loop"]["name"] == "order_form"
    assert state["latest_message"]["text"] == "手机尾号1234"
    assert answer["domain"] == {}, "a domain only for the actions that need it"
    assert {k: v for k, v in answer.items() if k not in ("tracker", "domain")} == {
        k: v for k, v in rasa.items() if k not in ("tracker", "domain")
    }
    assert len(json.dumps(answer)) * 4 < len(json.dumps(rasa))

    # A form's validation and the product copy get the domain; the handoff every event.
    validate = body_for("validate_order_form", tracker)
    assert validate["domain"] == DOMAIN.as_dict()
    assert body_for("action_write_product_copy", tracker)["domain"] == DOMAIN.as_dict()
    handoff = body_for("action_handoff", tracker)
    assert handoff["tracker"]["events"] == events
    assert body_for("action_file_complaint", tracker)["tracker"]["events"] == events

    # More slot candidates at the end than the limit: all of them, and the event before.
    many = DialogueStateTracker.from_events(
        "slice-slots",
        [*conversation(), *(SlotSet("guest_phone", str(i)) for i in range(LIMIT + 30))],
        DOMAIN.slots,
    )
    widened = body_for("validate_order_form", many)["tracker"]["events"]
    # conversation() ends with two slot candidates itself: 2 + LIMIT + 30, and one more.
    assert len(widened) == LIMIT + 33, len(widened)
    assert widened[0]["event"] != "slot"
    assert all(e["event"] == "slot" for e in widened[1:])

    # A short conversation is sent whole; ACTION_TRACKER_EVENTS=0 with
    # ACTION_SEND_DOMAIN=always is Rasa's body, byte for byte.
    short = DialogueStateTracker.from_events("slice-short", conversation()[:30], DOMAIN.slots)
    assert body_for("action_answer_faq", short)["tracker"]["events"] == [
        e.as_dict() for e in short.events
    ]
    default = remote_actions.REQUEST
    try:
        remote_actions.REQUEST = replace(default, tracker_events=0, send_domain_always=True)
        assert body_for("action_answer_order", tracker) == rasa
        remote_actions.REQUEST = replace(default, tracker_events=0)
        assert body_for("action_answer_order", tracker)["tracker"]["events"] == events
    finally:
        remote_actions.REQUEST = default
    return {"full": rasa, "sliced": answer, "validate": {**validate, "domain": {}}}


bodies = check()
if len(sys.argv) > 1:
    with open(sys.argv[1], "w", encoding="utf-8") as out:
        json.dump(bodies, out)
print("tracker slice: ok")
