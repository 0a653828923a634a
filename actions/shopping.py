"""Shopping guide: search (a form), refine, ordinal references, detail and comparison.

State kept in slots, all set by these actions only:
- `search_filter`: {"text": the words searched, "filter": ProductFilter.to_dict()},
- `shown_products`: ids of the products last shown, in display order ("第二个" is
  shown_products[1]),
- `product_code`: the product in focus (detail, add to cart, marketing copy).
Every fact shown (title, price, stock, material, colours) is read from the catalog by
the search service; the wording is the domain's responses in the shopper's language.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.support.conversation import entity_values, message_text, shopper_language
from actions.support.formatting import category_name, joined, money, size_label
from actions.support.products import (
    SHOWN_RESULTS,
    ProductActionMixin,
    search_state,
    shown_ids,
    state_value,
)
from actions.support.services import Apologised, or_apologise
from actions.support.slots import (
    CATEGORY_SLOT,
    CHOOSING_VARIANT_SLOT,
    DETAILS_SLOT,
    FILTER_SLOT,
    FOCUS_SLOT,
    SHOWN_SLOT,
)
from shopmate.catalog import ProductRecord, material_name
from shopmate.choices import color_label
from shopmate.db.vocabulary import CATEGORY_BY_CODE, CLOTHING_SIZES
from shopmate.search.products import ProductFilter, SearchResult
from shopmate.search.query import ParsedQuery
from shopmate.text import tokenize

logger = logging.getLogger(__name__)

# Intents whose text answers a search form question ("跑鞋", "不限", "黑色 M码").
ANSWER_INTENTS = frozenset(
    {"inform", "search_product", "refine_search", "affirm", "deny", "nlu_fallback", None}
)
SIZE_WORDS = ("尺码", "尺寸", "码数", "鞋码", "大小", "穿多大", "size", "fit")
DROPPED_NAMES = {
    "zh": {
        "sizes": "尺码",
        "colors": "颜色",
        "materials": "材质",
        "brands": "品牌",
        "price_min_cents": "价格",
    },
    "en": {
        "sizes": "size",
        "colors": "colour",
        "materials": "material",
        "brands": "brand",
        "price_min_cents": "price",
    },
}


# Words that name no kind of product: "I want to buy something" asks for a category.
GENERIC_KIND_WORDS = frozenset(
    """
    something anything stuff thing things product products item items goods gift
    buy find looking look want need get some any one ones new good nice cheap
    browse browsing around just whatever
    东西 商品 产品 宝贝 好物 物品 礼物 一些 随便 看看 逛逛 推荐
    """.split()  # noqa: SIM905 - a word list reads better as text
)
# A budget in another currency: the catalog's prices are in yuan (¥).
FOREIGN_CURRENCY = re.compile(
    r"\$|usd|dollars?|bucks|eur|euros?|€|£|pounds?|美元|美金|刀|欧元|英镑|日元|港币|港元",
    re.IGNORECASE,
)


def unknown_kind(parsed: ParsedQuery) -> str | None:
    """The words of a product kind the catalog does not know ("winter jacket"), or
    None when the message names no kind at all ("我想买点东西", "just browsing")."""
    if parsed.category is not None:
        return None
    words = [w for w in tokenize(parsed.terms) if not w.isdigit()]
    if not words or any(w in GENERIC_KIND_WORDS for w in words):
        return None
    return parsed.terms.strip(" ,，。!?？！") or None


def foreign_budget(tracker: Tracker) -> bool:
    """The budget was said in another currency ("under 100 dollars"), in this message
    or in the one that started the search."""
    value = tracker.get_slot(FILTER_SLOT)
    started_so = isinstance(value, dict) and value.get("foreign_budget") is True
    return started_so or bool(FOREIGN_CURRENCY.search(message_text(tracker)))


def asked_kind_of(tracker: Tracker) -> str | None:
    """A kind the catalog does not carry that the running search stands in for."""
    value = tracker.get_slot(FILTER_SLOT)
    kind = value.get("asked_kind") if isinstance(value, dict) else None
    return str(kind)[:60] if isinstance(kind, str) and kind else None


def has_attributes(parsed: ParsedQuery) -> bool:
    return bool(
        parsed.colors
        or parsed.sizes
        or parsed.brands
        or parsed.materials
        or parsed.price_min_cents is not None
        or parsed.price_max_cents is not None
    )


class SearchActionMixin(ProductActionMixin):
    """What the search actions add: the nearest category for an unknown kind, and the
    presentation of a search result."""

    async def _nearest_for_unknown_kind(
        self, parsed: ParsedQuery, language: str
    ) -> tuple[str | None, str | None]:
        """(category, kind) for a kind the catalog does not carry ("winter jacket"):
        the nearest category, searched now instead of asking "what kind of product?"
        again and again; (None, None) when the message names no kind at all."""
        kind = unknown_kind(parsed)
        if not kind:
            return None, None
        category = await self._blocking(self.search.nearest_category, kind, language)
        return category, kind

    def present(
        self,
        dispatcher: CollectingDispatcher,
        result: SearchResult,
        text: str,
        language: str,
        channel: str | None = None,
        asked_kind: str | None = None,
        currency_note: bool = False,
    ) -> list[EventType]:
        spec = result.filter
        category = category_name(spec.category, language)
        state = SlotSet(FILTER_SLOT, state_value(text, spec))
        done_choosing = SlotSet(CHOOSING_VARIANT_SLOT, False)
        if currency_note and spec.price_max_cents is not None:
            dispatcher.utter_message(
                response="utter_currency_note", budget=money(spec.price_max_cents)
            )
        if not result.hits:
            cheapest = self.search.cheapest(spec) if spec.price_max_cents is not None else None
            if cheapest is None:
                dispatcher.utter_message(response="utter_no_results", category=category)
                return [state, done_choosing]
            # Nothing within the budget: say so, and what the budget would need.
            dispatcher.utter_message(
                response="utter_no_results_in_budget",
                category=category,
                budget=money(spec.price_max_cents or 0),
                price=money(cheapest.price_cents),
            )
            self.show_products(dispatcher, [cheapest], language, channel, spec.colors)
            return [state, done_choosing, SlotSet(SHOWN_SLOT, [cheapest.id])]
        if asked_kind:
            dispatcher.utter_message(
                response="utter_search_nearest", kind=asked_kind, category=category
            )
        elif result.relaxed:
            dropped = joined([DROPPED_NAMES[language][name] for name in result.relaxed], language)
            dispatcher.utter_message(
                response="utter_search_results_relaxed", dropped=dropped, category=category
            )
        else:
            dispatcher.utter_message(response="utter_search_results", category=category)
        records = result.records
        if spec.colors:
            # Products whose own colour is the one asked for first, then those that
            # have it as a variant (stable: relevance order within each group).
            records = sorted(records, key=lambda r: not r.colors or r.colors[0] not in spec.colors)
        records = records[:SHOWN_RESULTS]
        self.show_products(dispatcher, records, language, channel, spec.colors)
        dispatcher.utter_message(response="utter_search_followup")
        return [state, done_choosing, SlotSet(SHOWN_SLOT, [r.id for r in records])]


class ActionStartSearch(SearchActionMixin, Action):
    """A new search: what the message already says fills the form, so it only asks
    for what is missing (the category), and for details only when none were given."""

    def name(self) -> str:
        return "action_start_search"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        language = shopper_language(tracker)
        text = message_text(tracker)
        parsed = await or_apologise(
            dispatcher,
            "utter_search_unavailable",
            "product search",
            self.search.parse,
            text,
            language,
        )
        if isinstance(parsed, Apologised):
            return [SlotSet(CATEGORY_SLOT, None), SlotSet(DETAILS_SLOT, "unavailable")]
        category = next(
            (c for c in entity_values(tracker, "product_category") if c in CATEGORY_BY_CODE),
            parsed.category,
        )
        kind = None
        if category is None:
            category, kind = await self._nearest_for_unknown_kind(parsed, language)
        spec = ProductFilter().merged(parsed)
        details = "given" if has_attributes(parsed) or (kind and category) else None
        return [
            SlotSet(CATEGORY_SLOT, category),
            SlotSet(DETAILS_SLOT, details),
            SlotSet(
                FILTER_SLOT,
                state_value(
                    parsed.terms or text,
                    spec,
                    kind if category else None,
                    foreign_budget=bool(FOREIGN_CURRENCY.search(text)),
                ),
            ),
            SlotSet(SHOWN_SLOT, None),
        ]


class ValidateSearchForm(SearchActionMixin, FormValidationAction):
    """Fills the search form from free text with the query parser (spaCy)."""

    def name(self) -> str:
        return "validate_search_form"

    async def extract_product_category(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != CATEGORY_SLOT:
            return {}
        for value in entity_values(tracker, "product_category"):
            if value in CATEGORY_BY_CODE:
                return {CATEGORY_SLOT: value}
        text = message_text(tracker)
        if not text:
            return {}
        language = shopper_language(tracker)
        parsed: ParsedQuery = await self._blocking(self.search.parse, text, language)
        category, kind = parsed.category, None
        if category is None:
            if not self._is_answer(tracker):
                return {}
            category, kind = await self._nearest_for_unknown_kind(parsed, language)
            if category is None:
                return {}
        state = search_state(tracker)
        old_text, spec = state if state else ("", ProductFilter())
        spec = spec.merged(parsed)
        return {
            CATEGORY_SLOT: category,
            FILTER_SLOT: state_value(f"{old_text} {parsed.terms or text}".strip(), spec, kind),
            **({DETAILS_SLOT: "given"} if has_attributes(parsed) or kind else {}),
        }

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """rasa-sdk keeps only the form's required slots of what the extractors set; the
        search state they refine ("要蓝色的" → colours: blue) is not one, and was lost."""
        events: list[EventType] = await super().get_validation_events(dispatcher, tracker, domain)
        extracted = tracker.slots_to_validate()
        if FILTER_SLOT in extracted:
            events.append(SlotSet(FILTER_SLOT, extracted[FILTER_SLOT]))
        return events

    @staticmethod
    def _is_answer(tracker: Tracker) -> bool:
        """Whether the message reads as an answer to the form's question; a policy
        question or "算了" is left to its own rule (the form must not trap)."""
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        return intent in ANSWER_INTENTS

    async def extract_search_details(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != DETAILS_SLOT:
            return {}
        if not self._is_answer(tracker):
            return {}
        # Asked once only: whatever the answer ("不限", "黑色 M码", "300以内"), the
        # search runs with what it says.
        text = message_text(tracker)
        parsed: ParsedQuery = await self._blocking(
            self.search.parse, text, shopper_language(tracker)
        )
        state = search_state(tracker)
        old_text, spec = state if state else ("", ProductFilter())
        return {
            DETAILS_SLOT: "given" if has_attributes(parsed) else "any",
            FILTER_SLOT: state_value(old_text, spec.merged(parsed)),
        }

    def validate_product_category(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        # Only the catalog's own category codes (a payload can carry anything).
        return {CATEGORY_SLOT: slot_value if slot_value in CATEGORY_BY_CODE else None}


class ActionSearchProducts(SearchActionMixin, Action):
    """The search form's submit: run the search and show the top results as cards."""

    def name(self) -> str:
        return "action_search_products"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        language = shopper_language(tracker)
        state = search_state(tracker)
        text, spec = state if state else ("", ProductFilter())
        category = tracker.get_slot(CATEGORY_SLOT)
        if category in CATEGORY_BY_CODE:
            spec = replace(spec, category=category)
        query = text or category_name(spec.category, language)
        result = await or_apologise(
            dispatcher,
            "utter_search_unavailable",
            "product search",
            self.search.search,
            query,
            language,
            spec,
        )
        if isinstance(result, Apologised):
            return [SlotSet(DETAILS_SLOT, None)]
        channel = tracker.get_latest_input_channel()
        return [
            *self.present(
                dispatcher,
                result,
                text,
                language,
                channel,
                asked_kind=asked_kind_of(tracker),
                currency_note=foreign_budget(tracker),
            ),
            SlotSet(DETAILS_SLOT, None),
        ]


