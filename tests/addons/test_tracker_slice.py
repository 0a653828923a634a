"""Rasa sends the action server the last ACTION_TRACKER_EVENTS events of a conversation
(built and checked in the Rasa runtime, tests/addons/rasa_runtime/check_tracker_slice.py),
and every reading of the tracker the actions make gives the same answer on the slice
as on the whole tracker: rasa-sdk's own (form slot candidates, input channel, latest
message) and the actions' helpers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rasa_sdk import Action, Tracker
from rasa_sdk.endpoint import create_app
from rasa_sdk.executor import ActionExecutor, CollectingDispatcher

from actions.order_changes import ActionSubmitOrderChange
from actions.orders import last_order_intent
from actions.support.conversation import latest_text, message_text, previous_user_text
from actions.support.identity import verified_orders
from addons.settings import (
    DEFAULT_ACTION_TRACKER_EVENTS,
    DEFAULT_ACTION_TRACKER_FULL_FOR,
    action_request_settings,
)
from tests.conftest import run_in_rasa_runtime


@pytest.fixture(scope="module")
def bodies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("slice") / "bodies.json"
    result = run_in_rasa_runtime("tests.addons.rasa_runtime.check_tracker_slice", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "tracker slice: ok" in result.stdout
    loaded: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return loaded


def readings(tracker: Tracker) -> dict[str, Any]:
    return {
        "last_order_intent": last_order_intent(tracker),
        "previous_user_text": previous_user_text(tracker),
        "latest_text": latest_text(tracker),
        "message_text": message_text(tracker),
        "input_channel": tracker.get_latest_input_channel(),
        "slots_to_validate": tracker.slots_to_validate(),
        "verified_orders": verified_orders(tracker),
        "active_loop": tracker.active_loop_name,
        "latest_action_name": tracker.latest_action_name,
        "idempotency_key": ActionSubmitOrderChange._idempotency_key(tracker, "A1000004", 7),
        "slots": tracker.slots,
        "intent": tracker.get_intent_of_latest_message(),
    }


def test_every_reading_of_the_actions_is_the_same_on_the_slice(bodies: dict[str, Any]) -> None:
    full = Tracker.from_dict(bodies["full"]["tracker"])
    sliced = Tracker.from_dict(bodies["sliced"]["tracker"])
    assert len(sliced.events) == DEFAULT_ACTION_TRACKER_EVENTS < len(full.events)
    assert readings(sliced) == readings(full)
    # The conversation was built so that these read something (not just None == None).
    assert readings(full)["last_order_intent"] == "check_order_status"
    assert readings(full)["previous_user_text"] == "A1000004"
    assert readings(full)["input_channel"] == "socketio"
    validate = Tracker.from_dict(bodies["validate"]["tracker"])
    assert validate.slots_to_validate() == {"guest_phone": "1234", "order_id": "A1000004"}


def test_the_request_settings() -> None:
    default = action_request_settings({})
    assert default.tracker_events == DEFAULT_ACTION_TRACKER_EVENTS == 120
    assert default.full_tracker_actions == DEFAULT_ACTION_TRACKER_FULL_FOR
    assert not default.send_domain_always
    custom = action_request_settings(
        {
            "ACTION_TRACKER_EVENTS": "0",
            "ACTION_TRACKER_FULL_FOR": "action_handoff, action_x",
            "ACTION_SEND_DOMAIN": "Always",
        }
    )
    assert custom.tracker_events == 0
    assert custom.full_tracker_actions == ("action_handoff", "action_x")
    assert custom.send_domain_always
    assert action_request_settings({"ACTION_TRACKER_FULL_FOR": ""}).full_tracker_actions == ()
    assert action_request_settings({"ACTION_TRACKER_EVENTS": "lots"}).tracker_events == 120


def test_the_bodies_file_is_what_rasa_would_send(bodies: dict[str, Any]) -> None:
    # Rasa's body (slice off) carries the whole domain; the sliced one `{}`.
    assert bodies["full"]["domain"]
    assert bodies["sliced"]["domain"] == {}


class CountingEventsAction(Action):
    def name(self) -> str:
        return "action_count_events"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
    ) -> list[dict[str, Any]]:
        dispatcher.utter_message(text=f"{len(tracker.events)} events")
        return []


async def test_the_action_server_takes_the_sliced_body_and_needs_a_domain_key(
    bodies: dict[str, Any],
) -> None:
    """rasa-sdk 3.21 runs an action given `"domain": {}`, and refuses (449) a call with
    no domain at all: why Rasa's own selective domain is not used."""
    executor = ActionExecutor()
    executor.register_action(CountingEventsAction)
    app = create_app(executor)
    body = {**bodies["sliced"], "next_action": "action_count_events"}
    _, reply = await app.asgi_client.post("/webhook", json=body)
    assert reply.status == 200
    assert reply.json["responses"][0]["text"] == f"{DEFAULT_ACTION_TRACKER_EVENTS} events"
    _, refused = await app.asgi_client.post(
        "/webhook", json={k: v for k, v in body.items() if k != "domain"}
    )
    assert refused.status == 449
