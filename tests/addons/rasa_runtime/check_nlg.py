"""addons/nlg.py's memory of what the action server can do, run in the Rasa runtime by
tests/addons/test_nlg.py: after an answer with "rephrases": false no marked response
is sent for the TTL, then the server is asked again; a server that rephrases (or an
older one that does not say) is asked every time."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from addons.nlg import RephrasingNaturalLanguageGenerator
from scripts.production import free_port

DOMAIN = Domain.from_dict(
    {
        "slots": {"language": {"type": "text", "mappings": [{"type": "custom"}]}},
        "responses": {"utter_greet": [{"text": "您好！", "metadata": {"rephrase": True}}]},
    }
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeActionServer:
    """/rephrase answering like actions/server.py (`answer` decides the body)."""

    def __init__(self) -> None:
        self.calls = 0
        self.answer: dict[str, Any] = {"text": "您好！", "rephrases": False}
        self.port = free_port()
        self.runner: web.AppRunner | None = None

    async def rephrase(self, request: web.Request) -> web.Response:
        self.calls += 1
        await request.json()
        return web.json_response(self.answer)

    async def __aenter__(self) -> FakeActionServer:
        app = web.Application()
        app.router.add_post("/rephrase", self.rephrase)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self.runner is not None
        await self.runner.cleanup()


async def text_of(nlg: RephrasingNaturalLanguageGenerator, tracker: DialogueStateTracker) -> str:
    reply = await nlg.generate("utter_greet", tracker, "rest")
    assert reply is not None
    return str(reply["text"])


async def check() -> None:
    tracker = DialogueStateTracker.from_events(
        "nlg-ttl", [SlotSet("language", "zh"), UserUttered("你好")], DOMAIN.slots
    )
    clock = Clock()
    async with FakeActionServer() as server:
        endpoint = EndpointConfig(f"http://127.0.0.1:{server.port}/rephrase")
        nlg = RephrasingNaturalLanguageGenerator(endpoint, DOMAIN, capability_ttl_s=60, clock=clock)
        # The template backend: asked once, then not for 60 s.
        assert not nlg.rephrasing_known_off
        assert await text_of(nlg, tracker) == "您好！"
        assert server.calls == 1
        assert nlg.rephrasing_known_off
        for _ in range(5):
            clock.now += 10
            assert await text_of(nlg, tracker) == "您好！"
        assert server.calls == 1, "no round trip while the server is known not to rephrase"
        # The store switches to a model backend: picked up once the TTL is over.
        server.answer = {"text": "您好呀，有什么可以帮您？", "rephrases": True}
        clock.now += 10.5
        assert await text_of(nlg, tracker) == "您好呀，有什么可以帮您？"
        assert server.calls == 2
        assert not nlg.rephrasing_known_off
        assert await text_of(nlg, tracker) == "您好呀，有什么可以帮您？"
        assert server.calls == 3, "a server that rephrases is asked every time"
        # An action server from before this change does not say: asked every time.
        server.answer = {"text": "您好！"}
        for _ in range(3):
            assert await text_of(nlg, tracker) == "您好！"
        assert server.calls == 6
        # TTL 0: Rasa's behaviour before, every marked response goes to the server.
        server.answer = {"text": "您好！", "rephrases": False}
        always = RephrasingNaturalLanguageGenerator(
            endpoint, DOMAIN, capability_ttl_s=0, clock=clock
        )
        for _ in range(3):
            assert await text_of(always, tracker) == "您好！"
        assert server.calls == 9
    # The default TTL comes from the settings (REPHRASE_CAPABILITY_TTL_S, 60 s).
    default = RephrasingNaturalLanguageGenerator(EndpointConfig("http://127.0.0.1:1/x"), DOMAIN)
    assert default._capability_ttl_s == 60.0


asyncio.run(check())
print("nlg: ok")
