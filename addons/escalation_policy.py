"""Dialogue policy that offers the shopper a person when the conversation goes badly.

The triggers are shopmate/support/escalation.py's rules (configured by ESCALATE_* in
addons/settings.py): strongly negative messages in a row (the ``sentiment`` entity's
score on each message), one action failing again and again (its response is an
``utter_*_unavailable``), fallbacks in a row. Only the shopper's turns since the last
offer count, so a declined offer is not repeated on every message.

The offer comes first in the turn, then the normal help: `action_offer_handoff` sends
``utter_offer_handoff`` and reverts itself (``ActionReverted``), so the other policies
predict exactly as if it had not run. On the next message this policy answers the
offer: "yes" hands over (`action_handoff`), "no" keeps the bot going. An explicit
request for a person never passes through here: rules hand over at once. A conversation
that an agent still has when a new Rasa session starts (after 60 minutes of silence,
which unpauses it) is handed over again.
"""

from __future__ import annotations

from typing import Any

from rasa.core.policies.policy import Policy, PolicyPrediction, SupportedData
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    UserUttered,
)
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from addons.settings import escalation_rules
from shopmate.support.escalation import EscalationRules, Trigger, Turn

OFFER_ACTION = "action_offer_handoff"
HANDOFF_ACTION = "action_handoff"
DECLINED_RESPONSE = "utter_handoff_declined"
# Responses that already offer a person: turns before them do not count again.
OFFERS = (OFFER_ACTION, "utter_offer_human")
FAILURE_SUFFIX = "_unavailable"
ACCEPT_INTENTS = ("affirm", "request_human")
DECLINE_INTENTS = ("deny", "stop")


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True
)
class EscalationPolicy(Policy):
    """Predicts an offer of a person, and the answer to it; abstains otherwise."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # Above RulePolicy (6): when a trigger fires, the offer goes first.
        return {"priority": 7}

    @staticmethod
    def supported_data() -> SupportedData:
        return SupportedData.ML_AND_RULE_DATA

    def __init__(self, *args: Any, rules: EscalationRules | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rules = rules or escalation_rules()

    def train(
        self, training_trackers: list[TrackerWithCachedStates], domain: Domain, **kwargs: Any
    ) -> Resource:
        # Nothing to learn: the rules are configuration, read when the model loads.
        return self._resource

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        action = self.next_action(tracker)
        probabilities = self._default_predictions(domain)
        if action is not None and action in domain.action_names_or_texts:
            probabilities[domain.index_for_action(action)] = 1.0
            return self._prediction(probabilities, is_no_user_prediction=True)
        return self._prediction(probabilities)

    def next_action(self, tracker: DialogueStateTracker) -> str | None:
        """The action this policy insists on now, or None to let the others decide."""
        events = list(tracker.events)
        last_user = _last_index(events, UserUttered)
        if last_user is None:
            return None
        this_turn = events[last_user + 1 :]
        actions = [e.action_name for e in this_turn if isinstance(e, ActionExecuted)]
        if OFFER_ACTION in actions:
            # Offered in this turn: after our own reply to an offer, listen.
            return None
        if DECLINED_RESPONSE in actions:
            return ACTION_LISTEN_NAME if actions[-1] == DECLINED_RESPONSE else None
        intent = events[last_user].intent_name  # type: ignore[union-attr]
        if not actions and _still_handed_over(events):
            # A new Rasa session (60 minutes of silence) is not paused, but an agent still
            # has the conversation: the handoff action tells the shopper and pauses again.
            return HANDOFF_ACTION
        if _offered_last_turn(events, last_user) and not actions:
            if intent in ACCEPT_INTENTS:
                return HANDOFF_ACTION
            if intent in DECLINE_INTENTS:
                return DECLINED_RESPONSE
        if intent == "request_human":
            return None  # the rules hand over at once, without an offer
        turns = turns_since_last_offer(events)
        trigger = self.rules.trigger(turns)
        if trigger is Trigger.FAILURES:
            # Right after the failing action's apology, before the bot listens again.
            last_action = _last_index(this_turn, ActionExecuted)
            failed_now = last_action is not None and any(
                isinstance(e, BotUttered) and _is_failure(e) for e in this_turn[last_action + 1 :]
            )
            return OFFER_ACTION if failed_now else None
        if trigger is not None and not actions:
            return OFFER_ACTION
        return None


def _last_index(events: list[Any], kind: type) -> int | None:
    for index in range(len(events) - 1, -1, -1):
        if isinstance(events[index], kind):
            return index
    return None


def _still_handed_over(events: list[Any]) -> bool:
    """Paused in an earlier session and never resumed since."""
    paused = _last_index(events, ConversationPaused)
    resumed = _last_index(events, ConversationResumed)
    return paused is not None and (resumed is None or resumed < paused)


def _is_failure(event: BotUttered) -> bool:
    name = (event.metadata or {}).get("utter_action") or ""
    return str(name).endswith(FAILURE_SUFFIX)


def _offered_last_turn(events: list[Any], last_user: int) -> bool:
    previous_user = _last_index(events[:last_user], UserUttered)
    start = 0 if previous_user is None else previous_user + 1
    return any(
        isinstance(e, ActionExecuted) and e.action_name == OFFER_ACTION
        for e in events[start:last_user]
    )


def turns_since_last_offer(events: list[Any]) -> list[Turn]:
    """The shopper's turns after the last offer of a person (or a hand-back), each with
    its sentiment score and the actions that failed in answer to it."""
    turns: list[Turn] = []
    failed: list[str] = []
    current: UserUttered | None = None
    last_action: str | None = None

    def close() -> None:
        if current is not None:
            turns.append(Turn(current.intent_name, _score(current), tuple(failed)))

    for event in events:
        if isinstance(event, UserUttered):
            close()
            current, failed = event, []
        elif isinstance(event, ConversationResumed):
            close()
            turns, current, failed = [], None, []
        elif isinstance(event, ActionExecuted):
            last_action = event.action_name
            if last_action in OFFERS:
                close()
                turns, current, failed = [], None, []
        elif isinstance(event, BotUttered) and _is_failure(event) and last_action:
            failed.append(last_action)
    close()
    return turns


def _score(event: UserUttered) -> float:
    for entity in event.entities or []:
        if entity.get("entity") == "sentiment":
            try:
                return float(entity.get("score", 0.0))
            except (TypeError, ValueError):
                return 0.0
    return 0.0
