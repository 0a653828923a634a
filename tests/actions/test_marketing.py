"""action_write_product_copy: copy from catalog facts only, the template whenever a model's
text cannot be used, and the product remembered for "再写一段"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.marketing import ActionWriteProductCopy, product_copy_template, render_response
from shopmate.catalog import ProductCatalog
from shopmate.db import models as m
from shopmate.db.session import Database
from shopmate.llm import (
    Generation,
    GenerationRequest,
    GeneratorSettings,
    LLMGenerator,
    OutcomeCounter,
    TaskKind,
    TemplateGenerator,
)
from tests.conftest import TrackerBuilder, response_texts
from tests.factories import add_scenario
from tests.shopmate.llm.fakes import FakeBackend

# The template for product 1 once it has a material (see the `catalog` fixture).
DRESS_COPY_ZH = (
    "真丝连衣裙：真丝材质，红色、蓝色可选，售价¥100.00。心动不如行动，喜欢就带它回家吧！"
)
DRESS_COPY_EN = (
    "Silk dress: made of silk, available in red / blue, for ¥100.00. Love it? Make it yours!"
)


class RecordingGenerator:
    """Returns the template, and keeps every request."""

    def __init__(self) -> None:
        self.requests: list[GenerationRequest] = []

    async def generate(self, request: GenerationRequest) -> Generation:
        self.requests.append(request)
        return Generation(text=request.template, backend="recording")

    async def warm_up(self) -> None:
        return None


def llm_generator(
    reply: str, *, delay_s: float = 0.0, deadline_s: float = 2.5
) -> tuple[LLMGenerator, OutcomeCounter]:
    """The real generator (prompt, safety, language, quality and grounding checks) over a
    scripted model."""
    counter = OutcomeCounter()
    generator = LLMGenerator(
        FakeBackend(reply, delay_s=delay_s),
        GeneratorSettings(backend="transformers", deadline_s=deadline_s),
        counter=counter,
    )
    return generator, counter


@pytest.fixture
def catalog(database: Database) -> ProductCatalog:
    """add_scenario's products, with the materials the seed would give them."""
    add_scenario(database)
    with database.session() as s:
        dress = s.get(m.Product, 1)
        assert dress is not None
        dress.material = "真丝"
    return ProductCatalog(database)


def texts(dispatcher: CollectingDispatcher) -> list[str | None]:
    return [message.get("text") for message in dispatcher.messages]


def responses(dispatcher: CollectingDispatcher) -> list[str | None]:
    return [message.get("response") for message in dispatcher.messages]


# --- the template ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("帮我写一段这件真丝连衣裙的推荐文案", "zh", DRESS_COPY_ZH),
        ("write a short ad for the silk dress", "en", DRESS_COPY_EN),
    ],
)
async def test_copy_is_the_domain_template_filled_with_the_products_facts(
    catalog: ProductCatalog,
    domain: dict[str, Any],
    tracker_for: TrackerBuilder,
    dispatcher: CollectingDispatcher,
    text: str,
    language: str,
    expected: str,
) -> None:
    generator = RecordingGenerator()
    action = ActionWriteProductCopy(catalog=catalog, generator=generator)
    events = await action.run(
        dispatcher, tracker_for(text, intent="request_product_copy", language=language), domain
    )
    assert texts(dispatcher) == [expected]
    assert events == [SlotSet("product_code", "P1")]
    [request] = generator.requests
    assert request.task is TaskKind.MARKETING_COPY
    assert request.language == language
    assert request.template == expected
    assert request.user_text == text
    assert list(request.facts) == catalog.facts(1).describe(language)
    # Other products' names are known, so a model cannot slip them in.
    assert {"托特包", "Tote bag", "Carryall"} <= set(request.known_product_names)
    # The expected text is the domain's own response, not a copy kept in Python.
    [template] = response_texts(domain, "utter_product_copy", language)
    assert "{title}" in template
    assert "{price}" in template


async def test_a_product_without_material_gets_the_short_template(
    catalog: ProductCatalog,
    domain: dict[str, Any],
    tracker_for: TrackerBuilder,
    dispatcher: CollectingDispatcher,
) -> None:
    action = ActionWriteProductCopy(catalog=catalog, generator=TemplateGenerator(OutcomeCounter()))
    await action.run(dispatcher, tracker_for("给托特包写个文案", language="zh"), domain)
    [template] = response_texts(domain, "utter_product_copy_short", "zh")
    assert texts(dispatcher) == [template.format(title="托特包", brand="Carryall", price="¥300.00")]


