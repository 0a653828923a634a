"""addons/nlg.py skips /rephrase while the action server says it cannot rephrase
(checked in the Rasa runtime), and REPHRASE_CAPABILITY_TTL_S is read as documented."""

from __future__ import annotations

from addons.settings import DEFAULT_REPHRASE_CAPABILITY_TTL_S, rephrase_capability_ttl_s
from tests.conftest import run_in_rasa_runtime


def test_the_nlg_remembers_for_a_while_that_the_server_cannot_rephrase() -> None:
    result = run_in_rasa_runtime("tests.addons.rasa_runtime.check_nlg")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "nlg: ok" in result.stdout


def test_the_capability_ttl_setting() -> None:
    assert rephrase_capability_ttl_s({}) == DEFAULT_REPHRASE_CAPABILITY_TTL_S == 60.0
    assert rephrase_capability_ttl_s({"REPHRASE_CAPABILITY_TTL_S": "0"}) == 0.0
    assert rephrase_capability_ttl_s({"REPHRASE_CAPABILITY_TTL_S": "5.5"}) == 5.5
    assert rephrase_capability_ttl_s({"REPHRASE_CAPABILITY_TTL_S": "-3"}) == 0.0
    assert rephrase_capability_ttl_s({"REPHRASE_CAPABILITY_TTL_S": "soon"}) == 60.0
