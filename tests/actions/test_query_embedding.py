"""A shopper's query is embedded off the event loop (the loop keeps serving other
conversations meanwhile) by every action that searches: the knowledge base answers
and the product search."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from rasa_sdk.executor import CollectingDispatcher

from actions.faq import ActionAnswerFallback, ActionAnswerFaq
from actions.shopping import ActionSearchProducts
from shopmate.catalog import load_records
from shopmate.db.session import Database
from shopmate.knowledge import KnowledgeBase
from shopmate.search.embeddings import FloatArray
from shopmate.search.products import ProductSearch
from shopmate.settings import get_settings
from tests.actions.test_shopping import shop  # noqa: F401 - the module's catalog fixture
from tests.conftest import TrackerBuilder
from tests.shopmate.search.fakes import ConceptEmbedder


class ThreadRecordingEmbedder(ConceptEmbedder):
    """Remembers on which thread each single query was embedded."""

    name = "thread-recording-fake"

    def __init__(self) -> None:
        super().__init__()
        self.query_threads: list[int] = []

    def encode(self, texts: Sequence[str], is_query: bool) -> FloatArray:
        if is_query and len(texts) == 1:
            self.query_threads.append(threading.get_ident())
        return super().encode(texts, is_query)


async def test_knowledge_base_queries_are_embedded_off_the_loop(
    tracker_for: TrackerBuilder,
) -> None:
    embedder = ThreadRecordingEmbedder()
    knowledge_base = KnowledgeBase(
        get_settings().knowledge_dir, retrieval="dense", embedder=embedder, cache=False
    )
    loop_thread = threading.get_ident()
    for action in (ActionAnswerFaq(knowledge_base), ActionAnswerFallback(knowledge_base)):
        embedder.query_threads.clear()
        await action.run(CollectingDispatcher(), tracker_for("运费怎么算", language="zh"), {})
        assert embedder.query_threads, f"{action.name()} embedded no query"
        assert loop_thread not in embedder.query_threads, action.name()


async def test_product_search_queries_are_embedded_off_the_loop(
    shop: tuple[Database, ProductSearch],  # noqa: F811 - the imported fixture
    tracker_for: TrackerBuilder,
) -> None:
    database, _ = shop
    embedder = ThreadRecordingEmbedder()
    search = ProductSearch.build(load_records(database), embedder, backend="numpy")
    embedder.query_threads.clear()
    slots = {"search_filter": {"text": "红色连衣裙", "filter": {"category": "dresses"}}}
    await ActionSearchProducts(search).run(
        CollectingDispatcher(), tracker_for("", "search_product", "zh", slots=slots), {}
    )
    assert embedder.query_threads, "the search embedded no query"
    assert threading.get_ident() not in embedder.query_threads
