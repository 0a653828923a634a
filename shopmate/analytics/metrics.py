"""What each conversation says, and the sums over all of them.

``facts_of`` turns one conversation's events into ``ConversationFacts``; ``Insight.add``
folds them into counters and bounded samples, and the facts are dropped: memory does
not grow with the number of conversations (samples keep at most ``SAMPLE_SIZE`` values
each, a uniform reservoir beyond that; the least-understood messages are a heap of
``LEAST_UNDERSTOOD`` entries).

The definitions (docs/analytics.md says why):
- a conversation is a session (Rasa's ``session_started`` starts one) with at least one
  shopper message;
- a message is a fallback when its intent is ``nlu_fallback`` or the bot answered it
  with ``action_default_fallback`` or ``action_answer_fallback``;
- handed over: ``action_handoff`` ran or the conversation was paused for a person;
- contained (resolved without a person): not handed over and no ticket (a complaint
  queued for a person) filed during it;
- first agent reply: from the first pause to the first bot message with
  ``metadata.agent``;
- funnel: searched (``action_search_products``) → a product's details after a search
  (``action_product_detail``) → added to the cart after that (``action_add_to_cart``);
- action latency: from the event before an action (the shopper's message or the
  previous action) to the action's own event; turn latency: from the shopper's message
  to the last action of the bot's answer.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from shopmate.analytics.events import Conversation, Event
from shopmate.analytics.masking import mask_text

FALLBACK_INTENTS = frozenset({"nlu_fallback"})
FALLBACK_ACTIONS = frozenset({"action_default_fallback", "action_answer_fallback"})
HANDOFF_ACTION = "action_handoff"
SEARCH_ACTION, DETAIL_ACTION, CART_ACTION = (
    "action_search_products",
    "action_product_detail",
    "action_add_to_cart",
)
OFFER_ACTION = "action_best_offer"
RATE_INTENT = "rate_service"
NOT_TIMED_ACTIONS = frozenset({"action_listen", "action_session_start"})
REFUSAL_PREFIX = "utter_refusal_"
# After-sales done in the chat: the response that confirms it.
DONE_RESPONSES = {
    "utter_cancel_done": "cancel",
    "utter_cancel_done_unpaid": "cancel",
    "utter_address_done": "address",
    "utter_return_done": "return",
    "utter_exchange_done": "exchange",
}
AGENT_KEY = "agent"  # shopmate/support/transcript.py's AGENT_METADATA_KEY
SENTIMENT_POSITIONS = 10  # the 10th and later scored messages share the last position
SAMPLE_SIZE = 20_000
LEAST_UNDERSTOOD = 20
UNKNOWN = "unknown"


class Sample:
    """Up to `size` values, uniformly sampled beyond that (seeded: reproducible)."""

    def __init__(self, size: int = SAMPLE_SIZE, seed: int = 17) -> None:
        self.size = size
        self.count = 0
        self.total = 0.0
        self.values: list[float] = []
        self._random = random.Random(seed)  # noqa: S311 - sampling, not secrets

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        if len(self.values) < self.size:
            self.values.append(value)
            return
        slot = self._random.randrange(self.count)
        if slot < self.size:
            self.values[slot] = value

    def percentile(self, p: float) -> float | None:
        """Nearest rank: the smallest value with at least p% of the values at or below it."""
        if not self.values:
            return None
        ordered = sorted(self.values)
        rank = max(1, math.ceil(p / 100 * len(ordered)))
        return ordered[rank - 1]

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count else None


@dataclass(frozen=True)
class Understood:
    confidence: float
    text: str  # masked
    intent: str
    conversation: str  # the keyed hash, never the sender id


@dataclass
class ConversationFacts:
    key: str
    started: float
    ended: float
    day: str
    channel: str
    language: str
    user_messages: int = 0
    intents: Counter[str] = field(default_factory=Counter)
    fallback_messages: int = 0
    handed_over: bool = False
    first_agent_reply_s: float | None = None
    sentiments: list[float] = field(default_factory=list)
    sentiment_labels: Counter[str] = field(default_factory=Counter)
    searched: bool = False
    detailed: bool = False
    carted: bool = False
    offers: int = 0
    refusals: Counter[str] = field(default_factory=Counter)
    done: Counter[str] = field(default_factory=Counter)
    ratings: list[int] = field(default_factory=list)
    action_latencies: list[tuple[str, float]] = field(default_factory=list)
    turn_latencies: list[float] = field(default_factory=list)
    low_confidence: list[Understood] = field(default_factory=list)


def _entities(event: Event) -> list[dict[str, Any]]:
    parse = event.data.get("parse_data")
    found = parse.get("entities") if isinstance(parse, dict) else None
    return [e for e in found or [] if isinstance(e, dict)]


def _entity(event: Event, name: str) -> dict[str, Any] | None:
    return next((e for e in _entities(event) if e.get("entity") == name), None)


def _confidence(event: Event) -> float | None:
    parse = event.data.get("parse_data")
    intent = parse.get("intent") if isinstance(parse, dict) else None
    value = intent.get("confidence") if isinstance(intent, dict) else None
    return float(value) if isinstance(value, int | float) else None


def _metadata(event: Event) -> dict[str, Any]:
    value = event.data.get("metadata")
    return value if isinstance(value, dict) else {}


class _Turn:
    """The shopper's message being answered: for fallbacks and latencies."""

    def __init__(self, event: Event) -> None:
        self.event = event
        self.fallback = (event.intent or "") in FALLBACK_INTENTS
        self.last_action_at: float | None = None


