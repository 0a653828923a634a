"""Store policy knowledge base: bilingual articles in data/knowledge/ and BM25 over them.

Each article is a markdown file with YAML front matter (id, title, topic, questions)
and a short body that is the answer. Articles are indexed per language with their
title, sample questions and body.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import bm25s
import yaml

from actions.services.text import tokenize, tokenize_all

logger = logging.getLogger(__name__)

LANGUAGES = ("zh", "en")


class KnowledgeBaseError(RuntimeError):
    """The knowledge base could not be loaded."""


@dataclass(frozen=True)
class Article:
    id: str
    language: str
    title: str
    topic: str
    questions: tuple[str, ...]
    body: str

    @property
    def index_text(self) -> str:
        return "\n".join((self.title, *self.questions, self.body))


@dataclass(frozen=True)
class ScoredArticle:
    article: Article
    score: float


def parse_article(path: Path, language: str) -> Article:
    """Read one article file: YAML front matter between '---' lines, then the body."""
    text = path.read_text(encoding="utf-8")
    _, front, body = text.split("---", 2)
    meta = yaml.safe_load(front) or {}
    body = body.strip()
    if not body or not meta.get("id") or not meta.get("title"):
        raise KnowledgeBaseError(f"article {path.name} lacks id, title or body")
    return Article(
        id=str(meta["id"]),
        language=language,
        title=str(meta["title"]),
        topic=str(meta.get("topic", "")),
        questions=tuple(str(q) for q in meta.get("questions") or ()),
        body=body,
    )


def load_articles(directory: Path) -> dict[str, list[Article]]:
    """Load every article, grouped by language (sub-directory name)."""
    articles: dict[str, list[Article]] = {}
    for language in LANGUAGES:
        folder = directory / language
        articles[language] = [parse_article(path, language) for path in sorted(folder.glob("*.md"))]
    if not any(articles.values()):
        raise KnowledgeBaseError(f"no articles under {directory}")
    return articles


class _LanguageIndex:
    def __init__(self, articles: list[Article]) -> None:
        self.articles = articles
        self.retriever = bm25s.BM25()
        self.retriever.index(tokenize_all(a.index_text for a in articles), show_progress=False)

    def search(self, query: str, k: int) -> list[ScoredArticle]:
        terms = tokenize(query)
        if not terms or not self.articles:
            return []
        k = min(k, len(self.articles))
        documents, scores = self.retriever.retrieve([terms], k=k, show_progress=False)
        return [
            ScoredArticle(self.articles[int(doc)], float(score))
            for doc, score in zip(documents[0], scores[0], strict=True)
            if score > 0
        ]


class KnowledgeBase:
    """BM25 retrieval over the policy articles. Loads lazily, once, thread-safely."""

    def __init__(self, directory: Path, min_score: float = 1.0) -> None:
        self.directory = directory
        self.min_score = min_score
        self._indexes: dict[str, _LanguageIndex] | None = None
        self._lock = threading.Lock()

    def _load(self) -> dict[str, _LanguageIndex]:
        if self._indexes is None:
            with self._lock:
                if self._indexes is None:
                    articles = load_articles(self.directory)
                    self._indexes = {
                        language: _LanguageIndex(items) for language, items in articles.items()
                    }
                    logger.info(
                        "knowledge base loaded: %s",
                        {language: len(items) for language, items in articles.items()},
                    )
        return self._indexes

    def search(self, query: str, language: str, k: int = 3) -> list[ScoredArticle]:
        """Best articles in the shopper's language, highest score first."""
        indexes = self._load()
        index = indexes.get(language) or indexes[LANGUAGES[0]]
        return index.search(query, k)

    def best_answer(self, query: str, language: str) -> Article | None:
        """The top article if it is confident enough to answer with, else None."""
        hits = self.search(query, language, k=1)
        if hits and hits[0].score >= self.min_score:
            return hits[0].article
        return None
