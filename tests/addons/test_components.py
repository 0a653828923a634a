"""The message guard, the tokenizer and the NLG (addons/), checked in the Rasa runtime."""

from __future__ import annotations

from tests.conftest import run_in_rasa_runtime


def test_guard_tokenizer_and_nlg_behave_as_documented() -> None:
    result = run_in_rasa_runtime("tests.addons.rasa_runtime.check_components")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "components: ok" in result.stdout
