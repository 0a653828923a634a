"""Rasa's processes redact every log record (shopmate/log_redaction.py): importing
addons.stores (endpoints.yml names its stores) or addons.channels (credentials.yml
names its channels) installs the redaction; checked in the Rasa runtime."""

from __future__ import annotations

import pytest

from tests.conftest import run_in_rasa_runtime

CHECK = "tests.addons.rasa_runtime.check_log_redaction"


@pytest.mark.parametrize("module", ["stores", "channels"])
def test_a_rasa_loggers_records_are_redacted_after_importing_addons(module: str) -> None:
    result = run_in_rasa_runtime(CHECK, module)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"log redaction ({module}): ok" in result.stdout
    assert "13812345678" not in result.stdout + result.stderr