class ActionRefineSearch(SearchActionMixin, Action):
    """Narrow the last search: cheaper, pricier, another colour, a size, a budget."""

    def name(self) -> str:
        return "action_refine_search"

    def _refine(
        self, tracker: Tracker, text: str, language: str
    ) -> tuple[SearchResult | None, str, str | None]:
        state = search_state(tracker)
        parsed = self.search.parse(text, language)
        if state is None or (parsed.category and parsed.category != state[1].category):
            # No search yet, or another kind of product ("show me bags" after dresses):
            # a new search from this message alone.
            if parsed.category is None:
                return None, "", "utter_no_previous_search"
            state = ("", ProductFilter())
        old_text, spec = state
        shown = [r for r in (self.search.by_id(i) for i in shown_ids(tracker)) if r]
        spec = spec.merged(parsed)
        if parsed.cheaper and shown:
            spec = replace(spec, price_max_cents=min(r.price_cents for r in shown) - 1)
        if parsed.pricier and shown:
            spec = replace(spec, price_min_cents=max(r.price_cents for r in shown) + 1)
        if parsed.other_color:
            old_colors = spec.colors or tuple(r.colors[0] for r in shown if r.colors)
            spec = ProductFilter(
                **{
                    **spec.__dict__,
                    "colors": parsed.colors,
                    "exclude_colors": tuple(dict.fromkeys((*spec.exclude_colors, *old_colors))),
                    "exclude_ids": tuple(r.id for r in shown),
                }
            )
        query = old_text or parsed.terms or category_name(spec.category, language)
        # A refinement never relaxes what the shopper just asked for.
        result = self.search.search(query, language, spec, parsed=ParsedQuery(), relax=False)
        if not result.hits and parsed.cheaper:
            return result, old_text, "utter_no_cheaper"
        return result, old_text, None

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        language = shopper_language(tracker)
        outcome = await or_apologise(
            dispatcher,
            "utter_search_unavailable",
            "product search",
            self._refine,
            tracker,
            message_text(tracker),
            language,
        )
        if isinstance(outcome, Apologised):
            return []
        result, old_text, problem = outcome
        if problem is not None or result is None:
            category = category_name(result.filter.category if result else None, language)
            dispatcher.utter_message(
                response=problem or "utter_no_previous_search", category=category
            )
            return []
        return self.present(
            dispatcher,
            result,
            old_text,
            language,
            tracker.get_latest_input_channel(),
            currency_note=foreign_budget(tracker),
        )


