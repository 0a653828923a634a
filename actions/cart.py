"""Cart and deals: add a product to the cart (variant chosen, stock checked) and the
cheapest valid coupon combination for the cart, explained in money.

Whose cart: a logged-in shopper's (signed token in the message metadata) or, for a
guest, this conversation's. Never a customer id typed or claimed in the text.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.support.conversation import entity_values, message_text, shopper_language
from actions.support.formatting import joined, money, size_label, variant_label
from actions.support.identity import logged_in_customer
from actions.support.products import ProductActionMixin, search_state
from actions.support.services import Apologised, Lazy, lazy, or_apologise
from actions.support.slots import CHOOSING_VARIANT_SLOT, FOCUS_SLOT
from shopmate.cart import Added, CartRepository, OutOfStock
from shopmate.catalog import ProductRecord
from shopmate.choices import color_label
from shopmate.db.columns import utcnow
from shopmate.db.vocabulary import COLOR_BY_CODE
from shopmate.identity import CustomerTokens
from shopmate.promotions import best_offer
from shopmate.search.products import ProductSearch

logger = logging.getLogger(__name__)


class CartMixin:
    """The cart repository and the customer tokens that say whose cart it is."""

    def __init__(
        self, cart: CartRepository | Lazy[CartRepository], tokens: CustomerTokens | None
    ) -> None:
        self._cart = lazy(cart)
        self.tokens = tokens

    @property
    def cart(self) -> CartRepository:
        return self._cart.get()

    def cart_id(self, tracker: Tracker) -> int:
        customer = logged_in_customer(tracker, self.tokens)
        return self.cart.cart_for(customer, tracker.sender_id)


# The replies that ask which variant: the shopper's next "M" / "白色" answers them.
VARIANT_QUESTIONS = ("utter_ask_cart_color", "utter_ask_cart_size")


class ActionAddToCart(CartMixin, ProductActionMixin, Action):
    """Put the product the shopper points at into the cart; asks for the colour or
    size when the product has several and the message names none."""

    def __init__(
        self,
        search: ProductSearch | Lazy[ProductSearch],
        cart: CartRepository | Lazy[CartRepository],
        tokens: CustomerTokens | None = None,
    ) -> None:
        ProductActionMixin.__init__(self, search)
        CartMixin.__init__(self, cart, tokens)

    def name(self) -> str:
        return "action_add_to_cart"

    def _wanted(self, tracker: Tracker, text: str, language: str) -> tuple[list[str], list[str]]:
        parsed = self.search.parse(text, language) if text else None
        colors = [c for c in entity_values(tracker, "color") if c in COLOR_BY_CODE]
        sizes = entity_values(tracker, "size")
        if parsed is not None:
            colors = colors or list(parsed.colors)
            sizes = sizes or list(parsed.sizes)
        return colors, [s.upper() if not s.isdigit() else s for s in sizes]

    def _add(self, tracker: Tracker, language: str) -> dict[str, Any]:
        """Blocking: resolve the product and variant, then write the cart row."""
        text = message_text(tracker)
        products = self.referenced(tracker, text)
        if not products:
            return {"response": "utter_which_product"}
        product: ProductRecord = products[0]
        colors, sizes = self._wanted(tracker, text, language)
        # What the shopper searched for ("红色连衣裙", "M码") still holds when the
        # product comes in it: no need to ask again.
        state = search_state(tracker)
        if state is not None:
            searched = state[1]
            colors = colors or [c for c in searched.colors if c in product.colors_in_stock]
            sizes = sizes or [s for s in searched.sizes if s in product.sizes_in_stock]
        title = product.title(language)
        variants = self.cart.variants_of(product.id)
        if colors:
            matching = [v for v in variants if v.color in colors]
            if not matching:
                return {
                    "response": "utter_cart_variant_unavailable",
                    "title": title,
                    "wanted": joined([color_label(c, language) for c in colors], language),
                    "options": joined([color_label(c, language) for c in product.colors], language),
                    "focus": product.code,
                }
            variants = matching
        if sizes:
            matching = [v for v in variants if (v.size or "").upper() in sizes]
            if not matching:
                return {
                    "response": "utter_cart_variant_unavailable",
                    "title": title,
                    "wanted": joined(sizes, language),
                    "options": joined([size_label(s, language) for s in product.sizes], language),
                    "focus": product.code,
                }
            variants = matching
        chosen_color = colors[0] if colors else None
        if len({v.color for v in variants}) > 1:
            return {
                "response": "utter_ask_cart_color",
                "title": title,
                "focus": product.code,
                "buttons": [
                    {
                        "title": color_label(c, language),
                        "payload": "/add_to_cart" + json.dumps({"color": c}),
                    }
                    for c in dict.fromkeys(v.color for v in variants if v.color)
                ],
            }
        if len({v.size for v in variants}) > 1:
            color = variants[0].color or chosen_color
            return {
                "response": "utter_ask_cart_size",
                "title": title,
                "focus": product.code,
                "buttons": [
                    {
                        "title": v.size,
                        "payload": "/add_to_cart" + json.dumps({"color": color, "size": v.size}),
                    }
                    for v in variants
                    if v.stock > 0
                ],
            }
        variant = variants[0]
        cart_id = self.cart_id(tracker)
        result = self.cart.add_item(cart_id, variant.id)
        label = variant_label(variant.color, variant.size, language)
        if isinstance(result, OutOfStock):
            return {
                "response": "utter_cart_out_of_stock",
                "title": title,
                "variant": label,
                "available": result.can_add,
                "focus": product.code,
            }
        if not isinstance(result, Added):
            return {"response": "utter_which_product"}
        lines = self.cart.lines(cart_id)
        return {
            "response": "utter_added_to_cart",
            "title": title,
            "variant": label,
            "quantity": 1,
            "count": sum(line.quantity for line in lines),
            "subtotal": money(sum(line.subtotal_cents for line in lines)),
            "focus": product.code,
        }

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        language = shopper_language(tracker)
        reply = await or_apologise(
            dispatcher, "utter_cart_unavailable", "cart", self._add, tracker, language
        )
        if isinstance(reply, Apologised):
            return [SlotSet(CHOOSING_VARIANT_SLOT, False)]
        focus = reply.pop("focus", None)
        dispatcher.utter_message(**reply)
        choosing = reply["response"] in VARIANT_QUESTIONS
        events: list[EventType] = [SlotSet(CHOOSING_VARIANT_SLOT, choosing)]
        return [SlotSet(FOCUS_SLOT, focus), *events] if focus else events


class ActionBestOffer(CartMixin, Action):
    """The cheapest valid coupon combination for the shopper's cart, in money."""

    def __init__(
        self,
        cart: CartRepository | Lazy[CartRepository],
        tokens: CustomerTokens | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__(cart, tokens)
        self.clock = clock

    def name(self) -> str:
        return "action_best_offer"

    def _offer(self, tracker: Tracker, language: str) -> list[dict[str, Any]]:
        cart_id = self.cart_id(tracker)
        lines = self.cart.lines(cart_id)
        if not lines:
            return [{"response": "utter_cart_empty"}]
        now = self.clock()
        offer = best_offer(lines, self.cart.active_coupons(now), now)
        messages: list[dict[str, Any]] = []
        if offer.applied:
            coupons = joined(
                [
                    f"「{c.title_zh if language == 'zh' else c.title_en}」"
                    f"(-{money(c.saving_cents)})"
                    for c in offer.applied
                ],
                language,
            )
            messages.append(
                {
                    "response": "utter_best_offer",
                    "subtotal": money(offer.subtotal_cents),
                    "coupons": coupons,
                    "saving": money(offer.saving_cents),
                    "total": money(offer.total_cents),
                }
            )
        else:
            messages.append(
                {
                    "response": "utter_no_coupon_applies",
                    "subtotal": money(offer.subtotal_cents),
                }
            )
        if offer.near_misses:
            miss = offer.near_misses[0]
            messages.append(
                {
                    "response": "utter_coupon_near_miss",
                    "missing": money(miss.missing_cents),
                    "title": miss.title_zh if language == "zh" else miss.title_en,
                    "saving": money(miss.saving_cents),
                }
            )
        return messages

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        language = shopper_language(tracker)
        messages = await or_apologise(
            dispatcher, "utter_promotion_unavailable", "promotions", self._offer, tracker, language
        )
        if isinstance(messages, Apologised):
            return []
        for message in messages:
            dispatcher.utter_message(**message)
        return []
