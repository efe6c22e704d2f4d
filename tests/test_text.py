"""Text features without TensorFlow: tokens, vocabulary, bag of words, bilingual requests."""

import numpy as np
import pandas as pd
import pytest

from mtl_kit.text import TokenVocabulary, bilingual, tokenize


def test_tokenize_splits_latin_words_and_chinese_characters():
    assert tokenize("Buy Headphones, under ¥300!") == ["buy", "headphones", "under", "¥300"]
    assert tokenize("我想买耳机") == ["我", "想", "买", "耳", "机"]
    assert tokenize(None) == [] and tokenize(np.nan) == []
    with pytest.raises(TypeError, match="text must be a string"):
        tokenize(3)


def test_vocabulary_orders_by_frequency_and_ignores_unknown_tokens():
    vocabulary = TokenVocabulary.fit(["buy a lamp", "a lamp", "a"], min_count=2)
    assert vocabulary.tokens == ("a", "lamp")
    bag = vocabulary.transform(["lamp lamp", "nothing known", None])
    np.testing.assert_array_equal(bag, [[0, 1], [0, 0], [0, 0]])
    assert bag.dtype == np.float32
    assert vocabulary.unknown("a red lamp") == ["red"]
    assert TokenVocabulary.from_dict(vocabulary.to_dict()) == vocabulary


def test_vocabulary_refuses_bad_arguments():
    with pytest.raises(TypeError, match="wrap it"):
        TokenVocabulary.fit("one string")
    with pytest.raises(ValueError, match="min_count"):
        TokenVocabulary.fit(["a"], min_count=0)
    with pytest.raises(ValueError, match="no token"):
        TokenVocabulary.fit(["a"], min_count=2)


def test_bilingual_translates_whole_groups():
    texts = ["just browsing books", "just browsing books", "let me see some novels"] * 20
    groups = np.repeat(np.arange(30), 2)
    mixed = bilingual(texts, groups, share_chinese=0.5, seed=1)
    chinese = mixed.str.contains("[\u4e00-\u9fff]")
    assert 0 < chinese.mean() < 1
    assert (chinese.to_numpy().reshape(30, 2).all(axis=1)
            == chinese.to_numpy().reshape(30, 2).any(axis=1)).all()  # one language per group
    assert (bilingual(texts, groups, share_chinese=0.0) == pd.Series(texts)).all()
    with pytest.raises(ValueError, match="groups"):
        bilingual(texts, groups[:5])
