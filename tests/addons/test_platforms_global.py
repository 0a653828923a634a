"""The Telegram, Slack and Messenger connectors (addons/platforms/), in the Rasa runtime:
signatures, button ids and their limits, each payload as each platform shows it,
Messenger's limits, callback dedupe and the edge in front of a turn."""

from __future__ import annotations

from tests.conftest import run_in_rasa_runtime


def test_global_platform_connectors_behave_as_documented() -> None:
    result = run_in_rasa_runtime("tests.addons.rasa_runtime.check_platforms_global")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "platforms global: ok" in result.stdout
