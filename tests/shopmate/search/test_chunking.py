"""Cutting knowledge articles into chunks for retrieval."""

from __future__ import annotations

from shopmate.knowledge import (
    MAX_CHUNK_CHARS,
    MAX_CHUNK_WORDS,
    Article,
    chunk_article,
    split_text,
)


def article(body: str, questions: tuple[str, ...] = ()) -> Article:
    return Article("fees", "zh", "运费与包邮", "shipping", questions, body)


def test_short_article_is_title_plus_body_then_one_chunk_per_question() -> None:
    chunks = chunk_article(article("满99元包邮。", ("运费怎么算", "包邮吗")))
    assert [c.id for c in chunks] == ["fees#body-0", "fees#q-0", "fees#q-1"]
    assert [c.kind for c in chunks] == ["body", "question", "question"]
    assert chunks[0].text == "运费与包邮\n满99元包邮。"
    assert chunks[1].text == "运费与包邮\n运费怎么算"
    assert {c.article_id for c in chunks} == {"fees"}


def test_each_paragraph_is_its_own_chunk() -> None:
    assert split_text("第一段。\n\n第二段。\n  \n第三段。") == ["第一段。", "第二段。", "第三段。"]


def test_long_chinese_paragraph_is_cut_between_sentences_within_the_limit() -> None:
    sentence = "订单满九十九元即可包邮，偏远地区另加十元运费。"  # 23 characters
    paragraph = sentence * 40
    pieces = split_text(paragraph)
    assert len(pieces) > 1
    assert all(len(piece) <= MAX_CHUNK_CHARS for piece in pieces)
    assert all(piece.endswith("。") for piece in pieces)
    assert "".join(pieces) == paragraph


def test_long_english_paragraph_is_cut_by_words() -> None:
    sentence = "Refunds go back to the original payment method within seven working days."
    paragraph = " ".join([sentence] * 30)
    pieces = split_text(paragraph)
    assert len(pieces) > 1
    assert all(len(piece.split()) <= MAX_CHUNK_WORDS for piece in pieces)
    assert " ".join(pieces) == paragraph


def test_a_sentence_longer_than_the_limit_is_still_cut() -> None:
    assert all(len(p) <= 50 for p in split_text("长" * 120, max_chars=50))
    assert all(len(p.split()) <= 10 for p in split_text("word " * 35, max_words=10))
