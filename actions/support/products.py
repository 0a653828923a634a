"""The product search every shopping action reads: the products last shown and the
one in focus ("第二个", "the bag", a product code), and product cards.

Every fact shown (title, price, stock, material, colours) is read from the catalog by
the search service; the wording is the domain's responses in the shopper's language.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.support.conversation import entity_values
from actions.support.formatting import money
from actions.support.services import Lazy, lazy
from actions.support.slots import FILTER_SLOT, FOCUS_SLOT, SHOWN_SLOT
from shopmate import payloads
from shopmate.catalog import ProductRecord, product_codes_in
from shopmate.choices import color_label, ordinals_in
from shopmate.search.products import ProductFilter, ProductSearch

SHOWN_RESULTS = 3
# Channels that get only the text lines: `rasa shell` prints a custom payload as raw
# JSON. Every other channel renders or degrades ShopMate's cards (shopmate/payloads.py).
TEXT_ONLY_CHANNELS = ("cmdline",)
# Where the shop shows a product (the demo page serves /product/<code>).
PRODUCT_PAGE = "/product/{code}"


def variant_title(record: ProductRecord, language: str, wanted: Sequence[str]) -> str:
    """The product's title as the variant the shopper asked for: a dress found through
    its red variant is shown red, not under its first colour's name."""
    title = record.title(language)
    colour = next((c for c in wanted if c in record.colors), None)
    if colour is None or not record.colors or colour == record.colors[0]:
        return title
    primary, chosen = color_label(record.colors[0], language), color_label(colour, language)
    if primary and primary in title:
        return title.replace(primary, chosen, 1)
    if primary.lower() in title.lower():
        start = title.lower().index(primary.lower())
        return title[:start] + chosen + title[start + len(primary) :]
    return f"{title}（{chosen}）" if language == "zh" else f"{title} ({chosen})"


def search_state(tracker: Tracker) -> tuple[str, ProductFilter] | None:
    value = tracker.get_slot(FILTER_SLOT)
    if not isinstance(value, dict):
        return None
    text = value.get("text")
    return (str(text)[:200] if isinstance(text, str) else ""), ProductFilter.from_dict(
        value.get("filter")
    )


def state_value(
    text: str, spec: ProductFilter, asked_kind: str | None = None, foreign_budget: bool = False
) -> dict[str, Any]:
    value: dict[str, Any] = {"text": text, "filter": spec.to_dict()}
    if asked_kind:
        value["asked_kind"] = asked_kind[:60]
    if foreign_budget:
        value["foreign_budget"] = True
    return value


def shown_ids(tracker: Tracker) -> list[int]:
    value = tracker.get_slot(SHOWN_SLOT)
    if not isinstance(value, list):
        return []
    return [int(v) for v in value if isinstance(v, int | str) and str(v).isdigit()][:20]


class ProductActionMixin:
    """The product search (given by the composition root; tests pass a built one),
    the products a message points at, and product cards."""

    def __init__(self, search: ProductSearch | Lazy[ProductSearch]) -> None:
        self._search = lazy(search)

    @property
    def search(self) -> ProductSearch:
        # Built at the server's warm-up; the first use waits for it if it is not yet.
        return self._search.get()

    async def _blocking(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        """Search (spaCy, BM25, embeddings, DB) runs off the event loop."""
        return await asyncio.to_thread(function, *args, **kwargs)

    def referenced(self, tracker: Tracker, text: str) -> list[ProductRecord]:
        """Products the message points at: ordinals into the last results, product
        codes, else the product in focus. Blocking (may build the search index)."""
        shown = [r for r in (self.search.by_id(i) for i in shown_ids(tracker)) if r]
        found: list[ProductRecord] = []
        for position in ordinals_in(text):
            index = len(shown) - 1 if position == -1 else position - 1
            if 0 <= index < len(shown) and shown[index] not in found:
                found.append(shown[index])
        for value in entity_values(tracker, "ordinal"):
            if value.lstrip("-").isdigit():
                position = int(value)
                index = len(shown) - 1 if position == -1 else position - 1
                if 0 <= index < len(shown) and shown[index] not in found:
                    found.append(shown[index])
        codes = [*entity_values(tracker, "product_code"), *product_codes_in(text)]
        for code in codes:
            record = self.search.by_code(code)
            if record is not None and record not in found:
                found.append(record)
        if not found:
            # The product page the widget is on ("这件有M码吗" there means this one).
            metadata = tracker.latest_message.get("metadata") or {}
            for code in product_codes_in(str(metadata.get("page_product") or "")):
                record = self.search.by_code(code)
                if record is not None:
                    found.append(record)
                    break
        if not found:
            focus = tracker.get_slot(FOCUS_SLOT)
            record = self.search.by_code(str(focus)) if focus else None
            if record is not None:
                found.append(record)
        return found

    @staticmethod
    def show_products(
        dispatcher: CollectingDispatcher,
        records: Sequence[ProductRecord],
        language: str,
        channel: str | None = None,
        colors: Sequence[str] = (),
    ) -> None:
        """One card per product: the text line every channel shows, plus ShopMate's
        product card (image, rating, code, add-to-cart button) that each channel renders
        its own way, a list of them as a carousel (docs/channels.md)."""
        for index, record in enumerate(records, start=1):
            title = variant_title(record, language, colors)
            product = {
                "code": record.code,
                "title": title,
                "price": money(record.price_cents),
                "price_cents": record.price_cents,
                "rating": record.rating,
                "image_url": record.image_url,
                "url": PRODUCT_PAGE.format(code=record.code),
                "in_stock": record.in_stock,
            }
            extra: dict[str, Any] = {}
            if channel not in TEXT_ONLY_CHANNELS:
                card = payloads.product_card(product, index, len(records), language)
                extra["json_message"] = payloads.custom(card)
            dispatcher.utter_message(
                response="utter_product_card" if record.in_stock else "utter_product_card_sold_out",
                index=index,
                title=title,
                price=money(record.price_cents),
                rating=f"{record.rating:.1f}",
                **extra,
            )
