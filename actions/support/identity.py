"""Who is asking, for every action that touches an order or a customer's cart.

A logged-in shopper is named by the signed token the shop page puts in the message
metadata (`customer_token`), checked on every message and only for the conversation
it was issued for (the Rasa-side tracker store drops it once the turn is over, see
shopmate/privacy.py); a guest by the orders proven in this conversation
(`verified_orders` slot, set only by the order forms). `sender_id` and anything the
shopper types about who they are count for nothing. Failed phone checks are counted
server-side, across conversations (shopmate/guest_proof.py), not here.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Tracker

from actions.support.slots import VERIFIED_ORDERS_SLOT
from shopmate.identity import CustomerTokens, IdentityError
from shopmate.orders import Requester

logger = logging.getLogger(__name__)

TOKEN_METADATA_KEY = "customer_token"  # noqa: S105 - a key name, not a secret


def logged_in_customer(tracker: Tracker, tokens: CustomerTokens | None) -> int | None:
    """The customer id a valid token in this message's metadata names, else None."""
    metadata: Any = tracker.latest_message.get("metadata") or {}
    token = metadata.get(TOKEN_METADATA_KEY) if isinstance(metadata, dict) else None
    if token is None or tokens is None:
        return None
    try:
        return tokens.verify(token, tracker.sender_id)
    except IdentityError as error:
        # The reason only: never the token itself.
        logger.warning("customer token refused: %s", error)
        return None


def verified_orders(tracker: Tracker) -> list[str]:
    value = tracker.get_slot(VERIFIED_ORDERS_SLOT)
    return [str(v) for v in value] if isinstance(value, list) else []


def requester_for(tracker: Tracker, tokens: CustomerTokens | None, order_number: str) -> Requester:
    """The requester for one order: the logged-in customer, else a guest who proved it."""
    customer_id = logged_in_customer(tracker, tokens)
    if customer_id is not None:
        return Requester(customer_id=customer_id)
    if order_number in verified_orders(tracker):
        return Requester(verified_order=order_number)
    return Requester()
