"""How the shopper feels, per message: ``negative``, ``neutral`` or ``positive`` with a score.

`SentimentAnalyser.analyse(text)` picks the Chinese analyser (snownlp's shopping-review
model under a shop-chat lexicon: negation, sarcasm, emoji, slang such as 坑/垃圾/差评) or
the English one (VADER's lexicon, extended for shop chat) by the text's script, and
reads both on mixed text. Models load once, lazily; callers on an event loop run it in
a thread. No Rasa here: the Rasa NLU component (addons/sentiment_component.py) and the
evaluation (scripts/eval_sentiment.py) both use it.
"""

from shopmate.sentiment.analyser import SentimentAnalyser
from shopmate.sentiment.model import LABELS, Label, Sentiment, label_for

__all__ = ["LABELS", "Label", "Sentiment", "SentimentAnalyser", "label_for"]
