"""The shop-chat sentiment analysers, in both languages, on the hard cases."""

from __future__ import annotations

import sys

import pytest

from shopmate.sentiment import LABELS, Sentiment, SentimentAnalyser
from shopmate.sentiment.model import label_for


@pytest.fixture(scope="module")
def analyser() -> SentimentAnalyser:
    return SentimentAnalyser()


@pytest.mark.parametrize(
    ("text", "label"),
    [
        # plain requests, even with words that look emotive
        ("我想退货", "neutral"),
        ("请问这件有M码吗", "neutral"),
        ("订单A1000003到哪了", "neutral"),
        ("差价能退吗", "neutral"),
        ("投诉电话是多少", "neutral"),
        ("好的", "neutral"),
        # praise, slang, emoji
        ("东西收到了，很满意，谢谢", "positive"),
        ("客服太给力了", "positive"),
        ("yyds，已经回购三次", "positive"),
        ("❤️❤️", "positive"),
        # negation
        ("不是不满意，挺好的", "positive"),
        ("一点也不满意", "negative"),
        ("没让我失望", "positive"),
        ("不太好用", "negative"),
        # complaints, sarcasm, exasperation
        ("垃圾，太坑了", "negative"),
        ("真是太'快'了，等了半个月", "negative"),
        ("好棒哦，又发错货了", "negative"),
        ("怎么还没发货？？？", "negative"),
        ("麻烦帮我看看，衣服收到有个破洞", "negative"),
        ("谢谢回复，但是这个处理我接受不了", "negative"),
        ("充电器充不进电😂", "negative"),
        ("😡😡", "negative"),
    ],
)
def test_chinese_shop_chat(analyser: SentimentAnalyser, text: str, label: str) -> None:
    assert analyser.analyse(text).label == label


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("where is my order A1000003?", "neutral"),
        ("can I return it if it arrives broken?", "neutral"),
        ("ok", "neutral"),
        ("quick question about sizes", "neutral"),
        ("thanks so much, love it 👍", "positive"),
        ("not bad at all", "positive"),
        ("this jacket slaps", "positive"),
        ("never had a comfier pair of shoes", "positive"),
        ("not happy with this at all", "negative"),
        ("I've never had such bad service", "negative"),
        ("great, another delay", "negative"),
        ("thanks for nothing", "negative"),
        ("fantastic quality, it lasted a whole two days", "negative"),
        ("WHERE IS MY REFUND", "negative"),
        ("why hasn't it shipped???", "negative"),
        ("wtf, charged twice", "negative"),
        ("thanks for the reply, but this isn't acceptable", "negative"),
        ("the screen is craked", "negative"),
    ],
)
def test_english_shop_chat(analyser: SentimentAnalyser, text: str, label: str) -> None:
    assert analyser.analyse(text).label == label


def test_mixed_text_is_read_by_both(analyser: SentimentAnalyser) -> None:
    assert analyser.analyse("这个 quality 太差 wtf").label == "negative"
    # A lone English verb in a Chinese request is not a complaint.
    assert analyser.analyse("能帮我cancel一下订单吗").label == "neutral"


def test_scores_are_bounded_and_stronger_for_stronger_words(analyser: SentimentAnalyser) -> None:
    mild = analyser.analyse("有点失望").score
    furious = analyser.analyse("垃圾！！气死我了，骗子😡").score
    assert -1.0 <= furious < mild < 0
    assert analyser.analyse("x" * 100_000).label == "neutral"  # long text: read bounded


def test_empty_text_is_neutral(analyser: SentimentAnalyser) -> None:
    assert analyser.analyse("") == Sentiment.of(0.0)
    assert analyser.analyse("   ") == Sentiment.of(0.0)


def test_labels_follow_the_score() -> None:
    assert label_for(0.5) == "positive"
    assert label_for(-0.5) == "negative"
    assert label_for(0.1) == "neutral"
    assert Sentiment.of(-3.0).score == -1.0


def test_models_load_on_first_use_not_at_import() -> None:
    sys.modules.pop("snownlp", None)
    fresh = SentimentAnalyser()
    assert "snownlp" not in sys.modules
    fresh.analyse("今天下午三点")  # no lexicon word: snownlp is asked
    assert "snownlp" in sys.modules


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_labelled_sets_are_balanced_and_apart(language: str) -> None:
    from scripts.eval_sentiment import load

    held_out, dev = load(language, "held_out"), load(language, "dev")
    for rows in (held_out, dev):
        counts = {label: sum(r["label"] == label for r in rows) for label in LABELS}
        assert len(rows) >= 200
        assert len(set(counts.values())) == 1, counts
        assert sum(r["case"] != "plain" for r in rows) >= len(rows) * 0.3
    assert not {r["text"] for r in held_out} & {r["text"] for r in dev}