def facts_of(
    conversation: Conversation, key: Callable[[str], str], tz: tzinfo = UTC
) -> ConversationFacts | None:
    """What one conversation says; None when the shopper wrote nothing in it."""
    users = [e for e in conversation.events if e.kind == "user"]
    if not users:
        return None
    first = users[0]
    facts = ConversationFacts(
        key=key(conversation.sender_id),
        started=conversation.started,
        ended=conversation.ended,
        day=datetime.fromtimestamp(first.timestamp, tz).date().isoformat(),
        channel=str(first.data.get("input_channel") or UNKNOWN),
        language=UNKNOWN,
    )
    languages: Counter[str] = Counter()
    message_language: dict[int, str] = {}  # user message index -> language
    turn: _Turn | None = None
    previous_at: float | None = None  # the user or action event before the next action
    paused_at: float | None = None
    for event in conversation.events:
        if event.kind == "user":
            _close_turn(facts, turn)
            turn = _Turn(event)
            previous_at = event.timestamp
            _user_message(facts, event, message_language)
        elif event.kind == "slot" and event.data.get("name") == "language":
            index = facts.user_messages - 1
            if index >= 0 and index not in message_language and event.data.get("value"):
                message_language[index] = str(event.data["value"])
        elif event.kind == "action" and event.action:
            previous_at = _action(facts, event, turn, previous_at)
        elif event.kind in ("pause", "resume"):
            # A person's time is not the bot's: the turn ends, the next action's time
            # starts at the resume.
            _close_turn(facts, turn)
            turn, previous_at = None, event.timestamp
            if event.kind == "pause":
                facts.handed_over = True
                paused_at = event.timestamp if paused_at is None else paused_at
        elif event.kind == "bot":
            metadata = _metadata(event)
            utter = str(metadata.get("utter_action") or "")
            if utter.startswith(REFUSAL_PREFIX):
                facts.refusals[utter.removeprefix(REFUSAL_PREFIX)] += 1
            if utter in DONE_RESPONSES:
                facts.done[DONE_RESPONSES[utter]] += 1
            if metadata.get(AGENT_KEY) and facts.first_agent_reply_s is None:
                since = paused_at if paused_at is not None else first.timestamp
                facts.first_agent_reply_s = max(0.0, event.timestamp - since)
    _close_turn(facts, turn)
    languages.update(message_language.values())
    if languages:
        facts.language = languages.most_common(1)[0][0]
    return facts


