"""What Rasa sends to the action server, and how it checks the reply.

The reply: Rasa checks every action server reply against a fixed JSON schema. Rasa 3.6
does it with `jsonschema.validate`, which first checks the schema itself against the
JSON Schema meta-schema, on every call: in a profile of a long conversation that was
8 % of Rasa's time, about as much as the NLU's sentence embedding. The reply is still
checked against the same schema, the same way (same errors); the schema is checked once.

The request: Rasa 3.6 sends the whole tracker (every event of the session, serialised
by Rasa and parsed again by rasa-sdk) and the whole domain (~90 KB of JSON) with every
action call, so a long conversation pays for its length on every turn. Here the action
server gets the slots, the latest message, the active loop and the rest of Rasa's
tracker state as before, but only the last ACTION_TRACKER_EVENTS events (default 120,
0 = all; a form's slot candidates at the end are always sent whole), which is what
every action reads (docs/benchmarks.md, "Cheaper turns"). The actions named in
ACTION_TRACKER_FULL_FOR (the handoff and the complaint, whose transcript goes to the
agent) still get every event. The domain goes only to the actions that need it, the
ones Rasa itself would send it to with `enable_selective_domain` (every `validate_*`
form action and those marked `send_domain: true`); the others get `{}`, not nothing:
the action server's rasa-sdk (3.21) answers a call without a domain with 449, which
Rasa 3.6 cannot handle, so Rasa's own `enable_selective_domain: true` in endpoints.yml
would fail every other action (ACTION_SEND_DOMAIN=always restores Rasa's behaviour).
"""

from __future__ import annotations

import functools
import itertools
from typing import Any

import rasa
from jsonschema import ValidationError, validators
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import SlotSet
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity

from addons.settings import action_request_settings

REQUEST = action_request_settings()
_rasa_action_call_format = RemoteAction._action_call_format


@functools.cache
def action_reply_validator() -> Any:
    schema = RemoteAction.action_response_format_spec()
    validator_class = validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    try:
        action_reply_validator().validate(result)
    except ValidationError as error:
        error.message += (
            ". Failed to validate Action server response from API, make sure your "
            "response from the Action endpoint is valid. For more information about "
            f"the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise
    return True


def sliced_events(tracker: DialogueStateTracker, limit: int) -> list[dict[str, Any]]:
    """The last `limit` events as Rasa serialises them (all when `limit` is 0 or the
    tracker is shorter), widened to keep a trailing run of SlotSet events whole with
    the event before it: rasa-sdk's `slots_to_validate` reads a form's slot candidates
    back to the first event that is not a SlotSet."""
    events = tracker.events
    if limit <= 0 or len(events) <= limit:
        return [event.as_dict() for event in events]
    trailing_slots = 0
    for event in reversed(events):
        if not isinstance(event, SlotSet):
            break
        trailing_slots += 1
    count = min(len(events), max(limit, trailing_slots + 1))
    newest_first = list(itertools.islice(reversed(events), count))
    return [event.as_dict() for event in reversed(newest_first)]


def action_call_format(self: RemoteAction, tracker: DialogueStateTracker, domain: Any) -> Any:
    """Rasa's request body, with the tracker's events sliced and the domain only for
    the actions that need it (see the module's docstring)."""
    name = self.name()
    limit = 0 if name in REQUEST.full_tracker_actions else REQUEST.tracker_events
    if limit <= 0 and REQUEST.send_domain_always:
        return _rasa_action_call_format(self, tracker, domain)
    state = tracker.current_state(EventVerbosity.NONE)
    state["events"] = sliced_events(tracker, limit)
    result: dict[str, Any] = {
        "next_action": self._name,
        "sender_id": tracker.sender_id,
        "tracker": state,
        "version": rasa.__version__,
    }
    if domain.does_custom_action_explicitly_need_domain(name) or (
        REQUEST.send_domain_always and not self._is_selective_domain_enabled()
    ):
        result["domain"] = domain.as_dict()
    elif not REQUEST.send_domain_always:
        # Not nothing: rasa-sdk 3.21 answers a call without a domain with 449.
        result["domain"] = {}
    return result


def install() -> None:
    """Idempotent; Rasa imports addons/stores.py (endpoints.yml), which calls it."""
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]
    RemoteAction._action_call_format = action_call_format  # type: ignore[method-assign]
