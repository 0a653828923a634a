"""The Rasa-side parts of sentiment and handoff, checked in the Rasa runtime by
tests/addons/test_people.py: the sentiment tagger, the tone of the NLG and every
trigger of the escalation policy, in Chinese and English."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.utils.endpoints import EndpointConfig

from addons.escalation_policy import EscalationPolicy
from addons.nlg import RephrasingNaturalLanguageGenerator
from addons.sentiment_component import SentimentTagger
from shopmate.support.escalation import EscalationRules

TAGGER = SentimentTagger.create(SentimentTagger.get_default_config(), None, None, None)  # type: ignore[arg-type]


def tagged(text: str, intent: str) -> UserUttered:
    message = Message({TEXT: text})
    TAGGER.process([message])
    return UserUttered(
        text, intent={"name": intent, "confidence": 0.9}, entities=message.get(ENTITIES)
    )


def check_sentiment_tagger() -> None:
    for text, label in [
        ("垃圾，气死我了", "negative"),
        ("请问有M码吗", "neutral"),
        ("太给力了，谢谢", "positive"),
        ("wtf, charged twice", "negative"),
        ("where is my order?", "neutral"),
        ("love it, thanks!", "positive"),
    ]:
        message = Message({TEXT: text})
        TAGGER.process([message])
        (entity,) = [e for e in message.get(ENTITIES) if e["entity"] == "sentiment"]
        assert entity["value"] == label, (text, entity)
        assert -1.0 <= entity["score"] <= 1.0


def lang(value: str) -> dict[str, Any]:
    return {"type": "slot", "name": "language", "value": value}


def upset() -> dict[str, Any]:
    return {"type": "slot", "name": "sentiment", "value": "negative"}


def tone_domain() -> Domain:
    return Domain.from_dict(
        {
            "slots": {
                "language": {"type": "text", "mappings": [{"type": "custom"}]},
                "sentiment": {"type": "text", "mappings": [{"type": "custom"}]},
            },
            "responses": {
                "utter_greet": [
                    {"text": "您好！", "condition": [lang("zh")]},
                    {"text": "抱歉让您不愉快。", "condition": [lang("zh"), upset()]},
                    {"text": "Hello!", "condition": [lang("en")]},
                    {"text": "Sorry things went wrong.", "condition": [lang("en"), upset()]},
                ],
                "utter_order_status": [
                    {"text": "订单已发货", "condition": [lang("zh")]},
                    {"text": "Your order has shipped", "condition": [lang("en")]},
                ],
                "utter_search_unavailable": [{"text": "搜索暂不可用", "condition": [lang("zh")]}],
                "utter_acknowledge_upset": [
                    {"text": "非常抱歉。", "condition": [lang("zh")]},
                    {"text": "I'm really sorry.", "condition": [lang("en")]},
                ],
            },
        }
    )


async def check_tone() -> None:
    domain = tone_domain()
    nlg = RephrasingNaturalLanguageGenerator(EndpointConfig("http://127.0.0.1:9/rephrase"), domain)

    def tracker(language: str, mood: str, text: str) -> DialogueStateTracker:
        events: list[Event] = [
            SlotSet("language", language),
            SlotSet("sentiment", mood),
            UserUttered(text, message_id=f"{language}-{mood}-{text}"),
        ]
        return DialogueStateTracker.from_events(f"tone-{text}", events, domain.slots)

    for language, cheerful, sorry in [
        ("zh", "您好！", "抱歉让您不愉快。"),
        ("en", "Hello!", "Sorry things went wrong."),
    ]:
        angry = tracker(language, "negative", f"{language} angry")
        # Always the upset variation, never the cheerful one (Rasa alone picks randomly).
        texts = {(await nlg.generate("utter_greet", angry, "rest"))["text"] for _ in range(20)}
        assert texts == {sorry}, texts
        calm = tracker(language, "neutral", f"{language} calm")
        texts = {(await nlg.generate("utter_greet", calm, "rest"))["text"] for _ in range(20)}
        assert texts == {cheerful}, texts
    # No upset variation: the apology goes in front, once per turn.
    angry = tracker("en", "negative", "where is my order???")
    first = await nlg.generate("utter_order_status", angry, "rest")
    assert first["text"] == "I'm really sorry.\nYour order has shipped", first
    second = await nlg.generate("utter_order_status", angry, "rest")
    assert second["text"] == "Your order has shipped", "one apology per turn"
    calm = tracker("zh", "neutral", "订单到哪了")
    assert (await nlg.generate("utter_order_status", calm, "rest"))["text"] == "订单已发货"
    # An apology needs no apology in front of it.
    sorry = tracker("zh", "negative", "搜索呢？？？")
    assert (await nlg.generate("utter_search_unavailable", sorry, "rest"))["text"] == "搜索暂不可用"


POLICY_DOMAIN = Domain.from_dict(
    {
        "intents": ["affirm", "deny", "request_human", "track_shipment", "inform", "greet"],
        "actions": ["action_offer_handoff", "action_handoff", "action_answer_order"],
        "responses": {
            "utter_handoff_declined": [{"text": "ok"}],
            "utter_order_service_unavailable": [{"text": "down"}],
            "utter_greet": [{"text": "hi"}],
        },
    }
)


def policy(rules: EscalationRules | None = None) -> EscalationPolicy:
    context = SimpleNamespace(is_finetuning=False)
    return EscalationPolicy({}, None, None, context, rules=rules or EscalationRules())  # type: ignore[arg-type]


def predicted(events: list[Event], rules: EscalationRules | None = None) -> str | None:
    tracker = DialogueStateTracker.from_events("policy", events, POLICY_DOMAIN.slots)
    chosen = policy(rules)
    prediction = chosen.predict_action_probabilities(tracker, POLICY_DOMAIN)
    action = chosen.next_action(tracker)
    if action is None:
        assert max(prediction.probabilities) == 0.0
    else:
        index = POLICY_DOMAIN.index_for_action(action)
        assert prediction.probabilities[index] == 1.0
    return action


def answered(user: UserUttered, *responses: str) -> list[Event]:
    events: list[Event] = [ActionExecuted("action_listen"), user]
    for name in responses:
        events += [ActionExecuted(name), BotUttered("...", metadata={"utter_action": name})]
    return events


def check_escalation_policy() -> None:
    for angry_1, angry_2, calm in [
        ("垃圾，太坑了！", "气死我了，什么破服务😡", "好的"),
        ("wtf, this is a scam", "THIS IS RIDICULOUS, worst service ever!!!", "ok"),
    ]:
        first = answered(tagged(angry_1, "track_shipment"), "utter_greet")
        # One angry message: no offer yet.
        assert predicted(first) is None
        second = [*first, ActionExecuted("action_listen"), tagged(angry_2, "track_shipment")]
        # Two in a row: the offer first, before the answer.
        assert predicted(second) == "action_offer_handoff"
        offered = [
            *second,
            ActionExecuted("action_offer_handoff"),
            BotUttered("offer", metadata={"utter_action": "utter_offer_handoff"}),
            ActionReverted(),
        ]
        assert predicted(offered) is None, "after the offer the others answer"
        answered_turn = [*offered, ActionExecuted("utter_greet"), BotUttered("hi")]
        # Accepting the offer hands over; declining keeps the bot, and is not repeated.
        yes = [
            *answered_turn,
            ActionExecuted("action_listen"),
            tagged("好的" if calm == "好的" else "yes", "affirm"),
        ]
        assert predicted(yes) == "action_handoff"
        no = [*answered_turn, ActionExecuted("action_listen"), tagged("不用", "deny")]
        assert predicted(no) == "utter_handoff_declined"
        declined = [*no, ActionExecuted("utter_handoff_declined"), BotUttered("ok")]
        assert predicted(declined) == "action_listen"
        again = [*declined, ActionExecuted("action_listen"), tagged(angry_1, "track_shipment")]
        assert predicted(again) is None, "streaks count from the last offer"
        # An angry message, then a calm one: no offer.
        mixed = [*first, ActionExecuted("action_listen"), tagged(calm, "inform")]
        assert predicted(mixed) is None
        # Asking for a person is the rules' (at once, no offer).
        asked = [*first, ActionExecuted("action_listen"), tagged(angry_2, "request_human")]
        assert predicted(asked) is None
        # Switched off by configuration.
        assert predicted(second, EscalationRules(negative_in_a_row=0)) is None
    # The same action failing twice: offered right after the second apology.
    failing = answered(tagged("订单A1000003到哪了", "track_shipment"), "action_answer_order")
    failing[-1] = BotUttered("down", metadata={"utter_action": "utter_order_service_unavailable"})
    assert predicted(failing) is None, "one failure is not enough"
    twice = [
        *failing,
        *answered(tagged("where is A1000003?", "track_shipment"), "action_answer_order"),
    ]
    twice[-1] = BotUttered("down", metadata={"utter_action": "utter_order_service_unavailable"})
    assert predicted(twice) == "action_offer_handoff"
    assert predicted(twice, EscalationRules(same_failure=3)) is None
    # Fallbacks in a row, when configured (rules offer at the second by default).
    lost = [
        *answered(tagged("asdf qwer", "nlu_fallback"), "utter_greet"),
        ActionExecuted("action_listen"),
        tagged("zxcv", "nlu_fallback"),
    ]
    assert predicted(lost) is None
    assert predicted(lost, EscalationRules(fallbacks_in_a_row=2)) == "action_offer_handoff"
    # A new session while an agent still has it: handed over again (it pauses again).
    paused = [
        *answered(tagged("转人工", "request_human"), "action_handoff"),
        ConversationPaused(),
        ActionExecuted("action_session_start"),
        SessionStarted(),
        ActionExecuted("action_listen"),
        tagged("还在吗", "greet"),
    ]
    assert predicted(paused) == "action_handoff"
    back = [*paused[:-1], ConversationResumed(), ActionExecuted("action_listen"), paused[-1]]
    assert predicted(back) is None
    # After a hand-back, the streak starts again.
    resumed = [*second[:-1], ConversationResumed(), ActionExecuted("action_listen"), second[-1]]
    assert predicted(resumed) is None


check_sentiment_tagger()
asyncio.run(check_tone())
check_escalation_policy()
print("people: ok")
