"""Recommendations: personal for a logged-in shopper (item-item collaborative filtering
over their orders), popular products for guests, and "complete the look" bundles for
the product in focus ("这条裙子配什么鞋", "what goes with it").

The shopper is known only by the signed token in the message metadata; a guest gets
popularity, never someone else's history.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.support.conversation import message_text, shopper_language
from actions.support.identity import logged_in_customer
from actions.support.products import SHOWN_RESULTS, ProductActionMixin
from actions.support.services import Lazy, lazy
from actions.support.slots import SHOWN_SLOT
from shopmate.identity import CustomerTokens
from shopmate.recommend import Recommender
from shopmate.search.products import ProductSearch

logger = logging.getLogger(__name__)

# "搭配", "配什么", "complete the look", "goes with", "match": a bundle for the product.
LOOK_WORDS = re.compile(
    r"搭配|配什么|怎么配|配套|一套|complete the look|go(?:es)? with|match|outfit", re.I
)


class ActionRecommendProducts(ProductActionMixin, Action):
    def __init__(
        self,
        search: ProductSearch | Lazy[ProductSearch],
        recommender: Recommender | Lazy[Recommender],
        tokens: CustomerTokens | None = None,
    ) -> None:
        super().__init__(search)
        self._recommender = lazy(recommender)
        self.tokens = tokens

    def name(self) -> str:
        return "action_recommend_products"

    @property
    def recommender(self) -> Recommender:
        return self._recommender.get()

    def _recommend(self, tracker: Tracker, language: str) -> dict[str, Any]:
        text = message_text(tracker)
        if LOOK_WORDS.search(text):
            anchors = self.referenced(tracker, text)
            if anchors:
                anchor = anchors[0]
                found = self.recommender.complete_the_look(anchor.id, k=SHOWN_RESULTS)
                return {
                    "response": "utter_complete_the_look",
                    "title": anchor.title(language),
                    "ids": [r.product_id for r in found],
                }
        customer = logged_in_customer(tracker, self.tokens)
        if customer is not None and self.recommender.knows_customer(customer):
            found = self.recommender.for_customer(customer, k=SHOWN_RESULTS)
            personal = [r for r in found if r.reason != "popular"]
            if personal:
                return {
                    "response": "utter_recommendations_personal",
                    "ids": [r.product_id for r in found],
                }
        found = self.recommender.popular(k=SHOWN_RESULTS)
        return {"response": "utter_recommendations_popular", "ids": [r.product_id for r in found]}

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        language = shopper_language(tracker)
        try:
            reply = await asyncio.to_thread(self._recommend, tracker, language)
            records = [r for r in (self.search.by_id(i) for i in reply.pop("ids")) if r]
        except Exception as error:  # noqa: BLE001 - the shopper still gets an answer
            logger.error("recommendations unavailable: %s", type(error).__name__)
            dispatcher.utter_message(response="utter_no_recommendations")
            return []
        if not records:
            dispatcher.utter_message(response="utter_no_recommendations")
            return []
        dispatcher.utter_message(**reply)
        self.show_products(dispatcher, records, language, tracker.get_latest_input_channel())
        dispatcher.utter_message(response="utter_search_followup")
        return [SlotSet(SHOWN_SLOT, [r.id for r in records])]
