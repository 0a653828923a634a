"""Rasa NLU component that reads every message's sentiment (shopmate/sentiment).

It adds a ``sentiment`` entity whose value is the label (``negative``, ``neutral``,
``positive``) and whose ``score`` is the analyser's score in [-1, 1]; the ``sentiment``
slot is mapped from it, and the escalation policy reads the scores of past messages
from the tracker. The analysers load once, when the model loads, not on a message.
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

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentimentTagger:
        analyser = SentimentAnalyser()
        analyser.warm_up()  # at model load: snownlp's model takes seconds to read
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
