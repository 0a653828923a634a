"""What Rasa does when a dependency is down, run in the Rasa runtime by
tests/addons/test_failover.py (`python -m tests.addons.rasa_runtime.check_failover
REDIS_URL`):

- the lock store locks per instance while Redis is unreachable, and uses Redis when
  it answers (addons/stores.py FailoverLockStore);
- a custom action whose server is slow or refuses connections becomes
  utter_service_unavailable in the shopper's language, within the action timeout,
  once a turn, and the server is used again after the outage's retry time
  (addons/action_failures.py);
- a message sent again is answered from the tracker (addons/channels.py).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

import redis
from aiohttp import web
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.lock_store import RedisLockStore
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from addons import action_failures
from addons.channels import earlier_reply
from addons.edge import Outage
from addons.stores import FailoverLockStore, redis_kwargs
from scripts.production import free_port

# Read by addons/action_failures.py at each call.
os.environ["ACTION_TIMEOUT_S"] = "0.5"
DOMAIN = Domain.load("domain")
NLG = TemplatedNaturalLanguageGenerator(DOMAIN.responses)
SORRY = {
    language: {
        v["text"]
        for v in DOMAIN.responses["utter_service_unavailable"]
        if v["condition"][0]["value"] == language
    }
    for language in ("zh", "en")
}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def check_lock_store(url: str) -> None:
    dead = RedisLockStore(**redis_kwargs(f"redis://127.0.0.1:{free_port()}/1"), socket_timeout=1)
    clock = Clock()
    store = FailoverLockStore(dead, Outage(retry_s=5, clock=clock))
    async with store.lock("conversation-a"):
        assert store.outage.is_down()
    # While down, no second attempt on Redis (it would cost a connection each time).
    async with store.lock("conversation-a"):
        pass
    live = RedisLockStore(**redis_kwargs(url), socket_timeout=1)
    # The holder died: its ticket and the waiter's lapse together. Rasa 3.6 would wait
    # forever; the waiting turn goes ahead.
    live.issue_ticket("conversation-dead-holder", 1)
    waiting = FailoverLockStore(live)
    started = time.monotonic()
    async with waiting.lock("conversation-dead-holder", lock_lifetime=1, wait_time_in_seconds=0.1):
        assert 0.8 < time.monotonic() - started < 3

    store.shared = live
    clock.now += 6  # the outage's retry time has passed
    async with store.lock("conversation-b"):
        assert not store.outage.is_down()
        assert live.get_lock("conversation-b") is not None  # held in Redis
    assert live.get_lock("conversation-b") is None  # and let go
    print("lock store: ok")


def tracker(language: str) -> DialogueStateTracker:
    return DialogueStateTracker.from_events(
        "shopper",
        [SlotSet("language", language), UserUttered("包邮吗", {"name": "ask_faq"})],
        DOMAIN.slots,
    )


async def run_action(url: str, language: str, t: DialogueStateTracker | None = None) -> list:
    action = RemoteAction("action_answer_faq", EndpointConfig(url))
    return await action.run(CollectingOutputChannel(), NLG, t or tracker(language), DOMAIN)


async def check_action_failures() -> None:
    action_failures.install()
    outage = action_failures.ACTION_SERVER
    clock = Clock()
    outage.clock = clock
    # Refused: nobody listens on the port.
    refused = f"http://127.0.0.1:{free_port()}/webhook"
    started = time.monotonic()
    [said] = await run_action(refused, "en")
    assert isinstance(said, BotUttered), said
    assert said.text in SORRY["en"], said
    assert time.monotonic() - started < 0.5
    # Once a turn: the turn's next custom action adds nothing, and waits for nothing.
    t = tracker("zh")
    t.update(said)
    assert await run_action(refused, "zh", t) == []

    # Slow: a server that answers after 3 s is cut off at ACTION_TIMEOUT_S (0.5 s).
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(3)
        return web.json_response({"events": [], "responses": []})

    async def quick(request: web.Request) -> web.Response:
        return web.json_response({"events": [], "responses": [{"text": "包邮门槛是 99 元"}]})

    for handler, expect_sorry in ((slow, True), (quick, False)):
        app = web.Application()
        app.router.add_post("/webhook", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            clock.now += 10  # past the outage's retry time: the server is tried
            started = time.monotonic()
            events = await run_action(f"http://127.0.0.1:{port}/webhook", "zh")
            elapsed = time.monotonic() - started
        finally:
            await runner.cleanup()
        texts = [e.text for e in events if isinstance(e, BotUttered)]
        if expect_sorry:
            assert texts, events
            assert texts[0] in SORRY["zh"], texts
            assert 0.4 < elapsed < 1.5, elapsed
        else:
            assert texts == ["包邮门槛是 99 元"], texts  # back by itself
            assert not outage.is_down()
    print("action failures: ok")


async def check_replay() -> None:
    store = InMemoryTrackerStore(DOMAIN)
    t = DialogueStateTracker.from_events(
        "replayed",
        [
            UserUttered("你好", {"name": "greet"}, message_id="first-message-1"),
            BotUttered("您好！", {"buttons": [{"title": "看看", "payload": "/browse"}]}),
            UserUttered("谢谢", {"name": "thank"}, message_id="second-message"),
            BotUttered("不客气"),
        ],
        DOMAIN.slots,
    )
    await store.save(t)

    class App:
        class ctx:
            agent = type("Agent", (), {"tracker_store": store})()

    reply = await earlier_reply(App, "replayed", "first-message-1")
    assert reply is not None
    assert [m.get("text") for m in reply] == ["您好！"]
    assert reply[0]["buttons"] == [{"title": "看看", "payload": "/browse"}]
    assert await earlier_reply(App, "replayed", "never-stored") is None
    print("replay: ok")


async def main(redis_url: str) -> None:
    redis.Redis.from_url(redis_url, socket_timeout=2).ping()
    await check_lock_store(redis_url)
    await check_action_failures()
    await check_replay()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
