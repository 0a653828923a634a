"""One analyser for both languages, chosen by the text's script."""

from __future__ import annotations

import re

from shopmate.sentiment.chinese import HAN, ChineseSentiment
from shopmate.sentiment.english import EnglishSentiment
from shopmate.sentiment.model import Sentiment

LATIN_RUN = re.compile(r"[A-Za-z][A-Za-z' ]{2,}")


class SentimentAnalyser:
    """Chinese text is read by the Chinese analyser, English by the English one; text
    with both ("这个 quality 太差 wtf") by both, keeping the stronger reading."""

    def __init__(self, use_snownlp: bool = True) -> None:
        self.chinese = ChineseSentiment(use_snownlp=use_snownlp)
        self.english = EnglishSentiment()

    def warm_up(self) -> None:
        """Load snownlp's model and VADER's lexicon now (about 4 s), not on a message."""
        self.chinese.warm_up()
        self.english.warm_up()

    def analyse(self, text: str, language: str | None = None) -> Sentiment:
        text = str(text or "")
        if not text.strip():
            return Sentiment.of(0.0)
        if HAN.search(text) is None:
            # Emoji or "？？？" alone are read by the cues both analysers share.
            has_latin = LATIN_RUN.search(text) is not None
            return self.english.analyse(text) if has_latin else self.chinese.analyse(text)
        chinese = self.chinese.analyse(text)
        latin = " ".join(LATIN_RUN.findall(text))
        if not latin.strip():
            return chinese
        # A few English words in a Chinese sentence ("能帮我cancel一下吗") weigh less
        # than a whole English sentence would.
        english = Sentiment.of(self.english.analyse(latin).score * 0.7)
        return english if abs(english.score) > abs(chinese.score) else chinese
