"""The composition root: every service the actions use, built once per process from
one Settings, and every action built with the services it needs.

Only this module knows how the parts fit together. The services (shopmate/) receive
their configuration here and never read the environment; the actions receive their
services through their constructors and never build one, so a test builds an action
with fakes and the server builds them all here. One database URL is one `Database`
(one engine, one connection pool) shared by the order service, the catalog, the carts,
the guests' phone-check counts, the recommender and the product search; one embedding
model serves the knowledge base and the product search.

Services that load a model or read the whole catalog are `Lazy`: built on first use,
off the event loop, or by `warm_up` in the background when the server starts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from rasa_sdk import Action

from actions.cart import ActionAddToCart, ActionBestOffer
from actions.complaints import ActionFileComplaint
from actions.faq import ActionAnswerFallback, ActionAnswerFaq
from actions.handoff import ActionHandoff, ActionOfferHandoff, ActionStoreRating
from actions.marketing import ActionWriteProductCopy
from actions.order_changes import (
    ActionAskChangeConfirmed,
    ActionAskNewVariant,
    ActionAskOrderItem,
    ActionStartOrderChange,
    ActionSubmitOrderChange,
    ValidateChangeForm,
)
from actions.orders import ActionAnswerOrder, ActionExplainForm, ValidateOrderForm
from actions.recommendations import ActionRecommendProducts
from actions.shopping import (
    ActionCompareProducts,
    ActionProductDetail,
    ActionRefineSearch,
    ActionSearchProducts,
    ActionStartSearch,
    ValidateSearchForm,
)
from actions.support.services import Lazy
from shopmate.cart import CartRepository
from shopmate.catalog import ProductCatalog
from shopmate.db.session import Database
from shopmate.guest_proof import GuestProofGuard, GuestProofPolicy
from shopmate.identity import CustomerTokens
from shopmate.knowledge import KnowledgeBase
from shopmate.llm import Generator, create_generator
from shopmate.orders import OrderService
from shopmate.recommend import Interactions, Recommender, product_meta_from_database
from shopmate.search.embeddings import Embedder, embedder_from_settings
from shopmate.search.products import ProductSearch, build_product_search
from shopmate.search.query import QueryParser
from shopmate.settings import Settings
from shopmate.support.complaints import ComplaintCategory, ComplaintPolicy
from shopmate.support.handoff import SupportDesk
from shopmate.support.hours import SupportHours
from shopmate.support.tickets import TicketDesk
from shopmate.support.webhook import HelpdeskWebhook

logger = logging.getLogger(__name__)


class Container:
    """The services of one action server process, each built at most once."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.database = Lazy(lambda: Database(settings.database_url), "database")
        self.tokens = (
            CustomerTokens(settings.customer_token_secret)
            if settings.customer_token_secret
            else None
        )
        self.orders = Lazy(lambda: OrderService(self.database.get()), "order service")
        self.guest_guard = Lazy(
            lambda: GuestProofGuard(
                self.database.get(),
                GuestProofPolicy(
                    max_failures=settings.guest_proof_max_failures,
                    delays=settings.guest_proof_delays_s,
                    lock=timedelta(minutes=settings.guest_proof_lock_minutes),
                ),
            ),
            "guest proof guard",
        )
        self.catalog = Lazy(lambda: ProductCatalog(self.database.get()), "product catalog")
        self.carts = Lazy(lambda: CartRepository(self.database.get()), "carts")
        self.embedder: Lazy[Embedder] = Lazy(
            lambda: embedder_from_settings(
                settings.embedding_backend, settings.embedding_model_path
            ),
            "embedding model",
        )
        # Its indexes (and the embedding model, unless KB_RETRIEVAL=bm25) load lazily,
        # inside the knowledge base, on its first question or at warm-up.
        self.knowledge_base = KnowledgeBase(
            settings.knowledge_dir,
            settings.faq_min_score,
            retrieval=settings.kb_retrieval,
            min_confidence=settings.kb_min_confidence,
            embedder_factory=self.embedder.get,
            cache_dir=settings.index_dir / "knowledge",
        )
        # One reading of colours, sizes and prices for search, cart and exchanges.
        self.query_parser = Lazy(QueryParser.from_catalog_vocabulary, "query parser")
        self.product_search: Lazy[ProductSearch] = Lazy(
            lambda: build_product_search(
                self.database.get(),
                self.embedder.get(),
                backend=settings.search_backend,
                index_dir=settings.index_dir,
                milvus_uri=settings.milvus_uri,
                mode=settings.search_mode,
                parser=self.query_parser.get(),
            ),
            "product search",
        )
        self.recommender: Lazy[Recommender] = Lazy(self._build_recommender, "recommender")
        self.generator: Lazy[Generator] = Lazy(
            lambda: create_generator(settings.generator), "generator"
        )
        self.support: Lazy[SupportDesk] = Lazy(self._build_support, "support desk")

    def _build_support(self) -> SupportDesk:
        support = self.settings.support
        webhook = (
            HelpdeskWebhook(support.helpdesk_webhook_url, support.helpdesk_webhook_secret)
            if support.helpdesk_webhook_url and support.helpdesk_webhook_secret
            else None
        )
        return SupportDesk(
            TicketDesk(self.database.get()),
            SupportHours.parse(support.hours, support.days, self.settings.store_timezone),
            wait_minutes=support.wait_minutes,
            complaints=ComplaintPolicy(
                always_human=frozenset(
                    ComplaintCategory(c)
                    for c in support.always_human
                    if c in ComplaintCategory.__members__.values()
                ),
                damaged_over_cents=round(support.damaged_to_person_over_yuan * 100),
            ),
            webhook=webhook,
        )

    def _build_recommender(self) -> Recommender:
        database = self.database.get()
        return Recommender.build(
            Interactions.from_database(database), product_meta_from_database(database)
        )

    def actions(self) -> list[Action]:
        """Every custom action and form validation the domain names, once each."""
        orders, tokens, guard = self.orders, self.tokens, self.guest_guard
        zone = self.settings.store_timezone
        search, carts = self.product_search, self.carts
        return [
            # policy questions and fallbacks
            ActionAnswerFaq(self.knowledge_base, self.generator),
            ActionAnswerFallback(self.knowledge_base, self.generator),
            # orders: questions, then changes
            ValidateOrderForm(orders, tokens, guard),
            ActionAnswerOrder(orders, tokens, guard, timezone=self.settings.store_timezone),
            ActionExplainForm(),
            ActionStartOrderChange(),
            ValidateChangeForm(orders, tokens, guard, parser=self.query_parser),
            ActionAskOrderItem(orders, tokens, guard),
            ActionAskNewVariant(orders, tokens, guard),
            ActionAskChangeConfirmed(orders, tokens, guard),
            ActionSubmitOrderChange(orders, tokens, guard),
            # shopping guide
            ActionStartSearch(search),
            ValidateSearchForm(search),
            ActionSearchProducts(search),
            ActionRefineSearch(search),
            ActionProductDetail(search),
            ActionCompareProducts(search),
            ActionAddToCart(search, carts, tokens),
            ActionBestOffer(carts, tokens),
            ActionRecommendProducts(search, self.recommender, tokens),
            ActionWriteProductCopy(self.catalog, self.generator),
            # people: complaints, handing over, ratings
            ActionFileComplaint(self.support, orders, tokens, zone, self.generator),
            ActionHandoff(self.support, tokens, zone, self.generator),
            ActionOfferHandoff(),
            ActionStoreRating(self.support),
        ]

    def warm_up(self) -> None:
        """Build the heavy services now (blocking: the server runs it in a thread), so
        the first shopper does not wait for a model or an index. A failure is logged
        and the service is built again on first use."""
        steps: list[tuple[str, Callable[[], Any]]] = [
            ("knowledge base", self.knowledge_base.warm_up),
            ("product catalog", lambda: self.catalog.get().warm_up()),
            ("query parser", lambda: self.query_parser.get().warm_up()),
            ("product search", self.product_search.get),
            ("recommender", self.recommender.get),
        ]
        for name, step in steps:
            try:
                step()
            except Exception as error:  # noqa: BLE001 - a failed warm-up retries on first use
                logger.warning("%s warm-up failed: %s", name, type(error).__name__)
