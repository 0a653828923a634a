"""Rasa checks every action server reply against a fixed JSON schema. Rasa 3.6 does it
with `jsonschema.validate`, which first checks the schema itself against the JSON
Schema meta-schema, on every call: in a profile of a long conversation that was 8 % of
Rasa's time, about as much as the NLU's sentence embedding. The reply is still checked
against the same schema, the same way (same errors); the schema is checked once.
"""

from __future__ import annotations

import functools
from typing import Any

from jsonschema import ValidationError, validators
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL


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


def install() -> None:
    """Idempotent; Rasa imports addons/stores.py (endpoints.yml), which calls it."""
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]
