"""Checks of addons/stores.py that need Rasa, run by tests/addons/test_stores.py
with the Rasa runtime's Python (`.venv-rasa/bin/python -m tests.addons.rasa_runtime.check_stores`).

Every check compares what the cached store returns with what Rasa's own full read of
the same rows gives (a store with the cache off), turn after turn.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity

from addons.stores import PrivateSQLTrackerStore, sql_store_kwargs

DOMAIN = Domain.load("domain")
# An SQLite file unless a database URL is given (`... check_stores postgresql://...`).
DATABASE = (
    sql_store_kwargs(sys.argv[1])
    if len(sys.argv) > 1
    else {"dialect": "sqlite", "db": str(Path(tempfile.mkdtemp()) / "tracker.db")}
)


def store(cache: int) -> PrivateSQLTrackerStore:
    return PrivateSQLTrackerStore(domain=DOMAIN, cache_conversations=cache, **DATABASE)


def state(tracker: DialogueStateTracker | None) -> str:
    assert tracker is not None
    dumped = tracker.current_state(EventVerbosity.ALL)
    return json.dumps(dumped, sort_keys=True, default=str, ensure_ascii=False)


def turn(text: str, *after: Event, metadata: dict | None = None) -> list[Event]:
    intent = {"name": "inform", "confidence": 0.9}
    return [
        UserUttered(text, intent, [], {"text": text, "intent": intent}, metadata=metadata),
        *after,
        ActionExecuted("action_listen"),
    ]


async def save_turn(into: PrivateSQLTrackerStore, sender: str, events: list[Event]) -> None:
    tracker = await into.get_or_create_tracker(sender, append_action_listen=False)
    for event in events:
        tracker.update(event)
    await into.save(tracker)


async def main() -> None:
    cached, other_worker, truth = store(500), store(500), store(0)
    sender = "check-cache"
    conversation = [
        [SessionStarted(), ActionExecuted("action_listen")],
        turn("你好", BotUttered("您好"), metadata={"customer_token": "secret-token"}),
        turn("查订单 A1000003", SlotSet("requested_slot", "guest_phone"), BotUttered("尾号?")),
        # The phone answer is masked when stored: the cache must hold the masked one.
        turn("13812345678", SlotSet("guest_phone", "13812345678"), SlotSet("requested_slot")),
    ]
    for events in conversation:
        await save_turn(cached, sender, events)
        assert state(await cached.retrieve(sender)) == state(await truth.retrieve(sender))
    stored = state(await cached.retrieve(sender))
    assert "13812345678" not in stored
    assert "secret-token" not in stored

    # Another worker answers a turn: this process reads the rows it did not write.
    await save_turn(other_worker, sender, turn("谢谢", BotUttered("不客气")))
    assert state(await cached.retrieve(sender)) == state(await truth.retrieve(sender))
    assert "谢谢" in state(await cached.retrieve(sender))

    # A new session: only its events come back, as from a full read.
    await asyncio.sleep(0.01)
    await save_turn(cached, sender, [SessionStarted(), ActionExecuted("action_listen")])
    await save_turn(other_worker, sender, turn("hello", BotUttered("Hi")))
    fresh = await cached.retrieve(sender)
    assert state(fresh) == state(await truth.retrieve(sender))
    assert "谢谢" not in state(fresh)

    # A conversation never stored is unknown, and the cache stays bounded.
    assert await cached.retrieve("never-seen") is None
    small = store(2)
    for name in ("a", "b", "c"):
        await save_turn(small, name, turn("hi", BotUttered("hello")))
        await small.retrieve(name)
    assert list(small._sessions) == ["b", "c"]
    assert state(await small.retrieve("a")) == state(await truth.retrieve("a"))
    print("stores: ok")


if __name__ == "__main__":
    asyncio.run(main())
