"""Marketing copy for a product on request: "帮我写一段这件连衣裙的推荐文案".

The product is the one named in the message (a code or its name), else the one the
copy was last written for (slot ``product_code``), so "再写一段" / "write another" stays
on it. The copy is generated from the product's catalog facts only; the template it
falls back to (``utter_product_copy``, rendered here from the domain) is built from the
same facts, so the shopper always gets a correct copy in their language.
"""

from __future__ import annotations

import logging
import string
from collections.abc import Mapping
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.support.conversation import latest_text, shopper_language
from actions.support.services import Apologised, Lazy, lazy, or_apologise
from actions.support.slots import FOCUS_SLOT
from shopmate.catalog import ProductCatalog, ProductFacts, product_codes_in
from shopmate.llm import GenerationRequest, Generator, TaskKind, TemplateGenerator

logger = logging.getLogger(__name__)

COPY_RESPONSE = "utter_product_copy"
# For a product whose material or colours the catalog does not record.
SHORT_COPY_RESPONSE = "utter_product_copy_short"


class _Placeholders(string.Formatter):
    """str.format that refuses attribute and index lookups ("{title.__class__}"):
    a response text is data, and only plain ``{name}`` placeholders are filled."""

    def get_field(self, field_name: str, args: Any, kwargs: Any) -> Any:
        if not field_name.isidentifier():
            raise KeyError(field_name)
        return super().get_field(field_name, args, kwargs)


_FORMATTER = _Placeholders()


def _conditions_hold(conditions: list[dict[str, Any]], slots: Mapping[str, Any]) -> bool:
    return all(
        condition.get("type", "slot") == "slot"
        and condition.get("name") in slots
        and slots[condition["name"]] == condition.get("value")
        for condition in conditions
    )


def render_response(
    domain: Mapping[str, Any], name: str, language: str, /, **values: object
) -> str | None:
    """The text of response ``name`` as Rasa would pick it for this ``language`` slot
    value, with ``{placeholders}`` filled from ``values``: the first variation whose
    conditions all hold, else the first one without conditions. None when the domain has
    no such text or it needs a value not given (the caller decides what to say instead).
    """
    variations = (domain.get("responses") or {}).get(name) or []
    slots = {"language": language}
    chosen = next(
        (v for v in variations if v.get("condition") and _conditions_hold(v["condition"], slots)),
        None,
    ) or next((v for v in variations if not v.get("condition")), None)
    if chosen is None or not isinstance(chosen.get("text"), str):
        return None
    try:
        return _FORMATTER.vformat(chosen["text"], (), values).strip() or None
    except (KeyError, IndexError, ValueError):
        logger.error("response %s has a placeholder the action does not fill", name)
        return None


def product_copy_template(
    domain: Mapping[str, Any], product: ProductFacts, language: str
) -> str | None:
    """The deterministic copy: ``utter_product_copy`` filled with the product's facts
    (``utter_product_copy_short`` when material or colours are unknown)."""
    material = product.material_name(language)
    colours = product.colour_names(language)
    values = {
        "title": product.title(language),
        "brand": product.brand,
        "material": material or "",
        "price": product.price_text,
        "colours": ("、" if language == "zh" else " / ").join(colours),
        "category": product.category_name(language),
    }
    name = COPY_RESPONSE if material and colours else SHORT_COPY_RESPONSE
    return render_response(domain, name, language, **values)


class ActionWriteProductCopy(Action):
    """Write a short copy for the product in context, from its facts only."""

    def __init__(
        self,
        catalog: ProductCatalog | Lazy[ProductCatalog],
        generator: Generator | Lazy[Generator] | None = None,
    ) -> None:
        self._catalog = lazy(catalog)
        self._generator = lazy(generator) if generator is not None else Lazy(TemplateGenerator)

    @property
    def catalog(self) -> ProductCatalog:
        return self._catalog.get()

    @property
    def generator(self) -> Generator:
        return self._generator.get()

    def name(self) -> str:
        return "action_write_product_copy"

    def _product_in_context(
        self, text: str, language: str, remembered: str | None
    ) -> tuple[ProductFacts | None, tuple[str, ...]]:
        """The product this message is about, and the catalog's names (blocking: DB)."""
        found = self.catalog.find(text, language, limit=1, prefer=remembered)
        product = found[0] if found else None
        # A code the catalog does not have names no product: ask, don't reuse the last.
        if product is None and remembered and not product_codes_in(text):
            product = self.catalog.by_code(remembered)
        names = self.catalog.product_names() if product is not None else ()
        return product, names

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = shopper_language(tracker)
        text = latest_text(tracker)
        remembered = tracker.get_slot(FOCUS_SLOT)
        # Database reads and BM25 (jieba) are blocking: or_apologise keeps them off the loop.
        found = await or_apologise(
            dispatcher,
            "utter_product_copy_unavailable",
            "product catalog",
            self._product_in_context,
            text,
            language,
            remembered or None,
        )
        if isinstance(found, Apologised):
            return []
        product, names = found
        if product is None:
            dispatcher.utter_message(response="utter_ask_which_product")
            return []

        template = product_copy_template(domain, product, language)
        if template is None:
            logger.error("no %s text for language %s in the domain", COPY_RESPONSE, language)
            dispatcher.utter_message(response="utter_product_copy_unavailable")
            return [SlotSet(FOCUS_SLOT, product.code)]

        generation = await self.generator.generate(
            GenerationRequest(
                task=TaskKind.MARKETING_COPY,
                language="zh" if language == "zh" else "en",
                facts=product.describe(language),
                template=template,
                user_text=text,
                known_product_names=names,
            )
        )
        dispatcher.utter_message(text=generation.text)
        return [SlotSet(FOCUS_SLOT, product.code)]
