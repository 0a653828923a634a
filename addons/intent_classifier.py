"""A linear intent classifier over sparse n-grams and a dense sentence embedding.

Rasa's LogisticRegressionClassifier trains in seconds where DIET takes many minutes,
but it fixes the regularisation (C = 1) and stacks raw n-gram counts beside a unit-
length embedding, so the embedding's 384 small numbers count for almost nothing.
This subclass makes both tunable: `C`, and `dense_weight`, a factor on the dense
features (the embedding is L2-normalised, so a weight of a few puts it on the scale
of a handful of n-gram counts).
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from scipy.sparse import csr_matrix, hstack, vstack


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearIntentClassifier(LogisticRegressionClassifier):
    """Logistic regression with a tunable C and a weight on dense features."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            **LogisticRegressionClassifier.get_default_config(),
            "C": 1.0,
            "dense_weight": 1.0,
            "max_iter": 300,
        }

    def __init__(
        self,
        config: dict[str, Any],
        name: str,
        model_storage: ModelStorage,
        resource: Resource,
    ) -> None:
        super().__init__(config, name, model_storage, resource)
        self.clf.set_params(C=float(self.config["C"]))
        self._dense_weight = float(self.config["dense_weight"])

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LinearIntentClassifier:
        return cls(config, execution_context.node_name, model_storage, resource)

    def _create_X(self, messages: list[Message]) -> csr_matrix:
        rows = []
        for message in messages:
            sparse = message.get_sparse_features(attribute=TEXT)[1]
            dense = message.get_dense_features(attribute=TEXT)[1]
            parts = []
            if sparse is not None:
                parts.append(csr_matrix(sparse.features))
            if dense is not None:
                parts.append(csr_matrix(dense.features * self._dense_weight))
            rows.append(hstack(parts) if parts else csr_matrix((1, 0)))
        return vstack(rows).tocsr()
