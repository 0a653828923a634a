"""action_answer_faq against the real knowledge base and against a broken one."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.faq import ActionAnswerFaq
from shopmate.knowledge import KnowledgeBase, load_articles
from shopmate.settings import get_settings
from tests.conftest import TrackerBuilder


@pytest.fixture(scope="module")
def knowledge_base() -> KnowledgeBase:
    return KnowledgeBase(get_settings().knowledge_dir, get_settings().faq_min_score)


@pytest.mark.parametrize(
    ("question", "language", "article_id"),
    [
        ("买多少钱包邮", "zh", "shipping-fees"),
        ("可以开增值税专用发票吗", "zh", "invoices"),
        ("支持花呗分期吗", "zh", "payment-methods"),
        ("How long does a refund take?", "en", "refunds"),
        ("Do you ship to Singapore?", "en", "international-shipping"),
        ("what is the warranty on a charger", "en", "warranty"),
    ],
)
async def test_answers_from_the_matching_article_in_the_shoppers_language(
    knowledge_base: KnowledgeBase,
    tracker_for: TrackerBuilder,
    dispatcher: CollectingDispatcher,
    question: str,
    language: str,
    article_id: str,
) -> None:
    action = ActionAnswerFaq(knowledge_base=knowledge_base)
    events = await action.run(dispatcher, tracker_for(question, language=language), {})
    assert events == []
    [message] = dispatcher.messages
    assert message["response"] == "utter_faq_answer"
    article = next(
        hit.article
        for hit in knowledge_base.search(question, language)
        if hit.article.id == article_id
    )
    assert message["answer"] == article.body
    assert message["title"] == article.title
    assert article.language == language


async def test_question_with_no_good_article_gets_an_honest_not_found(
    knowledge_base: KnowledgeBase, tracker_for: TrackerBuilder, dispatcher: CollectingDispatcher
) -> None:
    action = ActionAnswerFaq(knowledge_base=knowledge_base)
    await action.run(dispatcher, tracker_for("火星上的天气怎么样", language="zh"), {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_faq_not_found"]


async def test_broken_knowledge_base_gets_a_polite_answer(
    tmp_path: Path, tracker_for: TrackerBuilder, dispatcher: CollectingDispatcher
) -> None:
    action = ActionAnswerFaq(knowledge_base=KnowledgeBase(tmp_path / "missing"))
    await action.run(dispatcher, tracker_for("运费多少", language="zh"), {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_faq_unavailable"]


@pytest.mark.parametrize(
    ("question", "language", "article_id"),
    [
        ("能不能用信用卡分几个月付", "zh", "instalments"),
        ("How do I get my cash back after I send the parcel back?", "en", "refunds"),
    ],
)
async def test_a_paraphrase_without_the_articles_words_is_answered(
    knowledge_base: KnowledgeBase,
    tracker_for: TrackerBuilder,
    dispatcher: CollectingDispatcher,
    question: str,
    language: str,
    article_id: str,
) -> None:
    action = ActionAnswerFaq(knowledge_base=knowledge_base)
    await action.run(dispatcher, tracker_for(question, language=language), {})
    [message] = dispatcher.messages
    assert message["response"] == "utter_faq_answer"
    [article] = [
        a for a in load_articles(get_settings().knowledge_dir)[language] if a.id == article_id
    ]
    assert message["answer"] == article.body


@pytest.mark.parametrize(
    ("text", "language"),
    [("谢谢，没问题了", "zh"), ("thanks a lot", "en"), ("tell me a joke", "en")],
)
async def test_small_talk_that_reaches_the_faq_action_gets_not_found(
    knowledge_base: KnowledgeBase,
    tracker_for: TrackerBuilder,
    dispatcher: CollectingDispatcher,
    text: str,
    language: str,
) -> None:
    action = ActionAnswerFaq(knowledge_base=knowledge_base)
    await action.run(dispatcher, tracker_for(text, language=language), {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_faq_not_found"]


async def test_a_grounded_generated_answer_is_sent_with_the_article_title(
    knowledge_base: KnowledgeBase, tracker_for: TrackerBuilder, dispatcher: CollectingDispatcher
) -> None:
    from shopmate.llm import LLMGenerator
    from tests.shopmate.llm.fakes import FakeBackend

    phrased = "下单满 99 元即可包邮哦。"
    generator = LLMGenerator(FakeBackend(phrased))
    action = ActionAnswerFaq(knowledge_base=knowledge_base, generator=generator)
    await action.run(dispatcher, tracker_for("买多少钱包邮"), {})
    [message] = dispatcher.messages
    assert message["answer"] == phrased
    shipping = next(
        a for a in load_articles(get_settings().knowledge_dir)["zh"] if a.id == "shipping-fees"
    )
    assert message["title"] == shipping.title


async def test_a_generated_answer_with_an_invented_price_is_replaced_by_the_article(
    knowledge_base: KnowledgeBase, tracker_for: TrackerBuilder, dispatcher: CollectingDispatcher
) -> None:
    from shopmate.llm import LLMGenerator
    from tests.shopmate.llm.fakes import FakeBackend

    generator = LLMGenerator(FakeBackend("下单满 59 元即可包邮，运费只要 3 元。"))
    action = ActionAnswerFaq(knowledge_base=knowledge_base, generator=generator)
    await action.run(dispatcher, tracker_for("买多少钱包邮"), {})
    [message] = dispatcher.messages
    article = next(
        a for a in load_articles(get_settings().knowledge_dir)["zh"] if a.id == "shipping-fees"
    )
    assert message["answer"] == article.body
    assert "59" not in message["answer"]


@pytest.mark.parametrize(
    ("text", "answered"),
    [("七天无理由退货怎么退", True), ("/nlu_fallback", False), ("asdfgh qwerty", False)],
)
async def test_a_message_the_nlu_missed_is_answered_only_when_the_kb_is_confident(
    knowledge_base: KnowledgeBase,
    tracker_for: TrackerBuilder,
    dispatcher: CollectingDispatcher,
    text: str,
    answered: bool,
) -> None:
    from actions.faq import ActionAnswerFallback

    events = await ActionAnswerFallback(knowledge_base=knowledge_base).run(
        dispatcher, tracker_for(text, intent="nlu_fallback"), {}
    )
    assert events == [
        {"event": "slot", "timestamp": None, "name": "kb_answered", "value": answered}
    ]
    assert bool(dispatcher.messages) is answered
