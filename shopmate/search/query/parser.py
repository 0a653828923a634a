"""QueryParser: the spaCy pipelines, matching, overlaps, negation, and the process-wide parser."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.matcher import Matcher, PhraseMatcher
    from spacy.tokens import Doc, Span, Token
from shopmate.search.query.cues import (
    _COLOR_MODIFIERS,
    _CONJUNCTIONS,
    _FILLER,
    _NEGATIONS,
    _NOT_A_NOUN_BEFORE,
    _SHOE_SIZE_RANGE,
    _SIZE_CODES,
    _SIZE_WORDS,
    _size_patterns,
    find_cues,
)
from shopmate.search.query.labels import (
    _HAN,
    _KEY_SEP,
    _LABEL_PRIORITY,
    _WORD,
    BRAND,
    CATEGORY,
    CHEAPER,
    COLOR,
    IN_STOCK,
    MATERIAL,
    OTHER_COLOR,
    PRICE,
    PRICIER,
    SIZE,
    STYLE,
    _lower_same_length,
    normalise,
)
from shopmate.search.query.prices import _PriceHit, find_prices
from shopmate.search.query.result import ParsedQuery
from shopmate.search.query.segmentation import _Segmenter, _SegmentingTokenizer
from shopmate.search.query.vocabulary import QueryVocabulary

# ---------------------------------------------------------------------------- parser


@dataclass
class _Pipeline:
    nlp: Language
    phrases: PhraseMatcher
    exact: PhraseMatcher
    sizes: Matcher
    chinese: bool


@dataclass(frozen=True)
class _Entity:
    start: int  # token indices
    end: int
    label: str
    values: tuple[str, ...]  # one value, or the sizes of a size range ("38-40码")
    category: str | None
    chars: int


@dataclass(frozen=True)
class _Analysis:
    doc: Doc
    chinese: bool
    entities: list[_Entity]
    negated: list[_Entity]
    prices: list[_PriceHit]
    cues: list[tuple[int, int, str]]


class QueryParser:
    """Parses shopper messages against a vocabulary; spaCy is loaded on first use."""

    def __init__(self, vocabulary: QueryVocabulary) -> None:
        self.vocabulary = vocabulary
        self._sizes = {size.upper() for size in vocabulary.sizes if size.isalnum()}
        self._pipelines: dict[str, _Pipeline] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_catalog_vocabulary(cls) -> QueryParser:
        return cls(QueryVocabulary.from_catalog())

    # -- building

    def _pipeline(self, name: str) -> _Pipeline:
        pipeline = self._pipelines.get(name)
        if pipeline is None:
            with self._lock:
                if not self._pipelines:
                    self._pipelines = self._build()
                pipeline = self._pipelines[name]
        return pipeline

    def warm_up(self) -> None:
        """Build both pipelines now (2-3 s with the imports) rather than on the first
        message."""
        self._pipeline("zh")

    def _build(self) -> dict[str, _Pipeline]:
        import spacy

        han_terms = [t.text for t in self.vocabulary.terms if _HAN.search(t.text)]
        zh = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
        zh.tokenizer = _SegmentingTokenizer(zh.vocab, _Segmenter(han_terms))
        en = spacy.blank("en")
        return {"zh": self._matchers(zh, chinese=True), "en": self._matchers(en, chinese=False)}

    def _matchers(self, nlp: Language, *, chinese: bool) -> _Pipeline:
        from spacy.matcher import Matcher, PhraseMatcher

        phrases = PhraseMatcher(nlp.vocab, attr="LOWER")
        exact = PhraseMatcher(nlp.vocab, attr="ORTH")
        lower: dict[str, list[Doc]] = {}
        orth: dict[str, list[Doc]] = {}
        for term in self.vocabulary.terms:
            if not chinese and _HAN.search(term.text):
                continue
            key = _KEY_SEP.join((term.label, term.value, term.category or ""))
            if term.exact_case:
                for spelling in dict.fromkeys((term.text, term.text.upper())):
                    orth.setdefault(key, []).append(nlp.make_doc(spelling))
            else:
                lower.setdefault(key, []).append(nlp.make_doc(term.text))
        for key, docs in lower.items():
            phrases.add(key, docs)
        for key, docs in orth.items():
            exact.add(key, docs)
        sizes = Matcher(nlp.vocab)
        for key, patterns in _size_patterns().items():
            sizes.add(key, patterns)
        return _Pipeline(nlp, phrases, exact, sizes, chinese)

    # -- parsing

    def pipeline_for(self, text: str, language: str | None = None) -> str:
        """ "zh" or "en": Han text always needs the Chinese segmenter."""
        if _HAN.search(text):
            return "zh"
        lang = (language or "").lower().replace("_", "-")
        return "zh" if lang.startswith("zh") else "en"

    def annotate(self, text: str, language: str | None = None) -> Doc:
        """The spaCy Doc of the normalised text, with the recognised entities set
        (labels CATEGORY, COLOR, SIZE, BRAND, MATERIAL, STYLE, PRICE and the cues;
        `kb_id_` holds the value) and `doc.spans["negated"]`; for debugging."""
        return self._analyse(text, language).doc

    def parse(self, text: str, language: str | None = None) -> ParsedQuery:
        found = self._analyse(text, language)
        return self._parsed(found)

    def variant_choice(
        self, text: str, language: str | None = None
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The colours and sizes a shopper names while choosing among shown variants or
        items ("换成 L 码的红色", "the red one in M", a bare "M"). The same reading as a
        search, except that a capital S/M/L anywhere is a size: with variants on screen
        "M red" means size M, where in a search it might be a word."""
        found = self._analyse(text, language, letters_are_sizes=True)
        parsed = self._parsed(found)
        return parsed.colors, parsed.sizes

    def _parsed(self, found: _Analysis) -> ParsedQuery:
        entities, prices, cues = found.entities, found.prices, found.cues

        def values(label: str) -> tuple[str, ...]:
            return tuple(dict.fromkeys(v for e in entities if e.label == label for v in e.values))

        categories = [
            e.category if e.label == STYLE else e.values[0]
            for e in entities
            if e.label in (CATEGORY, STYLE)
        ]
        categories = [c for c in categories if c]
        category = (categories[-1] if found.chinese else categories[0]) if categories else None

        low: int | None = None
        high: int | None = None
        for hit in prices:
            if hit.low is not None:
                low = hit.low if low is None else max(low, hit.low)
            if hit.high is not None:
                high = hit.high if high is None else min(high, hit.high)
        if low is not None and high is not None and low > high:
            low, high = high, low

        price_cues = [label for _, _, label in cues if label in (CHEAPER, PRICIER)]
        last_price_cue = price_cues[-1] if price_cues else None
        cue_labels = {label for _, _, label in cues}

        return ParsedQuery(
            category=category,
            colors=values(COLOR),
            sizes=values(SIZE),
            brands=values(BRAND),
            materials=values(MATERIAL),
            styles=values(STYLE),
            price_min_cents=low,
            price_max_cents=high,
            cheaper=last_price_cue == CHEAPER,
            pricier=last_price_cue == PRICIER,
            other_color=OTHER_COLOR in cue_labels,
            in_stock_only=IN_STOCK in cue_labels,
            terms=self._terms(found),
        )

    def _analyse(
        self, text: str, language: str | None, *, letters_are_sizes: bool = False
    ) -> _Analysis:
        from spacy.util import filter_spans

        norm = normalise(text)
        pipeline = self._pipeline(self.pipeline_for(norm, language))
        doc = pipeline.nlp.make_doc(norm)
        lowered = _lower_same_length(norm)
        prices = find_prices(lowered)
        cues = find_cues(lowered)

        blocked: set[int] = set()  # tokens inside price or cue phrases
        special: list[Span] = []
        for start, end, label in [(h.start, h.end, PRICE) for h in prices] + cues:
            span = doc.char_span(start, end, label=label, alignment_mode="expand")
            if span is not None:
                blocked.update(range(span.start, span.end))
                special.append(span)

        candidates = [
            e
            for e in self._candidates(doc, pipeline, letters_are_sizes)
            if not blocked.intersection(range(e.start, e.end))
        ]
        chosen: list[_Entity] = []
        used: set[int] = set()
        for cand in sorted(
            candidates, key=lambda e: (-e.chars, e.start, _LABEL_PRIORITY.get(e.label, 9))
        ):
            if used.isdisjoint(range(cand.start, cand.end)):
                chosen.append(cand)
                used.update(range(cand.start, cand.end))
        chosen.sort(key=lambda e: e.start)

        by_token = {i: e for e in chosen for i in range(e.start, e.end)}
        negated: list[_Entity] = []
        for entity in chosen:  # in text order: "不要红色和黑色" negates both
            if _negated(doc, entity, by_token, blocked, negated):
                negated.append(entity)
        entities = [e for e in chosen if e not in negated]

        spans = [_span(doc, e) for e in entities] + special
        doc.ents = filter_spans(spans)
        doc.spans["negated"] = [_span(doc, e) for e in negated]
        return _Analysis(doc, pipeline.chinese, entities, negated, prices, cues)

    def _candidates(
        self, doc: Doc, pipeline: _Pipeline, letters_are_sizes: bool = False
    ) -> Iterator[_Entity]:
        strings = doc.vocab.strings
        for matcher in (pipeline.phrases, pipeline.exact):
            for match_id, start, end in matcher(doc):
                label, value, category = strings[match_id].split(_KEY_SEP)
                if label == CATEGORY and not self._is_noun(doc, start, end):
                    continue
                chars = doc[end - 1].idx + len(doc[end - 1]) - doc[start].idx
                yield _Entity(start, end, label, (value,), category or None, chars)
        for match_id, start, end in pipeline.sizes(doc):
            kind = strings[match_id]
            if (
                kind == "SIZE_LETTER"
                and not letters_are_sizes
                and not _letter_is_size(doc, start, pipeline.chinese)
            ):
                continue
            if kind == "SIZE_RANGE":
                sizes = self._size_range(doc[start:end])
            else:
                size = self._size_value(doc[start:end])
                sizes = (size,) if size is not None else ()
            if sizes:
                chars = doc[end - 1].idx + len(doc[end - 1]) - doc[start].idx
                yield _Entity(start, end, SIZE, sizes, None, chars)

    @staticmethod
    def _is_noun(doc: Doc, start: int, end: int) -> bool:
        """ "top" in "top-rated dresses" or "top quality" is no category."""
        if end >= len(doc) or not doc[start:end].text.isascii():
            return True
        after = doc[end]
        if after.text == "-" and not doc[end - 1].whitespace_:
            return False
        return after.lower_ not in _NOT_A_NOUN_BEFORE

    def _size_range(self, span: Span) -> tuple[str, ...]:
        """ "38-40码" -> the sizes the store sells from 38 to 40 (or the two ends)."""
        low, high = sorted(int(t.text) for t in span if re.fullmatch(r"\d{2}", t.text))
        if low not in _SHOE_SIZE_RANGE or high not in _SHOE_SIZE_RANGE:
            return ()
        sold = tuple(str(n) for n in range(low, high + 1) if str(n) in self._sizes)
        return sold or tuple(dict.fromkeys((str(low), str(high))))

    def _size_value(self, span: Span) -> str | None:
        text = span.text.lower()
        if "large" in text and ("extra" in text or "x" in [t.lower_ for t in span]):
            return "XL"
        for token in reversed(span):
            low = token.lower_
            if low in _SIZE_WORDS:
                return _SIZE_WORDS[low]
            if low in _SIZE_CODES:
                code = _SIZE_CODES[low]
                return code if code in self._sizes or not self._sizes else None
            if re.fullmatch(r"\d{2}", low):
                number = int(low)
                by_hao = any(t.text == "号" for t in span)
                if str(number) in self._sizes or (not by_hao and number in _SHOE_SIZE_RANGE):
                    return str(number)
                return None
        return None

    @staticmethod
    def _terms(found: _Analysis) -> str:
        doc = found.doc
        drop: set[int] = set()
        for e in [*found.negated, *(e for e in found.entities if e.label not in (CATEGORY, STYLE))]:
            drop.update(range(e.start, e.end))
        spans = [(h.start, h.end) for h in found.prices] + [(s, e) for s, e, _ in found.cues]
        for start, end in spans:
            span = doc.char_span(start, end, alignment_mode="expand")
            if span is not None:
                drop.update(range(span.start, span.end))
        colour_starts = {e.start for e in found.entities if e.label == COLOR}
        for token in doc:  # "深" of "深蓝色", "dark" of "dark blue"
            after = token.i + 1 + int(token.i + 1 < len(doc) and doc[token.i + 1].is_space)
            if token.lower_ in _COLOR_MODIFIERS and after in colour_starts:
                drop.add(token.i)
        nouns = {
            i for e in found.entities if e.label in (CATEGORY, STYLE) for i in range(e.start, e.end)
        }
        keep = [
            not token.is_space
            and (
                token.i in nouns  # all of "A-line dress"
                or (
                    token.i not in drop
                    and bool(_WORD.search(token.text))
                    and token.lower_ not in _FILLER
                )
            )
            for token in doc
        ]
        for token in doc:  # the hyphen inside "T-shirt" or "A-line"
            i = token.i
            if (
                token.text in {"-", "'"}
                and 0 < i < len(doc) - 1
                and keep[i - 1]
                and keep[i + 1]
                and not doc[i - 1].whitespace_
                and not token.whitespace_
            ):
                keep[i] = True
        out = ""
        prev: Token | None = None
        for token in doc:
            if not keep[token.i]:
                continue
            if prev is not None and (
                (prev.i + 1 == token.i and prev.whitespace_)
                or (
                    prev.i + 1 != token.i
                    and prev.text[-1].isascii()
                    and prev.text[-1].isalnum()
                    and token.text[0].isascii()
                )
            ):
                out += " "
            out += token.text
            prev = token
        return out


