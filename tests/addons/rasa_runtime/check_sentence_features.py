"""addons/sentence_features.py in the Rasa runtime (tests/addons/test_sentence_features.py):
a served message's vector is remembered per text and is exactly what the model gives
that text alone; batches are never cached; the cache is bounded; 0 turns it off."""

from __future__ import annotations

import numpy as np
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from addons import sentence_features
from addons.sentence_features import SentenceEmbeddingFeaturizer


def vector_of(message: Message) -> np.ndarray:
    features = message.get_dense_features(TEXT)[1]
    assert features is not None
    return np.asarray(features.features)


def featurizer(cache_size: int | None = None) -> SentenceEmbeddingFeaturizer:
    return SentenceEmbeddingFeaturizer(
        SentenceEmbeddingFeaturizer.get_default_config(), "sentence", cache_size
    )


def check() -> None:
    assert sentence_features.QUERY_THREADS == 1, "one OpenMP thread per message by default"
    cached, uncached = featurizer(2), featurizer(0)
    assert featurizer()._cache_size == 4096
    texts = ["你好", "买多少钱可以包邮？", "How long does a refund take?"]
    first = {t: vector_of(cached.process([Message({TEXT: t})])[0]) for t in texts}
    assert cached.cache_hits == 0
    assert len(cached._cache) == 2, "bounded: the oldest text is forgotten"
    again = vector_of(cached.process([Message({TEXT: texts[-1]})])[0])
    assert cached.cache_hits == 1
    np.testing.assert_array_equal(again, first[texts[-1]])
    for text in texts:
        alone = vector_of(uncached.process([Message({TEXT: text})])[0])
        np.testing.assert_array_equal(alone, first[text])  # bit for bit: same computation
    assert len(uncached._cache) == 0
    # A batch (evaluation, training) goes to the model as a batch, uncached.
    hits = cached.cache_hits
    batch = cached.process([Message({TEXT: t}) for t in texts])
    assert cached.cache_hits == hits
    for message in batch:
        np.testing.assert_allclose(vector_of(message), first[message.get(TEXT)], atol=1e-5)
    # Messages without text are left alone.
    empty = Message({TEXT: "  "})
    cached.process([empty])
    assert empty.get_dense_features(TEXT)[1] is None


check()
print("sentence features: ok")
