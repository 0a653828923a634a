"""When the bot should offer the shopper a person.

Pure rules over the shopper's turns since the bot last offered a person (or since the
conversation began), so an offer the shopper declined is not repeated on every message.
The Rasa side (addons/escalation_policy.py) turns a tracker into `Turn`s; an explicit
request ("转人工", "talk to a human") is answered by rules at once, without an offer.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


# (str, Enum), not StrEnum: the Rasa runtime (Python 3.10) reads this module too.
class Trigger(str, enum.Enum):
    REQUESTED = "requested"  # the shopper asked for a person
    NEGATIVE = "negative"  # strongly negative messages in a row
    FALLBACKS = "fallbacks"  # the bot did not understand, again and again
    FAILURES = "failures"  # the same action failed (a service was down) repeatedly
    COMPLAINT = "complaint"  # a complaint the store always gives to a person


@dataclass(frozen=True)
class Turn:
    """One shopper message and what the bot made of it."""

    intent: str | None
    sentiment: float = 0.0  # -1 .. 1
    failed_actions: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class EscalationRules:
    """Each trigger's count; 0 turns it off."""

    negative_in_a_row: int = 2
    negative_threshold: float = -0.6  # "strongly negative": at or below this score
    # Off by default: data/rules/fallback.yml already offers a person on the second
    # fallback in a row (after a last try in the knowledge base).
    fallbacks_in_a_row: int = 0
    same_failure: int = 2
    fallback_intents: frozenset[str] = frozenset({"nlu_fallback", "out_of_scope"})

    def trigger(self, turns: Sequence[Turn]) -> Trigger | None:
        """The first trigger the turns (oldest first) meet, or None."""
        negative = self._streak(turns, lambda t: t.sentiment <= self.negative_threshold)
        if self.negative_in_a_row and negative >= self.negative_in_a_row:
            return Trigger.NEGATIVE
        if (
            self.fallbacks_in_a_row
            and self._streak(turns, lambda t: t.intent in self.fallback_intents)
            >= self.fallbacks_in_a_row
        ):
            return Trigger.FALLBACKS
        if self.same_failure:
            failures = Counter(name for turn in turns for name in set(turn.failed_actions))
            if failures and max(failures.values()) >= self.same_failure:
                return Trigger.FAILURES
        return None

    @staticmethod
    def _streak(turns: Sequence[Turn], hit: Callable[[Turn], bool]) -> int:
        count = 0
        for turn in reversed(turns):
            if not hit(turn):
                break
            count += 1
        return count
