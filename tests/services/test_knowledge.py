"""Knowledge base loading and retrieval quality on the shipped articles."""

from __future__ import annotations

from pathlib import Path

import pytest

from actions.services.knowledge import KnowledgeBase, KnowledgeBaseError, load_articles
from actions.settings import get_settings


@pytest.fixture(scope="module")
def knowledge_base() -> KnowledgeBase:
    return KnowledgeBase(get_settings().knowledge_dir, get_settings().faq_min_score)


def test_every_article_exists_in_both_languages() -> None:
    articles = load_articles(get_settings().knowledge_dir)
    zh = {a.id for a in articles["zh"]}
    en = {a.id for a in articles["en"]}
    assert zh == en
    assert len(zh) >= 12


@pytest.mark.parametrize("language", ["zh", "en"])
def test_sample_questions_find_their_own_article(
    knowledge_base: KnowledgeBase, language: str
) -> None:
    articles = load_articles(get_settings().knowledge_dir)[language]
    questions = [(q, a.id) for a in articles for q in a.questions]
    answered = sum(
        1
        for question, article_id in questions
        if (best := knowledge_base.best_answer(question, language)) and best.id == article_id
    )
    # These phrasings are indexed, so nearly all must come back first and confident.
    assert answered / len(questions) >= 0.9


def test_unrelated_questions_get_no_answer(knowledge_base: KnowledgeBase) -> None:
    # Lexical scores alone separate only clearly unrelated questions; the NLU's
    # ask_faq intent is the first gate in front of the knowledge base.
    for question, language in [
        ("火星上的天气怎么样", "zh"),
        ("给我讲个笑话", "zh"),
        ("who won the world cup", "en"),
        ("recommend a good movie", "en"),
    ]:
        assert knowledge_base.best_answer(question, language) is None, question


def test_missing_directory_raises_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeBaseError):
        KnowledgeBase(tmp_path).search("运费", "zh")