# --- generated text, checked ------------------------------------------------------------


async def test_a_faithful_generated_copy_is_sent(
    catalog: ProductCatalog,
    domain: dict[str, Any],
    tracker_for: TrackerBuilder,
    dispatcher: CollectingDispatcher,
) -> None:
    copy = "Lumi真丝连衣裙，红色和蓝色两种颜色，M、L码有货，售价100元，穿上它优雅出门。"
    generator, counter = llm_generator(copy)
    action = ActionWriteProductCopy(catalog=catalog, generator=generator)
    await action.run(dispatcher, tracker_for("帮我写一段真丝连衣裙的文案", language="zh"), domain)
    assert texts(dispatcher) == [copy]
    assert counter.snapshot() == {"marketing_copy": {"generated": 1}}


@pytest.mark.parametrize(
    ("language", "invented", "template"),
    [
        ("zh", "这款真丝连衣裙限时特价，只要59元！", DRESS_COPY_ZH),  # a price
        ("zh", "Lumi羊绒连衣裙，红色蓝色可选，售价100元。", DRESS_COPY_ZH),  # a material
        ("zh", "真丝连衣裙配上Carryall托特包，售价100元。", DRESS_COPY_ZH),  # another product
        ("en", "The Lumi silk dress, now only ¥59!", DRESS_COPY_EN),
        ("en", "A cashmere dress by Lumi in red or blue for ¥100.", DRESS_COPY_EN),
        ("en", "The Lumi silk dress in red, with free shipping.", DRESS_COPY_EN),  # a promise
    ],
)
async def test_a_generated_copy_with_anything_not_in_the_facts_becomes_the_template(
    catalog: ProductCatalog,
    domain: dict[str, Any],
    tracker_for: TrackerBuilder,
    dispatcher: CollectingDispatcher,
    language: str,
    invented: str,
    template: str,
) -> None:
    generator, counter = llm_generator(invented)
    action = ActionWriteProductCopy(catalog=catalog, generator=generator)
    text = "写一段真丝连衣裙的文案" if language == "zh" else "an ad for the silk dress"
    await action.run(dispatcher, tracker_for(text, language=language), domain)
    assert texts(dispatcher) == [template]
    assert counter.snapshot() == {"marketing_copy": {"ungrounded": 1}}


async def test_a_model_too_slow_gives_the_template_in_time(
    catalog: ProductCatalog,
    domain: dict[str, Any],
    tracker_for: TrackerBuilder,
    dispatcher: CollectingDispatcher,
) -> None:
    generator, counter = llm_generator("Lumi真丝连衣裙，售价100元。", delay_s=2.0, deadline_s=0.1)
    action = ActionWriteProductCopy(catalog=catalog, generator=generator)
    events = await action.run(dispatcher, tracker_for("真丝连衣裙的文案", language="zh"), domain)
    assert texts(dispatcher) == [DRESS_COPY_ZH]
    assert events == [SlotSet("product_code", "P1")]
    assert counter.snapshot() == {"marketing_copy": {"timeout": 1}}


# --- which product ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [("再写一段", "zh", DRESS_COPY_ZH), ("write another one", "en", DRESS_COPY_EN)],
)
async def test_another_copy_is_for_the_product_remembered_in_the_slot(
    catalog: ProductCatalog,
    domain: dict[str, Any],
    tracker_for: TrackerBuilder,
    dispatcher: CollectingDispatcher,
    text: str,
    language: str,
    expected: str,
) -> None:
    action = ActionWriteProductCopy(catalog=catalog, generator=RecordingGenerator())
    tracker = tracker_for(text, language=language, slots={"product_code": "P1"})
    events = await action.run(dispatcher, tracker, domain)
    assert texts(dispatcher) == [expected]
    assert events == [SlotSet("product_code", "P1")]


async def test_naming_another_product_moves_on_from_the_remembered_one(
    catalog: ProductCatalog,
    domain: dict[str, Any],
    tracker_for: TrackerBuilder,
    dispatcher: CollectingDispatcher,
) -> None:
    action = ActionWriteProductCopy(catalog=catalog, generator=RecordingGenerator())
    tracker = tracker_for("那个托特包也写一段", language="zh", slots={"product_code": "P1"})
    events = await action.run(dispatcher, tracker, domain)
    assert events == [SlotSet("product_code", "P2")]
    assert "托特包" in str(texts(dispatcher)[0])


