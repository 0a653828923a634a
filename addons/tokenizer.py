"""Jieba tokenizer that is safe on mixed Chinese/English text.

jieba emits every space as a token. Rasa's JiebaTokenizer keeps them, and its
``token_pattern`` option cannot drop them (a token the pattern does not match is
kept whole), so "iPhone 15 的手机壳" becomes [iPhone, " ", 15, " ", 的, ...]: blank
tokens that carry no meaning and shift entity boundaries (RasaHQ/rasa #7910,
PR #13035). This subclass drops whitespace-only tokens, and gives order numbers one
placeholder lemma for the featurizers (see addons/normalise.py).
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.training_data.message import Message

from addons.normalise import feature_lemma


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True)
class MixedTextJiebaTokenizer(JiebaTokenizer):
    """JiebaTokenizer without whitespace tokens; order numbers featurized as one token."""

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        tokens = [token for token in super().tokenize(message, attribute) if token.text.strip()]
        for token in tokens:
            token.lemma = feature_lemma(token.text)
        return tokens
