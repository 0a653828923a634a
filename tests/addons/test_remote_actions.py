"""Rasa still validates every action server reply after addons/remote_actions.py
builds the schema's validator once (checked in the Rasa runtime)."""

from __future__ import annotations

from tests.conftest import run_in_rasa_runtime


def test_action_replies_are_validated_with_rasas_schema_and_errors() -> None:
    result = run_in_rasa_runtime("tests.addons.rasa_runtime.check_remote_actions")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "remote actions: ok" in result.stdout
