"""Chinese segmentation made to agree with the vocabulary (a private jieba tokenizer)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from spacy.tokens import Doc
    from spacy.vocab import Vocab
from shopmate.search.query.labels import _ALL_HAN

# --------------------------------------------------------------------- segmentation

# Characters that may sit between vocabulary words inside one jieba word ("红的",
# "深蓝色"); a jieba word made only of these and vocabulary words is split.
_GLUE_CHARS: Final = frozenset("的和与或跟配色款码号深浅淡亮暗")
# Common words that contain a vocabulary character but name no attribute: taught to
# the segmenter as whole words and never split ("包邮" is free shipping, not a bag).
_NOT_ATTRIBUTE_WORDS: Final = frozenset(
    """
    网红 红包 红利 红酒 红人 走红 爆红 红火 红薯 红枣 白领 白菜 白菜价 明白 白天 空白 白送 蓝牙 蓝图
    黑科技 黑五 黑名单 粉丝 粉底 灰心 包邮 包装 包括 包含 打包 面包 包容 承包 钱包 裤腰 鞋垫 鞋带
    """.split()  # noqa: SIM905 - a word list reads better as text
)
_MAX_MERGE: Final = 6


class _Segmenter:
    """jieba, told the vocabulary, without touching the global jieba dictionary."""

    def __init__(self, han_terms: Iterable[str]) -> None:
        import logging

        import jieba

        terms = set(han_terms)
        jieba.setLogLevel(logging.WARNING)
        self._jieba = jieba.Tokenizer()
        self._jieba.initialize()
        self.known: frozenset[str] = frozenset(term.lower() for term in terms)
        self._longest = max((len(term) for term in self.known), default=1)
        for term in sorted(self.known | terms | _NOT_ATTRIBUTE_WORDS):
            if len(term) > 1:
                self._jieba.add_word(term)

    def __call__(self, text: str) -> list[str]:
        pieces: list[str] = []
        for word in self._jieba.cut(text, HMM=False):
            if not word:
                continue
            split = None
            if len(word) > 1 and _ALL_HAN.match(word) and not self._is_known(word):
                split = None if word in _NOT_ATTRIBUTE_WORDS else self._decompose(word)
            pieces.extend(split or [word])
        return self._merge(pieces)

    def _is_known(self, word: str) -> bool:
        return word.lower() in self.known

    def _decompose(self, word: str) -> list[str] | None:
        """Fewest pieces covering `word`, each a vocabulary word or a glue character,
        at least one of them a vocabulary word; None when there is no such cover."""
        n = len(word)
        best: list[tuple[int, int, list[str]] | None] = [None] * (n + 1)
        best[0] = (0, 0, [])
        for end in range(1, n + 1):
            for start in range(max(0, end - self._longest), end):
                prev = best[start]
                piece = word[start:end]
                if prev is None:
                    continue
                if self._is_known(piece):
                    cand = (prev[0] + 1, prev[1] + 1, [*prev[2], piece])
                elif len(piece) == 1 and piece in _GLUE_CHARS:
                    cand = (prev[0] + 1, prev[1], [*prev[2], piece])
                else:
                    continue
                cur = best[end]
                if cur is None or (cand[0], -cand[1]) < (cur[0], -cur[1]):
                    best[end] = cand
        found = best[n]
        return found[2] if found is not None and found[1] > 0 else None

    def _merge(self, pieces: list[str]) -> list[str]:
        """Join neighbouring pieces that spell a vocabulary word ("小白" + "鞋")."""
        out: list[str] = []
        i = 0
        while i < len(pieces):
            taken = 1
            for j in range(min(len(pieces), i + _MAX_MERGE), i + 1, -1):
                group = pieces[i:j]
                if any(p.isspace() for p in group):
                    continue
                if self._is_known("".join(group)):
                    taken = j - i
                    break
            out.append("".join(pieces[i : i + taken]))
            i += taken
        return out


class _SegmentingTokenizer:
    """A spaCy tokenizer (text -> Doc) over a word segmenter; keeps whitespace."""

    def __init__(self, vocab: Vocab, segment: Callable[[str], list[str]]) -> None:
        self.vocab = vocab
        self.segment = segment

    def __call__(self, text: str) -> Doc:
        from spacy.tokens import Doc
        from spacy.util import get_words_and_spaces

        words, spaces = get_words_and_spaces([w for w in self.segment(text) if w], text)
        return Doc(self.vocab, words=words, spaces=spaces)
