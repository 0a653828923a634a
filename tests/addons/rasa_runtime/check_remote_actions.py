"""addons/remote_actions.py, run in the Rasa runtime by tests/addons/test_remote_actions.py:
the action server's replies are still validated, with Rasa's schema and errors."""

from __future__ import annotations

from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

import addons.stores  # noqa: F401 - what installs the patch, as Rasa loads it

action = RemoteAction("action_answer_faq", EndpointConfig("http://127.0.0.1:1/webhook"))
assert RemoteAction._validate_action_result.__module__ == "addons.remote_actions"
good = {"events": [{"event": "slot", "name": "language", "value": "zh"}], "responses": []}
assert action._validate_action_result(good) is True
for bad in ({"events": "not a list"}, {"events": [{"no": "event key"}]}, {"responses": 3}):
    message = ""
    try:
        action._validate_action_result(bad)
    except ValidationError as error:
        message = error.message
    assert "Failed to validate Action server response" in message, bad
print("remote actions: ok")
