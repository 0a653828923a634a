"""When the action server is down or slow, the shopper hears so, in a few seconds.

Rasa 3.6 waits up to five minutes for a custom action (DEFAULT_REQUEST_TIMEOUT), and
when the call fails it logs the error and goes on as if the action had said nothing:
the shopper waits, then gets silence. Here every call to the action server is bounded
(ACTION_TIMEOUT_S, 4 s by default), and a call that fails (timeout, refused
connection, a 5xx, which is what nginx answers when no action server is up) becomes
`utter_service_unavailable` in the shopper's language, once a turn.

After a failure the server is believed down for a few seconds (an Outage): the next
custom actions of the same turn, and of other conversations, fail at once instead of
each waiting for its own timeout, so a turn never waits twice. It is tried again after
that, so the shop recovers by itself when the server is back. A form's rejection
(a 400 with an action name) is still Rasa's ActionExecutionRejection.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa.core.actions.action import ActionExecutionRejection, RemoteAction, create_bot_utterance
from rasa.shared.core.events import BotUttered, Event, UserUttered

from addons.edge import Outage
from addons.settings import action_timeout_s

logger = logging.getLogger(__name__)

UNAVAILABLE_RESPONSE = "utter_service_unavailable"
ACTION_SERVER = Outage(retry_s=3.0)
_original_run = RemoteAction.run


def apologised_this_turn(tracker: Any) -> bool:
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            return False
        if (
            isinstance(event, BotUttered)
            and (event.metadata or {}).get("utter_action") == UNAVAILABLE_RESPONSE
        ):
            return True
    return False


async def apology(output_channel: Any, nlg: Any, tracker: Any) -> list[Event]:
    if apologised_this_turn(tracker):
        return []
    message = await nlg.generate(UNAVAILABLE_RESPONSE, tracker, output_channel.name())
    if not message:
        return []
    message = {**message, "utter_action": UNAVAILABLE_RESPONSE}
    return [create_bot_utterance(message)]


async def bounded_run(
    self: RemoteAction, output_channel: Any, nlg: Any, tracker: Any, domain: Any
) -> list[Event]:
    if ACTION_SERVER.is_down():
        return await apology(output_channel, nlg, tracker)
    try:
        events = await asyncio.wait_for(
            _original_run(self, output_channel, nlg, tracker, domain), timeout=action_timeout_s()
        )
    except ActionExecutionRejection:
        raise
    except Exception as error:  # noqa: BLE001 - timeout, refused, 5xx: the shopper is told
        if ACTION_SERVER.mark_down():
            logger.error(
                "action server unavailable (%s while running %s); answering "
                "utter_service_unavailable until it is back",
                type(error).__name__,
                self.name(),
            )
        return await apology(output_channel, nlg, tracker)
    if ACTION_SERVER.mark_up():
        logger.warning("action server is back")
    return list(events)


def install() -> None:
    """Idempotent; addons/stores.py (named by endpoints.yml) calls it at import."""
    RemoteAction.run = bounded_run  # type: ignore[method-assign]
