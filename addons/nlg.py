"""Responses rendered by Rasa, rephrased by the action server's generator when marked.

Configured in endpoints.yml (`nlg: type: addons.nlg.RephrasingNaturalLanguageGenerator`).
Every response is rendered locally from the domain, exactly as Rasa's own generator
does (conditions on the `language` slot, slot and argument interpolation). Only a
variation marked `metadata: {rephrase: true}` is sent to the action server's
`/rephrase` route, which returns a grounded rephrasing or the same text. Anything
going wrong there (server down, slow, bad reply) leaves the rendered text: the shopper
always gets the domain's response, never an error. After-sales facts are not marked.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from addons.settings import rephrase_timeout_s

logger = logging.getLogger(__name__)

# The generator answers within its own deadline (LLM_DEADLINE_S, 2.5 s by default);
# this bounds the wait for the HTTP round trip on top of it.
REPHRASE_TIMEOUT_S = rephrase_timeout_s()


class RephrasingNaturalLanguageGenerator(TemplatedNaturalLanguageGenerator):
    """Rasa's templated generator (a subclass, so Rasa hands it the model's responses
    when a model loads) that rephrases marked variations."""

    def __init__(self, endpoint_config: EndpointConfig, domain: Domain | None = None) -> None:
        super().__init__(domain.responses if domain else {})
        self.endpoint = endpoint_config

    async def generate(
        self,
        utter_action: str,
        tracker: DialogueStateTracker,
        output_channel: str,
        **kwargs: Any,
    ) -> dict[str, Any] | None:
        response = await super().generate(utter_action, tracker, output_channel, **kwargs)
        if not response or not response.get("text") or not is_rephrasable(response):
            return response
        text = await self.rephrase(utter_action, str(response["text"]), tracker)
        return {**response, "text": text}

    async def rephrase(self, name: str, text: str, tracker: DialogueStateTracker) -> str:
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
        if isinstance(reply, dict) and isinstance(reply.get("text"), str) and reply["text"]:
            return str(reply["text"])
        return text


def is_rephrasable(response: dict[str, Any]) -> bool:
    metadata = response.get("metadata") or {}
    return isinstance(metadata, dict) and metadata.get("rephrase") is True
