"""Guessing a guest's phone digits over REST, as an attacker would: many conversations,
new sender ids, restarts. The failures are counted by the action server per order
number, so none of that starts the count over (tests/factories.py: Alice's order
A1000004, phone 13812345678)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import response_texts
from tests.e2e.conftest import ShopMate, customer_metadata, reset_scenario

pytestmark = pytest.mark.e2e

NUMBER = "A1000004"
QUESTION = f"订单{NUMBER}现在什么状态"
RIGHT_PHONE = "5678"
# 50 wrong last-4 guesses, none of them Alice's.
WRONG_PHONES = [f"{1000 + 173 * i:04d}" for i in range(50)]
CONVERSATIONS = 10
RESTART_IN = {2, 5, 8}  # these conversations restart halfway and ask again
# The edge allows 5 messages a second per conversation; stay well below it.
PAUSE_S = 0.3
SECRETS = ("13812345678", "¥350.00", "浦东新区", "世纪大道")


def pattern(domain: dict[str, Any], response: str, **known: str) -> re.Pattern[str]:
    """The zh text of `response`, its {placeholders} matching any number unless known."""
    [template] = response_texts(domain, response, "zh")
    regex = re.escape(template)
    for name, value in known.items():
        regex = regex.replace(re.escape(f"{{{name}}}"), re.escape(value))
    return re.compile(re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>\\d+)", regex))


@pytest.fixture
def clean_shop(shopmate: ShopMate) -> Iterator[ShopMate]:
    # The scenario without any earlier failures, and afterwards without this test's
    # lock (the action server is shared by the whole e2e session).
    reset_scenario(shopmate.shop_db_url)
    yield shopmate
    reset_scenario(shopmate.shop_db_url)


def test_fifty_wrong_phones_in_ten_conversations_lock_the_order_for_every_guest(
    clean_shop: ShopMate, domain: dict[str, Any]
) -> None:
    shopmate = clean_shop
    failed = pattern(domain, "utter_verification_failed")
    wait = pattern(domain, "utter_verification_wait")
    locked = pattern(domain, "utter_verification_locked", order_id=NUMBER)
    counts = {"failed": 0, "wait": 0, "locked": 0}
    said: list[str] = []

    def send(sender: str, text: str) -> list[str]:
        replies = shopmate.texts(sender, text)
        said.extend(replies)
        time.sleep(PAUSE_S)
        return replies

    guesses = iter(WRONG_PHONES)
    for conversation in range(CONVERSATIONS):
        sender = f"e2e-brute-{conversation}-{time.monotonic_ns()}"
        send(sender, QUESTION)
        for attempt in range(5):
            if conversation in RESTART_IN and attempt == 2:
                # What `/restart` did before the edge made typed commands plain text.
                shopmate.trigger(sender, "restart")
                restarted = shopmate.tracker(sender)  # the events since the restart
                assert restarted["slots"].get("order_id") is None
                assert not restarted.get("active_loop")
                send(sender, QUESTION)
            for reply in send(sender, next(guesses)):
                if failed.fullmatch(reply):
                    counts["failed"] += 1
                elif match := wait.fullmatch(reply):
                    counts["wait"] += 1
                    # A patient attacker waits as told; the count still holds.
                    time.sleep(int(match["seconds"]))
                elif locked.fullmatch(reply):
                    counts["locked"] += 1
    assert next(guesses, None) is None  # all 50 guesses were sent
    # Five real tries in all (four "wrong, N left", then the lock), not five per conversation.
    assert counts["failed"] == 4
    assert counts["locked"] >= 1
    assert not any(secret in text for text in said for secret in SECRETS)

    # A new guest with the right phone is refused with the lock.
    sender = f"e2e-brute-right-{time.monotonic_ns()}"
    asked = shopmate.texts(sender, QUESTION)
    then = shopmate.texts(sender, RIGHT_PHONE)
    minutes = [int(m["minutes"]) for text in asked if (m := locked.fullmatch(text))]
    assert minutes
    assert 0 < minutes[0] <= 60
    assert not any(secret in text for text in asked + then for secret in SECRETS)

    # Alice, signed in, is not held up by the lock on phone checks.
    sender = f"e2e-brute-alice-{time.monotonic_ns()}"
    replies = shopmate.say(sender, QUESTION, metadata=customer_metadata(1, sender))
    assert NUMBER in replies[0]["text"]
    assert "¥350.00" in replies[0]["text"]