def _user_message(facts: ConversationFacts, event: Event, languages: dict[int, str]) -> None:
    index = facts.user_messages
    facts.user_messages += 1
    intent = event.intent or UNKNOWN
    facts.intents[intent] += 1
    language = _entity(event, "language")
    if language and language.get("value"):
        languages[index] = str(language["value"])
    sentiment = _entity(event, "sentiment")
    if sentiment is not None:
        if isinstance(sentiment.get("score"), int | float):
            facts.sentiments.append(float(sentiment["score"]))
        if sentiment.get("value"):
            facts.sentiment_labels[str(sentiment["value"])] += 1
    if intent == RATE_INTENT:
        rating = _entity(event, "satisfaction")
        value = str(rating.get("value")) if rating else ""
        if value.isdigit() and 1 <= int(value) <= 5:
            facts.ratings.append(int(value))
    text = str(event.data.get("text") or "")
    confidence = _confidence(event)
    if confidence is not None and text and not text.startswith("/"):
        facts.low_confidence.append(Understood(confidence, mask_text(text), intent, facts.key))


def _action(
    facts: ConversationFacts, event: Event, turn: _Turn | None, previous_at: float | None
) -> float:
    name = str(event.action)
    if name == SEARCH_ACTION:
        facts.searched = True
    elif name == DETAIL_ACTION and facts.searched:
        facts.detailed = True
    elif name == CART_ACTION and facts.detailed:
        facts.carted = True
    elif name == OFFER_ACTION:
        facts.offers += 1
    elif name == HANDOFF_ACTION:
        facts.handed_over = True
    if turn is not None and name in FALLBACK_ACTIONS:
        turn.fallback = True
    if name not in NOT_TIMED_ACTIONS:
        if previous_at is not None:
            facts.action_latencies.append((name, max(0.0, event.timestamp - previous_at)))
        if turn is not None:
            turn.last_action_at = event.timestamp
    return event.timestamp


def _close_turn(facts: ConversationFacts, turn: _Turn | None) -> None:
    if turn is None:
        return
    if turn.fallback:
        facts.fallback_messages += 1
    if turn.last_action_at is not None:
        facts.turn_latencies.append(max(0.0, turn.last_action_at - turn.event.timestamp))


