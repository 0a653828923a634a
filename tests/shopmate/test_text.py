from shopmate.text import tokenize


def test_chinese_is_segmented_into_words() -> None:
    tokens = tokenize("七天无理由退货怎么办理")
    assert "退货" in tokens
    assert "理由" in tokens


def test_english_is_lowercased_stemmed_and_stopwords_dropped() -> None:
    assert tokenize("How long do Refunds take?") == ["long", "refund", "take"]


def test_mixed_text_keeps_both_scripts() -> None:
    tokens = tokenize("请问invoice怎么开")
    assert "invoice" in tokens
    assert "开" in tokens


def test_punctuation_and_spaces_are_not_terms() -> None:
    assert tokenize("？！ ... ，。") == []
