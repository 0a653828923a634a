"""Responses rendered by Rasa, rephrased by the action server's generator when marked.

Configured in endpoints.yml (`nlg: type: addons.nlg.RephrasingNaturalLanguageGenerator`).
Every response is rendered locally from the domain, exactly as Rasa's own generator
does (conditions on the `language` slot, slot and argument interpolation). Only a
variation marked `metadata: {rephrase: true}` is sent to the action server's
`/rephrase` route, which returns a grounded rephrasing or the same text. Anything
going wrong there (server down, slow, bad reply) leaves the rendered text: the shopper
always gets the domain's response, never an error. After-sales facts are not marked.

The action server's answer says whether its generator can rephrase at all
(`"rephrases": false` for the template backend, the default). Then the round trip buys
nothing, so the NLG sends the rendered text directly for REPHRASE_CAPABILITY_TTL_S
(60 s) and asks again after that: a store that switches LLM_BACKEND is picked up
within a minute, and one action server call per minute per Rasa process remains.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import aiohttp
from rasa.core.nlg.generator import ResponseVariationFilter
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.constants import RESPONSE_CONDITION
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from addons.settings import rephrase_capability_ttl_s, rephrase_timeout_s

logger = logging.getLogger(__name__)

# The generator answers within its own deadline (LLM_DEADLINE_S, 2.5 s by default);
# this bounds the wait for the HTTP round trip on top of it.
REPHRASE_TIMEOUT_S = rephrase_timeout_s()
REPHRASE_CAPABILITY_TTL_S = rephrase_capability_ttl_s()
SENTIMENT_SLOT = "sentiment"
UPSET = "negative"
ACKNOWLEDGEMENT = "utter_acknowledge_upset"
# Responses that apologise or hand over by themselves: no apology in front of them.
APOLOGETIC_PREFIXES = ("utter_acknowledge_", "utter_complaint_", "utter_handoff_", "utter_offer_")
APOLOGETIC_SUFFIXES = ("_unavailable",)
# Turns already acknowledged, per conversation (bounded: the oldest are forgotten).
REMEMBERED_TURNS = 10_000


class RephrasingNaturalLanguageGenerator(TemplatedNaturalLanguageGenerator):
    """Rasa's templated generator (a subclass, so Rasa hands it the model's responses
    when a model loads) that rephrases marked variations."""

    def __init__(
        self,
        endpoint_config: EndpointConfig,
        domain: Domain | None = None,
        *,
        capability_ttl_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(domain.responses if domain else {})
        self.endpoint = endpoint_config
        self._acknowledged: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._capability_ttl_s = (
            REPHRASE_CAPABILITY_TTL_S if capability_ttl_s is None else max(0.0, capability_ttl_s)
        )
        self._clock = clock
        # Until this clock time the action server is known not to rephrase.
        self._plain_until = float("-inf")

    def _random_response_for(
        self, utter_action: str, output_channel: str, filled_slots: dict[str, Any]
    ) -> dict[str, Any] | None:
        """A variation among the most specific ones whose conditions hold."""
        if utter_action not in self.responses:
            return None
        suitable = ResponseVariationFilter(self.responses).responses_for_utter_action(
            utter_action, output_channel, filled_slots
        )
        if not suitable:
            return None
        most = max(len(r.get(RESPONSE_CONDITION) or []) for r in suitable)
        best = [r for r in suitable if len(r.get(RESPONSE_CONDITION) or []) == most]
        return random.choice(best)  # noqa: S311 - variety, not secrecy

    async def generate(
        self,
        utter_action: str,
        tracker: DialogueStateTracker,
        output_channel: str,
        **kwargs: Any,
    ) -> dict[str, Any] | None:
        response = await super().generate(utter_action, tracker, output_channel, **kwargs)
        if not response or not response.get("text"):
            return response
        if is_rephrasable(response):
            text = await self.rephrase(utter_action, str(response["text"]), tracker)
            response = {**response, "text": text}
        return await self.acknowledged(utter_action, response, tracker, output_channel)

    async def acknowledged(
        self,
        utter_action: str,
        response: dict[str, Any],
        tracker: DialogueStateTracker,
        output_channel: str,
    ) -> dict[str, Any]:
        """The response, with the apology in front when the shopper is upset and
        nothing in this turn has apologised yet."""
        if tracker.get_slot(SENTIMENT_SLOT) != UPSET:
            return response
        turn = (tracker.sender_id, _turn_id(tracker))
        if turn in self._acknowledged:
            return response
        if _apologises(utter_action, response):
            self._remember(turn)
            return response
        apology = await super().generate(ACKNOWLEDGEMENT, tracker, output_channel)
        self._remember(turn)
        if not apology or not apology.get("text"):
            return response
        return {**response, "text": f"{apology['text']}\n{response['text']}"}

    def _remember(self, turn: tuple[str, str]) -> None:
        self._acknowledged[turn] = None
        while len(self._acknowledged) > REMEMBERED_TURNS:
            self._acknowledged.popitem(last=False)

    @property
    def rephrasing_known_off(self) -> bool:
        """True while the action server's last answer said it cannot rephrase."""
        return self._clock() < self._plain_until

    def _learn(self, reply: Any) -> None:
        # Only a "no" is remembered: a server that rephrases (or an older one that does
        # not say) is asked every time, as before.
        if isinstance(reply, dict) and reply.get("rephrases") is False:
            self._plain_until = self._clock() + self._capability_ttl_s

    async def rephrase(self, name: str, text: str, tracker: DialogueStateTracker) -> str:
        if self.rephrasing_known_off:
            return text
        body = {
            "response": name,
            "text": text,
            "language": tracker.get_slot("language"),
            "user_text": tracker.latest_message.text if tracker.latest_message else "",
        }
        try:
            reply = await self.endpoint.request(
                method="post", json=body, timeout=aiohttp.ClientTimeout(total=REPHRASE_TIMEOUT_S)
            )
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as error:
            logger.warning("rephrasing unavailable, template sent: %s", type(error).__name__)
            return text
        self._learn(reply)
        if isinstance(reply, dict) and isinstance(reply.get("text"), str) and reply["text"]:
            return str(reply["text"])
        return text


def is_rephrasable(response: dict[str, Any]) -> bool:
    metadata = response.get("metadata") or {}
    return isinstance(metadata, dict) and metadata.get("rephrase") is True


def _turn_id(tracker: DialogueStateTracker) -> str:
    message = tracker.latest_message
    if message is None:
        return ""
    return str(message.message_id or message.timestamp)


def _apologises(utter_action: str, response: dict[str, Any]) -> bool:
    """The response says sorry itself: its variation is the upset one, or it is an
    apology, a complaint's answer or a handoff by name."""
    conditions = response.get(RESPONSE_CONDITION) or []
    if any(c.get("name") == SENTIMENT_SLOT for c in conditions if isinstance(c, dict)):
        return True
    return utter_action.startswith(APOLOGETIC_PREFIXES) or utter_action.endswith(
        APOLOGETIC_SUFFIXES
    )