def _span(doc: Doc, entity: _Entity) -> Span:
    from spacy.tokens import Span

    return Span(doc, entity.start, entity.end, label=entity.label, kb_id=",".join(entity.values))


def _letter_is_size(doc: Doc, i: int, chinese: bool) -> bool:
    """A bare S/M/L is a size only as the whole message or next to Chinese ("要M的")."""
    words = [t for t in doc if not t.is_space and not t.is_punct]
    if len(words) == 1 and words[0].i == i:
        return True
    if not chinese:
        return False
    near = [doc[j] for j in (i - 1, i + 1) if 0 <= j < len(doc)]
    return any(_HAN.search(t.text) for t in near)


def _negated(
    doc: Doc,
    entity: _Entity,
    by_token: dict[int, _Entity],
    blocked: set[int],
    negated: list[_Entity],
) -> bool:
    """A negation within the three words before the entity ("不要红色", "not red"), or
    a negated entity of the same kind joined to it by a conjunction ("不要红色和黑色")."""
    only_conjunctions = True
    steps = 0
    j = entity.start - 1
    while j >= 0 and steps < 3:
        token = doc[j]
        other = by_token.get(j)
        if other is not None:
            return only_conjunctions and other.label == entity.label and other in negated
        if j in blocked:
            return False
        if token.lower_ in _NEGATIONS:
            return True
        if token.lower_ not in _CONJUNCTIONS:
            if token.is_punct:
                return False
            only_conjunctions = False
        if not token.is_space:
            steps += 1
        j -= 1
    return False


_default: QueryParser | None = None
_default_lock = threading.Lock()


def default_query_parser() -> QueryParser:
    """One parser over the catalog vocabulary for the whole process."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = QueryParser.from_catalog_vocabulary()
    return _default
