"""The NLU's sentence embedding: remembered per message text, one thread by default
(checked in the Rasa runtime), and its settings."""

from __future__ import annotations

from addons.settings import nlu_embedding_cache, nlu_embedding_threads
from tests.conftest import run_in_rasa_runtime


def test_served_messages_are_embedded_once_per_text() -> None:
    result = run_in_rasa_runtime("tests.addons.rasa_runtime.check_sentence_features")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "sentence features: ok" in result.stdout


def test_the_embedding_settings() -> None:
    assert nlu_embedding_threads({}) == 1
    assert nlu_embedding_threads({"SHOPMATE_NLU_EMBEDDING_THREADS": "2"}) == 2
    assert nlu_embedding_threads({"SHOPMATE_NLU_EMBEDDING_THREADS": "0"}) == 1
    assert nlu_embedding_cache({}) == 4096
    assert nlu_embedding_cache({"SHOPMATE_NLU_EMBEDDING_CACHE": "0"}) == 0
    assert nlu_embedding_cache({"SHOPMATE_NLU_EMBEDDING_CACHE": "many"}) == 4096
