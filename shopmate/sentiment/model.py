"""The result of reading a message's sentiment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Label = Literal["negative", "neutral", "positive"]
LABELS: tuple[Label, ...] = ("negative", "neutral", "positive")
# |score| at or above this is a label other than neutral (scores lie in [-1, 1]).
POLAR_THRESHOLD = 0.25


@dataclass(frozen=True)
class Sentiment:
    """``score`` in [-1, 1]: -1 furious, 0 flat, 1 delighted; ``label`` follows it."""

    label: Label
    score: float

    @classmethod
    def of(cls, score: float) -> Sentiment:
        score = max(-1.0, min(1.0, score))
        return cls(label_for(score), round(score, 3))

    @property
    def strongly_negative(self) -> bool:
        return self.score <= -0.6


def label_for(score: float, threshold: float = POLAR_THRESHOLD) -> Label:
    if score >= threshold:
        return "positive"
    if score <= -threshold:
        return "negative"
    return "neutral"
