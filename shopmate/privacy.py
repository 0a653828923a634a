"""What of a conversation is kept: no secrets, no phone digits.

The tracker store writes events through `PrivateEvents` (addons/stores.py), and the
tickets agents read are built from the same private events (shopmate/support), so a
stored conversation and its ticket hide the same digits. In flight,
the action server still sees the message as sent (it verifies the customer token and
the phone digits of that very message); what is stored afterwards is not a credential:

- the customer token in a message's metadata is dropped, and from the copy Rasa keeps
  in the `session_started_metadata` slot (it is re-sent with every message, so nothing
  needs it later, and a stored token could be replayed);
- in a message that answers the phone question (the form's requested slot is
  `guest_phone`), every digit but an order number's is masked, in the text, the parse
  data and entities;
- anywhere, a run of 7 or more digits (a phone number, an ID number) is masked; an
  order number (a letter and 7 digits) is kept, it is what the order is called;
- the `guest_phone` slot keeps only "verified" or nothing.
No Rasa imports: tests run it in either environment.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Iterator
from typing import Any

MASK = "*"
# How shoppers write an order number: a letter, an optional dash, 7 digits.
ORDER_NUMBER_WRITTEN = re.compile(r"[A-Za-z]-?\d{7}")
# 7+ digits, spaces or dashes between them allowed, not right after a letter
# (A1234567 is an order number).
LONG_DIGIT_RUN = re.compile(r"(?<![A-Za-z0-9])\+?\d(?:[\s\-]?\d){6,}")
ANY_DIGIT = re.compile(r"\d")
ORDER_NUMBER_IN_TEXT = re.compile(rf"(?<![A-Za-z0-9]){ORDER_NUMBER_WRITTEN.pattern}(?!\d)")


def mask_long_numbers(text: str) -> str:
    return LONG_DIGIT_RUN.sub(lambda m: ANY_DIGIT.sub(MASK, m.group()), text)


def mask_all_digits(text: str) -> str:
    """Every digit, except those of order numbers (what the order is called)."""
    kept, last = [], 0
    for match in ORDER_NUMBER_IN_TEXT.finditer(text):
        kept += [ANY_DIGIT.sub(MASK, text[last : match.start()]), match.group()]
        last = match.end()
    return "".join([*kept, ANY_DIGIT.sub(MASK, text[last:])])


SECRET_METADATA_KEYS = ("customer_token",)
PHONE_SLOT = "guest_phone"

PHONE_ENTITY = "phone"
KEPT_PHONE_SLOT_VALUES = (None, "verified")


def private_user_event(event: dict[str, Any], answers_phone: bool) -> dict[str, Any]:
    mask = mask_all_digits if answers_phone else mask_long_numbers
    private = copy.deepcopy(event)
    if isinstance(private.get("text"), str):
        private["text"] = mask(private["text"])
    parse_data = private.get("parse_data")
    if isinstance(parse_data, dict):
        if isinstance(parse_data.get("text"), str):
            parse_data["text"] = mask(parse_data["text"])
        for entity in parse_data.get("entities") or []:
            if not isinstance(entity, dict) or not isinstance(entity.get("value"), str):
                continue
            if entity.get("entity") == PHONE_ENTITY or answers_phone:
                entity["value"] = mask_all_digits(entity["value"])
            else:
                entity["value"] = mask_long_numbers(entity["value"])
    return private


def without_secrets(value: Any) -> Any:
    """`value` with every secret key dropped, at any depth (Rasa copies a message's
    metadata into its parse data and into a slot at session start)."""
    if isinstance(value, dict):
        return {k: without_secrets(v) for k, v in value.items() if k not in SECRET_METADATA_KEYS}
    if isinstance(value, list):
        return [without_secrets(v) for v in value]
    return value


def next_requested_slot(requested: Any, kind: Any, name: Any, value: Any) -> Any:
    """The slot a form asks for after an event (its kind, and a slot's or loop's name)."""
    if kind == "slot" and name == "requested_slot":
        return value
    if (kind == "active_loop" and not name) or kind in ("restart", "session_started"):
        return None
    return requested


def private_events(
    events: Iterable[dict[str, Any]], requested: Any = None
) -> Iterator[dict[str, Any]]:
    """The events as they may be stored, in order (state follows the requested slot,
    `requested` before the first of them)."""
    for event in events:
        kind = event.get("event")
        requested_before = requested
        requested = next_requested_slot(requested, kind, event.get("name"), event.get("value"))
        event = without_secrets(event)
        if kind == "slot":
            if event.get("name") == PHONE_SLOT and event.get("value") not in KEPT_PHONE_SLOT_VALUES:
                event = {**event, "value": mask_all_digits(str(event.get("value")))}
            yield event
        elif kind == "user":
            yield private_user_event(event, answers_phone=requested_before == PHONE_SLOT)
        else:
            yield event
