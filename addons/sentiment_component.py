"""Rasa NLU component that reads every message's sentiment (shopmate/sentiment).

It adds a ``sentiment`` entity whose value is the label (``negative``, ``neutral``,
``positive``) and whose ``score`` is the analyser's score in [-1, 1]; the ``sentiment``
slot is mapped from it, and the escalation policy reads the scores of past messages
from the tracker. The analysers load once, when the model loads, not on a message.
``use_snownlp`` (off by default) lets snownlp's review model speak where the Chinese
lexicon finds nothing.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from addons.entities import whole_message_entity
from shopmate.sentiment import SentimentAnalyser

SENTIMENT_ENTITY = "sentiment"
SCORE_KEY = "score"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class SentimentTagger(GraphComponent):
    """Adds the message's sentiment as an entity with its score."""

    def __init__(self, analyser: SentimentAnalyser) -> None:
        self.analyser = analyser

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # snownlp's models (its segmenter comes with them) add ~400 MB to Rasa's RSS for
        # +0.004 macro-F1 on the held-out Chinese set (docs/evaluation.md): off unless
        # a store turns it on in config.yml.
        return {"use_snownlp": False}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentimentTagger:
        analyser = SentimentAnalyser(use_snownlp=bool(config.get("use_snownlp", False)))
        analyser.warm_up()  # at model load, never on a message
        return cls(analyser)

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT)
            if not text:
                continue
            found = self.analyser.analyse(text)
            entity = whole_message_entity(
                SENTIMENT_ENTITY, found.label, text, self.__class__.__name__
            )
            entity[SCORE_KEY] = found.score
            message.set(ENTITIES, [*message.get(ENTITIES, []), entity], add_to_output=True)
        return messages
