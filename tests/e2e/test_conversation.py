"""Conversations over the REST channel with the trained model and the action server."""

from __future__ import annotations

import itertools
import re
import sqlite3
from typing import Any

import pytest
import requests

from shopmate.knowledge import load_articles
from shopmate.settings import get_settings
from tests.conftest import is_response, response_texts
from tests.e2e.conftest import ShopMate

pytestmark = pytest.mark.e2e

HAN = re.compile(r"[\u4e00-\u9fff]")


def faq_answer(domain: dict[str, Any], article_id: str, language: str) -> list[str]:
    """The exact reply for a knowledge article: its body and title in the template."""
    [article] = [
        a for a in load_articles(get_settings().knowledge_dir)[language] if a.id == article_id
    ]
    [template] = response_texts(domain, "utter_faq_answer", language)
    return [template.format(answer=article.body, title=article.title)]


def test_chinese_conversation(shopmate: ShopMate, sender: str, domain: dict[str, Any]) -> None:
    assert shopmate.texts(sender, "你好") == response_texts(domain, "utter_greet", "zh")
    answer = shopmate.texts(sender, "买多少钱可以包邮？")
    assert answer == faq_answer(domain, "shipping-fees", "zh")
    assert "99" in answer[0]
    assert shopmate.texts(sender, "好的，谢谢") == response_texts(
        domain, "utter_you_are_welcome", "zh"
    )
    assert shopmate.texts(sender, "拜拜") == response_texts(domain, "utter_goodbye", "zh")
    assert shopmate.bot_actions(sender)[-4:] == [
        "utter_greet",
        "action_answer_faq",
        "utter_you_are_welcome",
        "utter_goodbye",
    ]


def test_english_conversation(shopmate: ShopMate, sender: str, domain: dict[str, Any]) -> None:
    assert shopmate.texts(sender, "hello there") == response_texts(domain, "utter_greet", "en")
    answer = shopmate.texts(sender, "How long does a refund take?")
    assert answer == faq_answer(domain, "refunds", "en")
    assert "working days" in answer[0]
    assert shopmate.texts(sender, "are you a bot?") == response_texts(domain, "utter_iamabot", "en")
    (handed_over,) = shopmate.texts(sender, "I want to talk to a human")
    assert is_response(domain, handed_over, "utter_handoff_started", "en")


def test_shopper_switching_language_gets_answers_in_the_new_one(
    shopmate: ShopMate, sender: str, domain: dict[str, Any]
) -> None:
    assert shopmate.texts(sender, "你好") == response_texts(domain, "utter_greet", "zh")
    answer = shopmate.texts(sender, "what is your return policy?")
    # Two English articles answer it (the policy, and how to return step by step).
    assert answer in (
        faq_answer(domain, "returns-policy", "en"),
        faq_answer(domain, "return-process", "en"),
    )
    assert shopmate.tracker(sender)["slots"]["language"] == "en"
    assert shopmate.texts(sender, "谢谢你") == response_texts(domain, "utter_you_are_welcome", "zh")
    assert shopmate.tracker(sender)["slots"]["language"] == "zh"


def test_message_without_words_keeps_the_conversation_language(
    shopmate: ShopMate, sender: str
) -> None:
    shopmate.texts(sender, "hi")
    replies = shopmate.texts(sender, "A1234567")
    assert replies
    assert all(not HAN.search(text) for text in replies)
    assert shopmate.tracker(sender)["slots"]["language"] == "en"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("请问 invoice 可以开吗", "ask_faq"),
        ("退货的policy是怎样的", "ask_faq"),
        ("我想找human客服聊聊", "request_human"),
        ("thanks 谢谢你", "thank"),
    ],
)
def test_mixed_chinese_english_messages_parse(shopmate: ShopMate, text: str, intent: str) -> None:
    parsed = shopmate.parse(text)
    assert parsed["intent"]["name"] == intent
    languages = [e["value"] for e in parsed["entities"] if e["entity"] == "language"]
    assert languages == ["zh"]


