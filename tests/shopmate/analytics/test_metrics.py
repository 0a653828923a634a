"""Every number of the report against a small store whose answer is known
(tests/shopmate/analytics/known_store.py says what happens in each conversation)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from shopmate.analytics.build import ReportSources, gather
from shopmate.analytics.masking import conversation_key, mask_text
from shopmate.analytics.metrics import Insight, Sample
from shopmate.analytics.store import StoreFigures
from tests.shopmate.analytics.known_store import EMAIL, PHONE, write_shop, write_tracker

SECRET = "test secret"


@pytest.fixture(scope="module")
def known(tmp_path_factory: pytest.TempPathFactory) -> tuple[Insight, StoreFigures]:
    folder = tmp_path_factory.mktemp("known")
    tracker = write_tracker(folder / "tracker.db")
    shop = write_shop(f"sqlite:///{folder / 'shop.db'}")
    insight, store = gather(ReportSources(str(tracker), shop, SECRET))
    assert store is not None
    return insight, store


def test_volume_days_channels_languages(known: tuple[Insight, StoreFigures]) -> None:
    insight, _ = known
    assert insight.conversations == 4  # erin's empty session is not one
    assert insight.messages == 12
    assert insight.per_day == Counter({"2026-11-01": 2, "2026-11-02": 2})
    assert insight.per_channel == Counter({"socketio": 2, "telegram": 1, "rest": 1})
    assert insight.languages == Counter({"zh": 2, "en": 2})


def test_intents_and_fallbacks(known: tuple[Insight, StoreFigures]) -> None:
    insight, _ = known
    assert insight.intents["greet"] == 2
    assert insight.intents["search_product"] == 2
    assert sum(insight.intents.values()) == 12
    assert insight.fallback_messages == 1
    assert insight.fallback_rate == pytest.approx(1 / 12)
    assert insight.conversations_with_fallback == 1


def test_containment_and_handoffs(known: tuple[Insight, StoreFigures]) -> None:
    insight, store = known
    assert insight.handed_over == 1  # carol
    assert insight.handoff_rate == pytest.approx(0.25)
    assert insight.ticket_without_handoff == 1  # bob's complaint
    assert insight.contained == 2  # alice and dave
    assert insight.containment_rate == pytest.approx(0.5)
    assert store.tickets == 2
    assert store.reasons == Counter({"complaint": 1, "requested": 1})
    assert store.complaint_categories == Counter({"late": 1})


def test_first_agent_reply(known: tuple[Insight, StoreFigures]) -> None:
    insight, _ = known
    assert insight.agent_replied == 1
    assert insight.first_reply_s.percentile(50) == pytest.approx(90.0, abs=1e-3)


def test_sentiment_across_the_conversation(known: tuple[Insight, StoreFigures]) -> None:
    insight, _ = known
    by_position = insight.sentiment_by_position
    assert by_position[:4] == pytest.approx([-0.15, -0.325, 0.3, 0.6])
    assert by_position[4:] == [None] * 6
    assert (insight.sentiment_improved, insight.sentiment_worsened) == (2, 2)


def test_funnel_offers_refusals_ratings(known: tuple[Insight, StoreFigures]) -> None:
    insight, store = known
    assert (insight.searched, insight.detailed, insight.carted) == (2, 1, 1)
    assert (insight.offers, insight.conversations_with_offer) == (1, 1)
    assert insight.refusals == Counter({"already_shipped": 1})
    assert insight.chat_ratings == Counter({4: 1})
    assert store.ratings == Counter({4: 1})
    assert store.mean_rating == 4.0


def test_latency(known: tuple[Insight, StoreFigures]) -> None:
    insight, _ = known
    p95 = insight.latency_p95()
    assert p95["action_search_products"] == pytest.approx(0.5, abs=1e-4)
    assert p95["action_answer_fallback"] == pytest.approx(1.0, abs=1e-4)
    assert p95["action_handoff"] == pytest.approx(0.3, abs=1e-4)
    # After the resume, the rating question is timed from the resume, not the shopper.
    assert p95["utter_ask_rating"] == pytest.approx(0.1, abs=1e-4)
    assert "action_listen" not in p95
    assert insight.turn_latency_s.count == 11
    assert insight.turn_latency_s.percentile(50) == pytest.approx(0.4, abs=1e-4)
    assert insight.turn_latency_s.percentile(95) == pytest.approx(1.0, abs=1e-4)


def test_least_understood_is_masked_and_keyed(known: tuple[Insight, StoreFigures]) -> None:
    insight, _ = known
    least = insight.least_understood
    assert [u.confidence for u in least[:3]] == [0.3, 0.7, 0.75]
    assert least[0].intent == "nlu_fallback"
    assert least[0].conversation == conversation_key(SECRET, "bob")
    assert PHONE not in least[0].text
    assert EMAIL not in least[0].text
    assert least[0].text == "blah call me *********** or ***@***"
    assert least[2].text == "cancel order A*******"
    assert all(not u.text.startswith("/") for u in least)  # button payloads are not words


def test_masking() -> None:
    masked = mask_text("地址改成北京市朝阳区建国路88号 谢谢")
    assert masked.endswith(" 谢谢")
    assert not any(word in masked for word in ("北京", "朝阳", "建国", "88", "号"))
    assert mask_text("call +86 138 1234 5678") == "call +** *** **** ****"
    assert conversation_key("a", "x") != conversation_key("b", "x")


def test_sample_stays_bounded() -> None:
    sample = Sample(size=100)
    for value in range(10_000):
        sample.add(float(value))
    assert len(sample.values) == 100
    assert sample.count == 10_000
    assert sample.mean == pytest.approx(4999.5)
    assert Sample().percentile(95) is None


def test_window(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    tracker = write_tracker(tmp_path / "tracker.db")
    since = datetime(2026, 11, 2, tzinfo=UTC)
    insight, store = gather(ReportSources(str(tracker), None, SECRET, since=since))
    assert insight.conversations == 2
    assert store is None
