"""Query understanding for product search: what a shopper's message asks for.

`QueryParser.parse("有没有300以内的红色连衣裙, XL码")` gives a `ParsedQuery` with the
catalog codes to filter on (category "dresses", colour "red", size "XL", at most
30000 cents) and the free text left for BM25 / dense retrieval (`terms`: "连衣裙").

How it works
------------
* Two blank spaCy pipelines, built lazily on the first parse (no model download, no
  model at import): `zh` (jieba segmenter) for any text with Han characters, mixed
  zh/en included, and `en` for the rest. `language` is a hint: "en" text that holds
  Han characters still goes through `zh`, since the English tokenizer cannot segment
  Chinese.
* Vocabulary words (categories, synonyms, styles, brands, materials, colours, from
  `shopmate/db/vocabulary.py`) are matched as phrases (spaCy `PhraseMatcher`
  on LOWER; brands written in Latin letters on ORTH, because "Glow", "Nest" or
  "Stride" are ordinary English words in lower case; an unrecognised word still
  reaches BM25 through `terms`). Sizes use token patterns (`Matcher`); prices and the
  "cheaper / pricier / other colour / in stock" cues are regular expressions over the
  normalised text (NFKC, so full-width "３００" and "￥" work), because jieba splits
  numbers and phrases like "3百以内" unpredictably.
* Overlaps: the longest match wins ("口红" is the style lipstick, not the colour red;
  "碎花连衣裙" beats "连衣裙"); for the same words a style beats a category, then
  brand, material, colour, size ("jeans" is the style 牛仔裤 of trousers).
* Segmentation is made to agree with the vocabulary: a private `jieba.Tokenizer` (the
  global one is shared with BM25 indexing, whose tokens must not change) knows every
  vocabulary word, runs without the HMM (which glues unknown runs such as "买红"),
  splits dictionary words made only of vocabulary words and a few glue characters
  ("黑白" -> 黑 + 白, "红裙" -> 红 + 裙, "深蓝色" -> 深 + 蓝 + 色) and merges pieces that
  form a vocabulary word. Words that merely contain a colour ("网红", "白领", "粉丝",
  "蓝牙耳机") stay whole and are not colours.
* Sizes need context: "XL", "xl码", "L号", "M码的", "42码", "size 42", "size M",
  "in medium". A bare S/M/L counts only next to Chinese ("要M的") or as the whole
  message, so "I'm looking for" gives no size M. Numbers are shoe sizes only with
  码/号/size context (30-50 with 码 or size; with 号 only sizes the catalog sells).
* Prices are cents of the store currency: yuan x 100. The store prices in CNY only,
  so "$100" and "100 dollars" are read as 100 units of that currency (10000 cents),
  not converted. "300块左右" / "around 300" is +/-20 %. Bounds from several phrases
  are intersected.
* A negation right before an attribute ("不要红色", "not red", "without Lumi") drops
  that attribute from the filters (and from `terms`); it is not turned into an
  exclusion filter.
* `category`: several categories in one message ("连衣裙配什么包") are resolved by
  word order: the last one in Chinese (modifiers come first: "配裙子的包" is a bag),
  the first one in English ("shoes to go with my dress"). A style implies its
  category.
* `terms` keeps category and style words (the noun of the query, useful to BM25 and
  to embeddings, e.g. "我想买一件红色的连衣裙" -> "连衣裙") and every word not
  recognised ("夏天", "wedding"); it drops recognised colours, sizes, brands,
  materials, price and cue phrases, negations and filler ("我想买一件", "的",
  "looking for", "推荐").

The package, by concern: `labels` (entity labels, normalisation), `result`
(ParsedQuery), `vocabulary`, `segmentation` (jieba made to agree with the vocabulary),
`prices` (numbers and price phrases), `cues` (cue phrases, size patterns, filler) and
`parser` (QueryParser).
"""

from shopmate.search.query.cues import find_cues
from shopmate.search.query.labels import normalise
from shopmate.search.query.parser import QueryParser, default_query_parser
from shopmate.search.query.prices import find_prices, parse_number
from shopmate.search.query.result import ParsedQuery
from shopmate.search.query.vocabulary import QueryVocabulary, VocabularyTerm

__all__ = [
    "ParsedQuery",
    "QueryParser",
    "QueryVocabulary",
    "VocabularyTerm",
    "default_query_parser",
    "find_cues",
    "find_prices",
    "normalise",
    "parse_number",
]