@pytest.mark.parametrize(
    ("text", "slots"),
    [
        ("帮我写一段推荐文案", {}),
        ("write some marketing copy", {}),
        # A code the catalog lacks is not the remembered product.
        ("写一段P99999的文案", {"product_code": "P1"}),
        # A remembered product that has since gone.
        ("再写一段", {"product_code": "P404"}),
    ],
)
async def test_no_product_in_context_asks_which_one(
    catalog: ProductCatalog,
    domain: dict[str, Any],
    tracker_for: TrackerBuilder,
    dispatcher: CollectingDispatcher,
    text: str,
    slots: dict[str, Any],
) -> None:
    generator = RecordingGenerator()
    action = ActionWriteProductCopy(catalog=catalog, generator=generator)
    events = await action.run(dispatcher, tracker_for(text, slots=slots), domain)
    assert responses(dispatcher) == ["utter_ask_which_product"]
    assert events == []
    assert generator.requests == []


# --- failures ----------------------------------------------------------------------------


async def test_catalog_down_gets_a_polite_answer(
    tmp_path: Path,
    domain: dict[str, Any],
    tracker_for: TrackerBuilder,
    dispatcher: CollectingDispatcher,
) -> None:
    # A database without the schema fails like one that is unreachable: on first query.
    broken = Database(f"sqlite:///{tmp_path / 'empty.db'}")
    generator = RecordingGenerator()
    action = ActionWriteProductCopy(catalog=ProductCatalog(broken), generator=generator)
    tracker = tracker_for("帮我写一段真丝连衣裙的文案", slots={"product_code": "P1"})
    events = await action.run(dispatcher, tracker, domain)
    broken.dispose()
    assert responses(dispatcher) == ["utter_product_copy_unavailable"]
    assert events == []
    assert generator.requests == []


async def test_unreachable_postgresql_gets_a_polite_answer(
    tracker_for: TrackerBuilder, dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    unreachable = Database("postgresql://shop@127.0.0.1:1/shop?connect_timeout=2")
    action = ActionWriteProductCopy(
        catalog=ProductCatalog(unreachable), generator=RecordingGenerator()
    )
    await action.run(dispatcher, tracker_for("write an ad for the tote bag", language="en"), domain)
    unreachable.dispose()
    assert responses(dispatcher) == ["utter_product_copy_unavailable"]


async def test_a_domain_without_the_template_gets_a_polite_answer(
    catalog: ProductCatalog, tracker_for: TrackerBuilder, dispatcher: CollectingDispatcher
) -> None:
    generator = RecordingGenerator()
    action = ActionWriteProductCopy(catalog=catalog, generator=generator)
    events = await action.run(dispatcher, tracker_for("真丝连衣裙的文案"), {"responses": {}})
    assert responses(dispatcher) == ["utter_product_copy_unavailable"]
    assert events == [SlotSet("product_code", "P1")]
    assert generator.requests == []


# --- rendering a response ------------------------------------------------------------------


def conditioned(language: str, text: str) -> dict[str, Any]:
    return {"condition": [{"type": "slot", "name": "language", "value": language}], "text": text}


def test_render_response_picks_the_languages_variation() -> None:
    domain = {
        "responses": {"utter_x": [conditioned("zh", "你好{name}"), conditioned("en", "Hi {name}")]}
    }
    assert render_response(domain, "utter_x", "zh", name="Lumi") == "你好Lumi"
    assert render_response(domain, "utter_x", "en", name="Lumi") == "Hi Lumi"
    assert render_response(domain, "utter_y", "en") is None


def test_render_response_falls_back_to_a_variation_without_condition() -> None:
    domain = {"responses": {"utter_x": [conditioned("zh", "你好"), {"text": "Hello {name}"}]}}
    assert render_response(domain, "utter_x", "en", name="{price}") == "Hello {price}"


@pytest.mark.parametrize("text", ["{missing}", "{name.__class__}", "{name[0]}", "{0}", "{"])
def test_render_response_fills_plain_placeholders_only(text: str) -> None:
    domain = {"responses": {"utter_x": [conditioned("en", text)]}}
    assert render_response(domain, "utter_x", "en", name="Lumi") is None


def test_every_language_renders_both_copy_templates(domain: dict[str, Any]) -> None:
    from shopmate.catalog import ProductFacts

    product = ProductFacts(
        1, "P1", "真丝连衣裙", "Silk dress", "Lumi", "dresses", "真丝", 10000, ("red",), ("M",)
    )
    bare = ProductFacts(2, "P2", "托特包", "Tote bag", "Carryall", "bags", None, 30000)
    for language in ("zh", "en"):
        assert product_copy_template(domain, product, language)
        assert product_copy_template(domain, bare, language)
