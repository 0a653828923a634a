"""Sentiment tagging, the tone of replies and the escalation triggers (addons/), in the
Rasa runtime."""

from __future__ import annotations

from tests.conftest import run_in_rasa_runtime


def test_sentiment_tone_and_escalation_behave_as_documented() -> None:
    result = run_in_rasa_runtime("tests.addons.rasa_runtime.check_people")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "people: ok" in result.stdout