class ActionProductDetail(SearchActionMixin, Action):
    """Spec, material, colours, sizes in stock and size advice of one product."""

    def name(self) -> str:
        return "action_product_detail"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        language = shopper_language(tracker)
        text = message_text(tracker)
        products = await or_apologise(
            dispatcher, "utter_search_unavailable", "product search", self.referenced, tracker, text
        )
        if isinstance(products, Apologised):
            return []
        if not products:
            dispatcher.utter_message(response="utter_which_product")
            return []
        product = products[0]
        material = material_name(product.material, language)
        values = {
            "title": product.title(language),
            "code": product.code,
            "price": money(product.price_cents),
            "rating": f"{product.rating:.1f}",
            "colors": joined([color_label(c, language) for c in product.colors], language),
            "sizes": joined([size_label(s, language) for s in product.sizes_in_stock], language),
        }
        if material:
            dispatcher.utter_message(response="utter_product_detail", material=material, **values)
        else:
            dispatcher.utter_message(response="utter_product_detail_no_material", **values)
        description = product.description_zh if language == "zh" else product.description_en
        if description:
            dispatcher.utter_message(response="utter_product_description", description=description)
        if not product.in_stock:
            dispatcher.utter_message(response="utter_product_sold_out", title=values["title"])
        lowered = text.lower()
        if any(word in lowered for word in SIZE_WORDS):
            if set(product.sizes) & set(CLOTHING_SIZES):
                dispatcher.utter_message(response="utter_size_advice_clothing")
            elif any(size.isdigit() for size in product.sizes):
                dispatcher.utter_message(response="utter_size_advice_shoes")
        return [SlotSet(FOCUS_SLOT, product.code)]