@dataclass
class Insight:
    """The report's numbers from the tracker store; ``add`` one conversation at a time."""

    conversations: int = 0
    messages: int = 0
    per_day: Counter[str] = field(default_factory=Counter)
    per_channel: Counter[str] = field(default_factory=Counter)
    languages: Counter[str] = field(default_factory=Counter)
    intents: Counter[str] = field(default_factory=Counter)
    fallback_messages: int = 0
    conversations_with_fallback: int = 0
    handed_over: int = 0
    ticket_without_handoff: int = 0
    contained: int = 0
    agent_replied: int = 0
    first_reply_s: Sample = field(default_factory=Sample)
    sentiment_sum: list[float] = field(default_factory=lambda: [0.0] * SENTIMENT_POSITIONS)
    sentiment_count: list[int] = field(default_factory=lambda: [0] * SENTIMENT_POSITIONS)
    sentiment_labels: Counter[str] = field(default_factory=Counter)
    sentiment_conversations: int = 0  # with at least two scored messages
    sentiment_improved: int = 0
    sentiment_worsened: int = 0
    searched: int = 0
    detailed: int = 0
    carted: int = 0
    offers: int = 0
    conversations_with_offer: int = 0
    refusals: Counter[str] = field(default_factory=Counter)
    done_in_chat: Counter[str] = field(default_factory=Counter)
    chat_ratings: Counter[int] = field(default_factory=Counter)
    action_latency_s: dict[str, Sample] = field(default_factory=dict)
    turn_latency_s: Sample = field(default_factory=Sample)
    _least: list[tuple[float, int, Understood]] = field(default_factory=list)
    _seen: int = 0

    def add(self, facts: ConversationFacts, has_ticket: bool = False) -> None:
        self.conversations += 1
        self.messages += facts.user_messages
        self.per_day[facts.day] += 1
        self.per_channel[facts.channel] += 1
        self.languages[facts.language] += 1
        self.intents.update(facts.intents)
        self.fallback_messages += facts.fallback_messages
        self.conversations_with_fallback += facts.fallback_messages > 0
        self.handed_over += facts.handed_over
        self.ticket_without_handoff += has_ticket and not facts.handed_over
        self.contained += not facts.handed_over and not has_ticket
        if facts.first_agent_reply_s is not None:
            self.agent_replied += 1
            self.first_reply_s.add(facts.first_agent_reply_s)
        for position, score in enumerate(facts.sentiments):
            slot = min(position, SENTIMENT_POSITIONS - 1)
            self.sentiment_sum[slot] += score
            self.sentiment_count[slot] += 1
        self.sentiment_labels.update(facts.sentiment_labels)
        if len(facts.sentiments) >= 2:
            self.sentiment_conversations += 1
            self.sentiment_improved += facts.sentiments[-1] > facts.sentiments[0]
            self.sentiment_worsened += facts.sentiments[-1] < facts.sentiments[0]
        self.searched += facts.searched
        self.detailed += facts.detailed
        self.carted += facts.carted
        self.offers += facts.offers
        self.conversations_with_offer += facts.offers > 0
        self.refusals.update(facts.refusals)
        self.done_in_chat.update(facts.done)
        self.chat_ratings.update(facts.ratings)
        for name, seconds in facts.action_latencies:
            self.action_latency_s.setdefault(name, Sample()).add(seconds)
        for seconds in facts.turn_latencies:
            self.turn_latency_s.add(seconds)
        for item in facts.low_confidence:
            self._keep_least(item)

    def _keep_least(self, item: Understood) -> None:
        # A max-heap (negated confidence) of the LEAST_UNDERSTOOD lowest confidences.
        self._seen += 1
        entry = (-item.confidence, self._seen, item)
        if len(self._least) < LEAST_UNDERSTOOD:
            heapq.heappush(self._least, entry)
        elif -item.confidence > self._least[0][0]:
            heapq.heapreplace(self._least, entry)

    # -- the figures

    @staticmethod
    def _rate(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    @property
    def fallback_rate(self) -> float | None:
        return self._rate(self.fallback_messages, self.messages)

    @property
    def handoff_rate(self) -> float | None:
        return self._rate(self.handed_over, self.conversations)

    @property
    def containment_rate(self) -> float | None:
        return self._rate(self.contained, self.conversations)

    @property
    def sentiment_by_position(self) -> list[float | None]:
        return [
            total / count if count else None
            for total, count in zip(self.sentiment_sum, self.sentiment_count, strict=True)
        ]

    @property
    def least_understood(self) -> list[Understood]:
        """Lowest confidence first; one line per (masked) text."""
        ordered = sorted((entry[2] for entry in self._least), key=lambda u: u.confidence)
        seen: set[str] = set()
        unique = []
        for item in ordered:
            if item.text not in seen:
                seen.add(item.text)
                unique.append(item)
        return unique

    def latency_p95(self) -> dict[str, float]:
        found = {name: sample.percentile(95) for name, sample in self.action_latency_s.items()}
        return {name: value for name, value in found.items() if value is not None}


def collect(
    conversations: Iterable[Conversation],
    key: Callable[[str], str],
    has_ticket: Callable[[str, float, float], bool] = lambda sender, start, end: False,
    tz: tzinfo = UTC,
) -> Insight:
    """One pass over the conversations: each is summarised, added, and forgotten."""
    insight = Insight()
    for conversation in conversations:
        facts = facts_of(conversation, key, tz)
        if facts is not None:
            ticketed = has_ticket(conversation.sender_id, facts.started, facts.ended)
            insight.add(facts, has_ticket=ticketed)
    return insight
