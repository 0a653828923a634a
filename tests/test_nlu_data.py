"""The NLU training data reads shoppers as they type, and says one thing one way.

Checks on the examples (no model) of data/nlu/ (trained on) and data/eval/
nlu_heldout.yml (20 %, never trained on: `make eval` tests on it): enough examples per
intent in each language,
one value per annotated surface text, no text under two intents, entity values as
the catalog names them, and an out_of_scope intent that covers many kinds of request.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from shopmate.db.vocabulary import CATEGORY_SPECS, COLOR_BY_CODE, MATERIAL_EN

PROJECT_ROOT = Path(__file__).resolve().parent.parent
NLU_DIR = PROJECT_ROOT / "data" / "nlu"
HELDOUT = PROJECT_ROOT / "data" / "eval" / "nlu_heldout.yml"
DOMAIN_DIR = PROJECT_ROOT / "domain"

MIN_EXAMPLES_PER_LANGUAGE = 40
# Intents the dialogue relies on: they must have data even before the domain lists them.
REQUIRED_INTENTS = ("ask_capabilities", "stop", "form_help")
# Predicted by the FallbackClassifier, never trained.
UNTRAINED_INTENTS = frozenset({"nlu_fallback"})

# `[text](entity)`, `[text](entity:value)` or `[text]{"entity": ..., "value": ...}`.
ANNOTATION = re.compile(r"\[(?P<text>[^\]]+)\](?:\((?P<short>[^)]+)\)|(?P<json>\{[^}]*\}))")
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# What a tokenizer ignores: spacing and punctuation ("no!" and "No" are one message).
IGNORED = re.compile(r"[\s!?,.;:~'\"`。，！？、；：～…·\-—_()（）【】「」“”‘’]+")


@dataclass(frozen=True)
class Example:
    intent: str
    raw: str  # as written, annotations included
    file: str

    @property
    def text(self) -> str:
        return ANNOTATION.sub(lambda m: m.group("text"), self.raw)

    @property
    def language(self) -> str:
        return "zh" if CJK.search(self.text) else "en"

    @property
    def key(self) -> str:
        return IGNORED.sub("", self.text.casefold())

    def annotations(self) -> list[tuple[str, str, str]]:
        """(entity, surface text, value) for each annotation."""
        found = []
        for match in ANNOTATION.finditer(self.raw):
            surface = match.group("text")
            if match.group("json"):
                spec = json.loads(match.group("json"))
                entity, value = spec["entity"], str(spec.get("value", surface))
            else:
                entity, _, value = match.group("short").partition(":")
                value = value or surface
            found.append((entity, surface, value))
        return found


def load_examples(paths: list[Path]) -> list[Example]:
    examples = []
    for path in paths:
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []):
            if "intent" not in block:
                continue
            for line in block["examples"].splitlines():
                line = line.strip()
                if line.startswith("- "):
                    examples.append(Example(block["intent"], line[2:].strip(), path.name))
    return examples


def domain_intents() -> set[str]:
    intents: set[str] = set()
    for path in sorted(DOMAIN_DIR.glob("*.yml")):
        part: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for intent in part.get("intents") or []:
            intents.add(intent if isinstance(intent, str) else next(iter(intent)))
    return intents


TRAINING = load_examples(sorted(NLU_DIR.glob("*.yml")))
HELD_OUT = load_examples([HELDOUT])
EXAMPLES = TRAINING + HELD_OUT
TRAINED_INTENTS = {example.intent for example in EXAMPLES}
CHECKED_INTENTS = sorted(
    ((domain_intents() & TRAINED_INTENTS) | set(REQUIRED_INTENTS)) - UNTRAINED_INTENTS
)


def examples_of(intent: str) -> list[Example]:
    return [example for example in EXAMPLES if example.intent == intent]


def test_no_held_out_example_is_trained_on() -> None:
    trained = {example.key for example in TRAINING}
    leaked = [example.text for example in HELD_OUT if example.key in trained]
    assert not leaked, f"held-out examples also in data/nlu/: {leaked[:10]}"


def test_about_a_fifth_of_each_intent_is_held_out() -> None:
    for intent in CHECKED_INTENTS:
        for language in ("zh", "en"):
            held = sum(1 for e in HELD_OUT if e.intent == intent and e.language == language)
            total = sum(1 for e in EXAMPLES if e.intent == intent and e.language == language)
            assert 0.1 <= held / total <= 0.35, (intent, language, held, total)


@pytest.mark.parametrize("intent", CHECKED_INTENTS)
def test_each_intent_has_enough_examples_in_both_languages(intent: str) -> None:
    counts = {"zh": 0, "en": 0}
    for example in examples_of(intent):
        counts[example.language] += 1
    assert min(counts.values()) >= MIN_EXAMPLES_PER_LANGUAGE, (
        f"{intent} has {counts['zh']} Chinese and {counts['en']} English examples; "
        f"it needs at least {MIN_EXAMPLES_PER_LANGUAGE} of each"
    )


def test_each_surface_text_has_one_entity_value() -> None:
    # Case is ignored on both sides, as Rasa's EntitySynonymMapper ignores it.
    values: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    for example in EXAMPLES:
        for entity, surface, value in example.annotations():
            values[(entity, surface.casefold())].setdefault(value.casefold(), example.raw)
    conflicts = [
        f'{entity} "{surface}" is annotated as '
        + ", ".join(f'"{value}" (in "{raw}")' for value, raw in sorted(by_value.items()))
        for (entity, surface), by_value in sorted(values.items())
        if len(by_value) > 1
    ]
    assert not conflicts, "\n".join(conflicts)


def test_no_text_is_an_example_of_two_intents() -> None:
    intents_by_key: dict[str, dict[str, str]] = defaultdict(dict)
    for example in EXAMPLES:
        intents_by_key[example.key].setdefault(example.intent, example.raw)
    duplicates = [
        " / ".join(f'{intent}: "{raw}"' for intent, raw in sorted(by_intent.items()))
        for by_intent in intents_by_key.values()
        if len(by_intent) > 1
    ]
    assert not duplicates, "\n".join(duplicates)


CATALOG_VALUES = {
    "color": set(COLOR_BY_CODE),
    "product_category": {spec.code for spec in CATEGORY_SPECS},
    "material": set(MATERIAL_EN) - {"—"},
    "brand": {brand for spec in CATEGORY_SPECS for brand in spec.brands},
}


@pytest.mark.parametrize("entity", sorted(CATALOG_VALUES))
def test_entity_values_are_the_catalogs_names(entity: str) -> None:
    # Actions compare these values with the catalog (colour codes, category codes,
    # materials in Chinese, brands as the catalog spells them).
    known = {value.casefold() for value in CATALOG_VALUES[entity]}
    unknown = sorted(
        f'"{value}" (in "{example.raw}")'
        for example in EXAMPLES
        for name, _, value in example.annotations()
        if name == entity and value.casefold() not in known
    )
    assert not unknown, f"{entity} values not in the catalog: " + ", ".join(unknown)


# Answers to "which colour / size / ...?" that name only the wish ("白色的", "42码",
# "under 300", "cotton ones"): the ones a shopper types most, and the hardest to read.
WISH_ENTITIES = ("color", "size", "price", "material", "brand")
MIN_INFORM_EXAMPLES_PER_ENTITY = 25


@pytest.mark.parametrize("entity", WISH_ENTITIES)
def test_inform_names_each_wish_often_in_both_languages(entity: str) -> None:
    counts = {"zh": 0, "en": 0}
    for example in examples_of("inform"):
        if any(name == entity for name, _, _ in example.annotations()):
            counts[example.language] += 1
    assert min(counts.values()) >= MIN_INFORM_EXAMPLES_PER_ENTITY, (
        f"inform annotates {entity} in {counts['zh']} Chinese and {counts['en']} English "
        f"examples; it needs at least {MIN_INFORM_EXAMPLES_PER_ENTITY} of each"
    )


# Kinds of request the store cannot help with, each recognised by its words.
OUT_OF_SCOPE_TOPICS = {
    "weather": r"天气|下雨|下雪|气温|降温|台风|多少度|冷不冷|带伞|紫外线|weather|rain|snow|forecast"
    r"|temperature|sunny|umbrella|storm|humidity",
    "jokes": r"笑话|段子|脑筋急转弯|逗我|joke|funny|make me laugh|riddle",
    "news and politics": r"新闻|头条|总统|政治|选举|news|headline|president|politic|election",
    "sports scores": r"比赛|比分|球赛|世界杯|夺冠|湖人|中国队|score|world cup|nba|lakers|yankees"
    r"|football|soccer",
    "cooking": r"怎么做|怎么炒|怎么煮|怎么包|怎么烤|做菜|菜谱|食谱|煲|红烧|recipe|cook|bake|boil"
    r"|grill|omelette|pancake",
    "homework and maths": r"作业|数学|方程|等于|乘以|除以|平方根|勾股|作文|homework|math|equation"
    r"|plus|times|divided|square root|derivative|algebra|essay|assignment",
    "medical advice": r"医生|看病|吃什么药|吃药|发烧|头疼|头痛|感冒|症状|医院|咳嗽|过敏|doctor"
    r"|medicine|fever|headache|symptom|flu\b|pills?\b|hospital|cough|allerg|rash",
    "stocks and crypto": r"股票|股市|股价|基金|比特币|A股|黄金|币|stock|bitcoin|crypto|invest"
    r"|nasdaq|ethereum|gold",
    "travel booking": r"机票|酒店|火车票|高铁|航班|行程|旅游|景点|flight|hotel|trip|travel"
    r"|vacation|visit",
    "programming": r"代码|编程|python|java|bug|程序|sql|报错|code|coding|program|script",
    "dating and relationships": r"恋爱|表白|分手|相亲|约会|暗恋|追女生|追男生|吵架|dating|crush"
    r"|break ?up|broke up|relationship|ask (?:her|him) out|propose|first date",
    "music and lyrics": r"歌|音乐|唱|song|lyrics|music|sing|jazz|playlist",
    "other shops' orders and products": r"淘宝|京东|拼多多|天猫|美团|抖音|亚马逊|taobao|amazon"
    r"|ebay|shein|temu|aliexpress|walmart",
    "translation": r"翻译|怎么说|translate|translation|how do you say",
}
MIN_OUT_OF_SCOPE_TOPICS = 12
MIN_EXAMPLES_PER_TOPIC = 4


def test_out_of_scope_covers_many_topics_in_both_languages() -> None:
    examples = examples_of("out_of_scope")
    thin = []
    for topic, words in OUT_OF_SCOPE_TOPICS.items():
        pattern = re.compile(words, re.IGNORECASE)
        counts = {"zh": 0, "en": 0}
        for example in examples:
            if pattern.search(example.text):
                counts[example.language] += 1
        if min(counts.values()) < MIN_EXAMPLES_PER_TOPIC:
            thin.append(f"{topic}: {counts['zh']} zh, {counts['en']} en")
    assert len(OUT_OF_SCOPE_TOPICS) >= MIN_OUT_OF_SCOPE_TOPICS
    assert not thin, (
        f"out_of_scope needs {MIN_EXAMPLES_PER_TOPIC} examples per language of each topic; "
        "too few for " + "; ".join(thin)
    )


def test_the_lookup_tables_agree_with_the_catalog_vocabulary() -> None:
    from scripts.make_lookups import TARGET, render

    assert TARGET.read_text(encoding="utf-8") == render(), "run python -m scripts.make_lookups"