class ActionCompareProducts(SearchActionMixin, Action):
    """Two or three products side by side, facts from the catalog."""

    def name(self) -> str:
        return "action_compare_products"

    def _products(self, tracker: Tracker, text: str) -> list[ProductRecord]:
        products = self.referenced(tracker, text)
        if len(products) < 2:
            # "这两个哪个好" / "which is better": the first two shown.
            shown = [r for r in (self.search.by_id(i) for i in shown_ids(tracker)) if r]
            products = shown[:2] if len(shown) >= 2 else products
        return products[:3]

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        language = shopper_language(tracker)
        products = await or_apologise(
            dispatcher,
            "utter_search_unavailable",
            "product search",
            self._products,
            tracker,
            message_text(tracker),
        )
        if isinstance(products, Apologised):
            return []
        if len(products) < 2:
            dispatcher.utter_message(response="utter_compare_need_two")
            return []
        dispatcher.utter_message(response="utter_compare_header")
        for index, product in enumerate(products, start=1):
            dispatcher.utter_message(
                response="utter_compare_line",
                index=index,
                title=product.title(language),
                price=money(product.price_cents),
                material=material_name(product.material, language) or "—",
                rating=f"{product.rating:.1f}",
                stock=product.stock,
            )
        cheapest = min(products, key=lambda p: p.price_cents)
        dearest = max(products, key=lambda p: p.price_cents)
        best = max(products, key=lambda p: p.rating)
        same_rating = len({p.rating for p in products}) == 1
        dispatcher.utter_message(
            response="utter_compare_summary_same_rating"
            if same_rating
            else "utter_compare_summary",
            cheaper=cheapest.title(language),
            difference=money(dearest.price_cents - cheapest.price_cents),
            better_rated=best.title(language),
        )
        return [SlotSet(SHOWN_SLOT, [p.id for p in products])]
