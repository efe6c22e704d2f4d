"""Text features without TensorFlow: tokens, a vocabulary and a bag of words.

Keras' ``TextVectorization`` and ``StringLookup`` need TensorFlow installed, even on the JAX
backend. A shopping guide's requests are short, so a plain bag of words does the job in NumPy:

* **tokens**: a run of Latin letters or digits is one lower-cased word (``"Headphones"`` →
  ``"headphones"``); every Chinese character (CJK) is a token of its own (``"耳机"`` → ``"耳"``,
  ``"机"``), so no word segmenter is needed; punctuation and spaces separate tokens;
* **vocabulary**: the tokens seen at least ``min_count`` times in the training texts, most
  frequent first (ties alphabetically), at most ``max_tokens`` of them;
* **bag of words**: text n becomes the row b_n ∈ {0, 1}^V with b_n,v = 1 if token v occurs in
  it. Tokens outside the vocabulary are dropped (a request made only of unknown words is the
  zero row).

The rows become numeric model inputs (``mtl_kit.frames`` appends them to the ``"numeric"``
matrix), so the model's first Dense layer learns one weight vector per token.

>>> vocabulary = TokenVocabulary.fit(["buy the lamp", "which lamp?"])
>>> vocabulary.tokens
('lamp', 'buy', 'the', 'which')
>>> vocabulary.transform(["Lamp to buy"]).tolist()
[[1.0, 1.0, 0.0, 0.0]]
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mtl_kit.data.utterances import translate
from mtl_kit.validation import check_int, check_number

#: A Latin word (letters, digits, ¥ and apostrophes inside) or one CJK character.
TOKEN = re.compile(r"[a-z0-9¥]+(?:'[a-z]+)?|[\u3400-\u4dbf\u4e00-\u9fff]")


def tokenize(text: object) -> list[str]:
    """The tokens of one text: lower-cased Latin words and single Chinese characters."""
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return []
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}: {text!r}")
    return TOKEN.findall(text.lower())


def _as_texts(texts: object, argument: str = "texts") -> pd.Series:
    if isinstance(texts, str):
        raise TypeError(f"{argument} must be a list of strings, got one string; "
                        f"wrap it: [{texts!r}]")
    if isinstance(texts, pd.Series):
        return texts.astype(object)
    if not isinstance(texts, Iterable):
        raise TypeError(f"{argument} must be a list of strings, got {type(texts).__name__}")
    return pd.Series(list(texts), dtype=object)


@dataclass(frozen=True)
class TokenVocabulary:
    """The tokens a bag of words counts, in column order (see the module docstring)."""

    tokens: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(set(self.tokens)) != len(self.tokens):
            raise ValueError("tokens must be distinct")

    @classmethod
    def fit(cls, texts: Sequence[str], min_count: int = 1,
            max_tokens: int | None = None) -> TokenVocabulary:
        """The tokens occurring ``min_count`` times or more in ``texts``, most frequent first."""
        check_int("min_count", min_count, minimum=1)
        if max_tokens is not None:
            check_int("max_tokens", max_tokens, minimum=1)
        series = _as_texts(texts)
        counts: Counter[str] = Counter()
        for text, times in series.value_counts(dropna=True).items():  # each text once
            for token in tokenize(text):
                counts[token] += int(times)
        kept = sorted((t for t, c in counts.items() if c >= min_count),
                      key=lambda t: (-counts[t], t))
        if not kept:
            raise ValueError(f"texts hold no token seen at least min_count={min_count} times")
        return cls(tuple(kept[:max_tokens]))

    def __len__(self) -> int:
        return len(self.tokens)

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        """The bag of words, float32 (n, V): 1 where token v occurs in text n, else 0."""
        series = _as_texts(texts)
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        column = {token: v for v, token in enumerate(self.tokens)}
        table = np.zeros((len(uniques) + 1, len(self.tokens)), dtype="float32")  # last: NaN
        for u, text in enumerate(uniques):
            for token in tokenize(text):
                v = column.get(token)
                if v is not None:
                    table[u, v] = 1.0
        return table[np.where(codes < 0, len(uniques), codes)]

    def unknown(self, text: str) -> list[str]:
        """The tokens of ``text`` that the vocabulary does not know (they are ignored)."""
        known = set(self.tokens)
        return [t for t in tokenize(text) if t not in known]

    def to_dict(self) -> dict:
        return {"tokens": list(self.tokens)}

    @classmethod
    def from_dict(cls, config: dict) -> TokenVocabulary:
        return cls(tuple(config["tokens"]))


def bilingual(utterances: Sequence[str], groups: Sequence[int], share_chinese: float = 0.5,
              seed: int = 0) -> pd.Series:
    """The shop's English utterances with a share of the groups (e.g. sessions) in Chinese.

    Each group is translated (``mtl_kit.data.translate``) with probability ``share_chinese``,
    drawn once per group from ``seed``, so a model trained on the result reads both languages.
    """
    share_chinese = check_number("share_chinese", share_chinese, 0.0, 1.0)
    check_int("seed", seed, minimum=0)
    texts = _as_texts(utterances, "utterances").reset_index(drop=True)
    groups = np.asarray(groups)
    if groups.shape != (len(texts),):
        raise ValueError(f"groups must have one entry per utterance ({len(texts)}), "
                         f"got shape {groups.shape}")
    codes, uniques = pd.factorize(groups)
    chinese = np.random.default_rng(seed).random(len(uniques)) < share_chinese
    pick = chinese[codes]
    result = texts.copy()
    result[pick] = translate(texts[pick].tolist(), "zh").to_numpy()
    return result


__all__ = ["TOKEN", "TokenVocabulary", "bilingual", "tokenize"]
