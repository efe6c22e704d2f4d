"""A small shopping-guide assistant (导购助手): one shared model, three answers.

The customer types a request (English or 中文). Every item of the catalogue becomes a candidate
row: the customer's profile and context, the item's attributes, and the request as text. One
multi-task model scores all rows at once, and its heads answer together:

* **intent**: the mean over the candidates of the intent head's class probabilities
  (the request, not the item, decides it);
* **items**: the top k candidates by the purchase head's probability when the customer wants
  to buy, by the click head's otherwise (browsing is about what catches the eye); when the
  request names a category (a *slot*, matched by ``category_words``), only that category's
  items are candidates;
* **reply**: a template for the intent, in the request's language, naming the items.

The model is any ``MultiTaskNet`` with binary ``click`` and ``purchase`` tasks and a multiclass
``intent`` task, trained on frames encoded by a ``mtl_kit.frames.FrameEncoder`` with a text
column; the same encoder turns the candidate rows into inputs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mtl_kit.data.features import CATEGORIES
from mtl_kit.data.utterances import CATEGORY_WORDS
from mtl_kit.frames import FrameEncoder
from mtl_kit.recommend import top_k
from mtl_kit.validation import check_int

#: Replies per intent and language; {items} is the list of recommended items.
REPLIES = {
    "en": {"browse": "Here is what is popular right now: {items}.",
           "purchase": "Ready to buy? These fit your request best: {items}.",
           "consult": "Happy to help you choose. Compare these first: {items}."},
    "zh": {"browse": "现在比较受欢迎的有：{items}。",
           "purchase": "想下单的话，这几款最符合你的需求：{items}。",
           "consult": "我来帮你挑选，可以先比较这几款：{items}。"},
}
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")


def language_of(text: str) -> str:
    """"zh" if the text has a Chinese character, else "en"."""
    return "zh" if CJK.search(text) else "en"


@dataclass
class Answer:
    """What the assistant returns for one request."""

    request: str
    intent: str
    intent_probabilities: dict[str, float]
    items: pd.DataFrame
    reply: str

    def __str__(self) -> str:
        shares = ", ".join(f"{k} {v:.2f}" for k, v in self.intent_probabilities.items())
        return f"{self.request!r}\n  intent: {self.intent} ({shares})\n  {self.reply}"


@dataclass
class ShoppingGuide:
    """The assistant (see the module docstring).

    Args:
        model: the trained multi-task model (click, purchase, intent heads).
        encoder: the ``FrameEncoder`` its training frames were encoded with.
        items: the catalogue, one row per item with the item columns the encoder needs.
        customer: the customer's profile and context: ``{column: value}`` for every other input
            column except the text column (e.g. age band, channel "chat", hour, position 1).
        text_column: the encoder's text column the request goes into.
        intent_task: the name of the multiclass intent task.
        category_words: ``{category: [words that name it]}`` (default: the shop's words in
            English and Chinese, :func:`shop_category_words`); ``{}`` turns the slot off.
    """

    model: object
    encoder: FrameEncoder
    items: pd.DataFrame
    customer: Mapping[str, object]
    text_column: str = "utterance"
    intent_task: str = "intent"
    category_words: Mapping[str, Sequence[str]] | None = None

    def __post_init__(self) -> None:
        if self.category_words is None:
            self.category_words = shop_category_words()
        if self.text_column not in self.encoder.text:
            raise ValueError(f"text_column must be a text column of the encoder "
                             f"{list(self.encoder.text)}, got {self.text_column!r}")
        needed = [*self.encoder.categorical, *self.encoder.numeric]
        missing = [c for c in needed if c not in self.items.columns and c not in self.customer]
        if missing:
            raise ValueError(f"items or customer must give the input column(s) {missing}")
        names = set(getattr(self.model, "task_names", []))
        wanted = {"click", "purchase", self.intent_task}
        if not wanted <= names:
            raise ValueError(f"model must have the tasks {sorted(wanted)}, has {sorted(names)}")

    def category_in(self, request: str) -> str | None:
        """The category the request names (the first that matches), or None."""
        text = request.lower()
        for category, words in self.category_words.items():
            if any(word.lower() in text for word in words):
                return category
        return None

    def catalogue(self, request: str) -> pd.DataFrame:
        """The candidate items: the named category's, or all when none is named."""
        items = self.items.reset_index(drop=True)
        category = self.category_in(request)
        if category is None or "category" not in items.columns:
            return items
        chosen = items[items["category"].astype(str) == category]
        return (chosen if len(chosen) else items).reset_index(drop=True)

    def candidates(self, request: str) -> pd.DataFrame:
        """One row per candidate item: its columns, the customer's values and the request."""
        frame = self.catalogue(request).copy()
        for column, value in self.customer.items():
            frame[column] = value
        frame[self.text_column] = request
        return frame

    def answer(self, request: str, k: int = 3) -> Answer:
        """The intent, the top ``k`` items with their scores, and the reply."""
        if not isinstance(request, str) or not request.strip():
            raise ValueError(f"request must be a non-empty string, got {request!r}")
        check_int("k", k, minimum=1)
        frame = self.candidates(request)
        k = min(k, len(frame))
        predictions = self.model.predict_tasks(self.encoder.inputs(frame))
        classes = self.encoder.class_names(self.intent_task)
        shares = np.asarray(predictions[self.intent_task]).mean(axis=0)
        intent = classes[int(np.argmax(shares))]
        head = "purchase" if intent == "purchase" else "click"
        scores = np.asarray(predictions[head]).reshape(-1)
        best = top_k(scores, k)
        items = self.catalogue(request).iloc[best].copy()
        items.insert(0, "rank", np.arange(1, len(best) + 1))
        items[f"p_{head}"] = scores[best]
        language = language_of(request)
        named = ", ".join(_item_name(row, language) for row in items.itertuples())
        reply = REPLIES[language].get(intent, REPLIES[language]["browse"]).format(items=named)
        return Answer(request, intent, {c: float(s) for c, s in zip(classes, shares,
                                                                        strict=True)},
                      items.reset_index(drop=True), reply)


def shop_category_words() -> dict[str, list[str]]:
    """How the shop's requests name each category: its name and typical item, in English and
    Chinese (``mtl_kit.data.utterances.CATEGORY_WORDS``)."""
    words: dict[str, list[str]] = {c: [c] for c in CATEGORIES}
    for language in CATEGORY_WORDS:
        for category, (name, item) in zip(CATEGORIES, CATEGORY_WORDS[language], strict=True):
            words[category] += [name, item]
    return words


def _item_name(row, language: str) -> str:
    item, category = getattr(row, "item_id", "?"), getattr(row, "category", "")
    if language == "zh":
        return f"{category}商品 #{item}"
    return f"{category} item #{item}"


__all__ = ["REPLIES", "Answer", "ShoppingGuide", "language_of", "shop_category_words"]