@pytest.mark.parametrize(
    ("text", "latin_tokens"),
    [("iPhone 15 的手机壳有红色吗", ["iPhone", "15"]), ("我要退这个order", ["order"])],
)
def test_mixed_text_is_tokenized_on_word_boundaries(
    shopmate: ShopMate, text: str, latin_tokens: list[str]
) -> None:
    parsed = shopmate.parse(text)
    spans = parsed["text_tokens"]
    tokens = [text[start:end] for start, end in spans]
    # Latin words stay whole, no whitespace tokens, offsets in order and in bounds
    # (RasaHQ/rasa #7910: jieba's space tokens used to shift offsets in mixed text).
    for word in latin_tokens:
        assert word in tokens
    assert all(token.strip() == token and token for token in tokens)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    assert spans[-1][1] <= len(text)
    assert [e["value"] for e in parsed["entities"] if e["entity"] == "language"] == ["zh"]


def test_two_misunderstandings_in_a_row_offer_a_person(
    shopmate: ShopMate, sender: str, domain: dict[str, Any]
) -> None:
    shopmate.texts(sender, "你好")
    # Two misreadings, injected through the HTTP API (a shopper's "/nlu_fallback" is text).
    assert [m["text"] for m in shopmate.trigger(sender, "nlu_fallback")] == response_texts(
        domain, "utter_ask_rephrase", "zh"
    )
    offer = shopmate.trigger(sender, "nlu_fallback")
    assert offer[0]["text"] == response_texts(domain, "utter_offer_human", "zh")[0]
    assert [b["payload"] for b in offer[0]["buttons"]] == ["/affirm", "/deny"]
    (handed_over,) = shopmate.texts(sender, "好的")
    assert is_response(domain, handed_over, "utter_handoff_started", "zh")


@pytest.mark.parametrize(
    ("text", "language"),
    [("运费怎么算？" * 200, "zh"), ("How much is shipping? " * 60, "en")],
)
def test_over_long_message_gets_a_polite_request_to_shorten_it(
    shopmate: ShopMate, sender: str, domain: dict[str, Any], text: str, language: str
) -> None:
    assert len(text) > 1000
    assert shopmate.texts(sender, text) == response_texts(
        domain, "utter_message_too_long", language
    )
    # Nothing is lost: the conversation goes on normally afterwards.
    assert shopmate.texts(sender, "are you a bot" if language == "en" else "你是机器人吗") == (
        response_texts(domain, "utter_iamabot", language)
    )


def test_unanswerable_policy_question_admits_it(
    shopmate: ShopMate, sender: str, domain: dict[str, Any]
) -> None:
    shopmate.texts(sender, "hello")
    replies = shopmate.say(sender, "what is your policy on drone deliveries to the moon")
    texts = [reply.get("text") for reply in replies]
    assert texts in (
        response_texts(domain, "utter_faq_not_found", "en"),
        response_texts(domain, "utter_out_of_scope", "en"),
    )


def test_conversation_is_kept_in_the_sqlite_tracker_store(shopmate: ShopMate, sender: str) -> None:
    shopmate.texts(sender, "你好")
    with sqlite3.connect(shopmate.tracker_db) as db:
        rows = db.execute("SELECT type_name FROM events WHERE sender_id = ?", (sender,)).fetchall()
    assert ("user",) in rows
    assert ("slot",) in rows


def test_action_server_refuses_calls_without_the_shared_token(shopmate: ShopMate) -> None:
    assert requests.get(f"{shopmate.action_url}/health", timeout=5).status_code == 200
    call = {"next_action": "action_answer_faq", "sender_id": "x", "tracker": {}, "domain": {}}
    assert requests.post(f"{shopmate.action_url}/webhook", json=call, timeout=5).status_code == 401
    wrong = requests.post(
        f"{shopmate.action_url}/webhook", params={"token": "guess"}, json=call, timeout=5
    )
    assert wrong.status_code == 401


def test_action_server_errors_do_not_echo_personal_data(shopmate: ShopMate) -> None:
    call = {
        "next_action": "action_answer_faq",
        "sender_id": "x",
        # Not a tracker at all: the SDK fails while reading it.
        "tracker": ["我的电话 13812345678"],
        "domain": {},
    }
    reply = requests.post(
        f"{shopmate.action_url}/webhook",
        params={"token": shopmate.action_token},
        json=call,
        timeout=10,
    )
    assert reply.status_code >= 400
    assert "13812345678" not in reply.text
