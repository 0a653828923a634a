"""The domain and training data keep the bilingual contract."""

from __future__ import annotations

from typing import Any

import pytest

from addons.language import detect_language

SPINE_INTENTS = [
    "greet",
    "goodbye",
    "thank",
    "affirm",
    "deny",
    "bot_challenge",
    "out_of_scope",
    "request_human",
    "ask_faq",
]
MIN_EXAMPLES_PER_LANGUAGE = 15


def test_every_response_has_a_chinese_and_an_english_variation(domain: dict[str, Any]) -> None:
    # Variations may also depend on other slots (the change form's question names the
    # change): each such case needs its own Chinese and English text.
    for name, variations in domain["responses"].items():
        by_case: dict[tuple[tuple[str, str], ...], list[str]] = {}
        for variation in variations:
            conditions = variation.get("condition", [])
            case = tuple(
                sorted(
                    (str(c.get("name")), str(c.get("value")))
                    for c in conditions
                    if c.get("name") != "language"
                )
            )
            by_case.setdefault(case, []).extend(
                c["value"] for c in conditions if c.get("name") == "language"
            )
        for case, languages in by_case.items():
            assert sorted(languages) == ["en", "zh"], f"{name} {case}: languages {languages}"


def test_language_slot_is_filled_from_every_message(domain: dict[str, Any]) -> None:
    slot = domain["slots"]["language"]
    assert slot["values"] == ["zh", "en"]
    assert slot["mappings"] == [{"type": "from_entity", "entity": "language"}]
    assert slot["initial_value"] == "zh"


def test_sessions_expire_after_an_hour_of_silence(domain: dict[str, Any]) -> None:
    assert domain["session_config"]["session_expiration_time"] == 60


@pytest.mark.parametrize("intent", SPINE_INTENTS)
def test_each_intent_has_enough_examples_in_both_languages(
    intent: str, nlu_examples: dict[str, list[str]]
) -> None:
    by_language: dict[str | None, int] = {}
    for example in nlu_examples[intent]:
        language = detect_language(example)
        by_language[language] = by_language.get(language, 0) + 1
    assert by_language.get("zh", 0) >= MIN_EXAMPLES_PER_LANGUAGE
    assert by_language.get("en", 0) >= MIN_EXAMPLES_PER_LANGUAGE


def test_no_example_is_listed_under_two_intents(nlu_examples: dict[str, list[str]]) -> None:
    seen: dict[str, str] = {}
    for intent, examples in nlu_examples.items():
        for example in examples:
            assert seen.setdefault(example.lower(), intent) == intent, example


def test_only_small_talk_may_be_rephrased(domain: dict[str, Any]) -> None:
    # After-sales facts and policy answers are sent exactly as the domain and the
    # database say; only greetings and the like may be rephrased for variety.
    rephrasable = {
        name
        for name, variations in domain["responses"].items()
        if any((v.get("metadata") or {}).get("rephrase") for v in variations)
    }
    assert rephrasable == {
        "utter_greet",
        "utter_goodbye",
        "utter_you_are_welcome",
        "utter_anything_else",
    }
