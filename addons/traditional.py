"""Traditional Chinese reads like Simplified: 「訂單到哪了」 is parsed as 「订单到哪了」.

The training data is written in Simplified Chinese, and jieba's dictionary is
Simplified, so a shopper writing 繁體 would meet a model that has never seen their
characters. This component runs first in the pipeline and converts the message text
with OpenCC (a maintained converter with phrase tables, not a character map). OpenCC's
`t2s` conversion keeps the text's length for the characters shoppers type; where a
phrase would change the length the message is converted character by character, so
entity offsets (and the annotated training examples) stay valid.

Rasa keeps the shopper's original text in the tracker; only the NLU pipeline sees the
converted one.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from addons.normalise import to_simplified


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class TraditionalToSimplified(GraphComponent):
    """Converts Traditional Chinese message text to Simplified before tokenizing."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> TraditionalToSimplified:
        return cls()

    @staticmethod
    def _convert(message: Message) -> None:
        text = message.get(TEXT)
        if isinstance(text, str):
            converted = to_simplified(text)
            if converted != text:
                message.set(TEXT, converted)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for message in training_data.training_examples:
            self._convert(message)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            self._convert(message)
        return messages
