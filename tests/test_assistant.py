"""The shopping-guide assistant: intent, slot, top items and reply, with a stand-in model."""

import numpy as np
import pandas as pd
import pytest

from mtl_kit.assistant import ShoppingGuide, language_of, shop_category_words
from mtl_kit.frames import encode_frame


class StandInModel:
    """Reads 'buy' in the request as purchase intent and prefers cheap items."""

    task_names = ("click", "purchase", "intent")

    def __init__(self, encoder):
        self.buy = encoder.numeric_names.index("utterance:buy")

    def predict_tasks(self, x):
        numeric = x["numeric"]
        wants = numeric[:, self.buy] > 0
        score = 1.0 / (2.0 + numeric[:, 0])               # standardised price: cheap first
        intent = np.where(wants[:, None], [0.1, 0.1, 0.8], [0.8, 0.1, 0.1])
        return {"click": score, "purchase": score, "intent": intent}


@pytest.fixture
def guide():
    rows = pd.DataFrame({"category": ["books", "toys", "books", "toys"] * 3,
                         "price": [10.0, 20.0, 30.0, 40.0] * 3,
                         "channel": ["chat"] * 12,
                         "utterance": ["buy novels", "just browsing toys", "我想买小说",
                                       "let me see"] * 3,
                         "click": [1, 0] * 6, "purchase": [0, 1] * 6,
                         "intent": ["browse", "consult", "purchase"] * 4})
    _, _, encoder = encode_frame(rows, categorical=["category", "channel"], numeric=["price"],
                                 text=["utterance"],
                                 labels={"click": "binary", "purchase": "binary",
                                         "intent": "multiclass"})
    items = pd.DataFrame({"item_id": [0, 1, 2, 3], "category": ["books", "toys", "books", "toys"],
                          "price": [30.0, 10.0, 10.0, 40.0]})
    return ShoppingGuide(StandInModel(encoder), encoder, items, {"channel": "chat"})


def test_answer_gives_intent_slot_items_and_reply(guide):
    answer = guide.answer("I want to buy novels", k=2)
    assert answer.intent == "purchase"
    assert answer.items["category"].tolist() == ["books", "books"]   # the slot: books only
    assert answer.items["item_id"].tolist() == [2, 0]                # cheapest first
    assert "p_purchase" in answer.items and answer.reply.startswith("Ready to buy?")
    browse = guide.answer("show me something", k=3)
    assert browse.intent == "browse" and "p_click" in browse.items
    assert browse.items["item_id"].tolist() == [1, 2, 0]             # every category
    chinese = guide.answer("给我看看积木", k=1)                     # toys, in Chinese
    assert chinese.reply.startswith("现在") and chinese.items["category"].tolist() == ["toys"]


def test_language_and_category_words():
    assert language_of("买耳机") == "zh" and language_of("buy") == "en"
    assert "面霜" in shop_category_words()["beauty"]


def test_bad_requests_and_setups_are_refused(guide):
    with pytest.raises(ValueError, match="request must be"):
        guide.answer("  ")
    with pytest.raises(ValueError, match="k must be"):
        guide.answer("buy", k=0)
    with pytest.raises(ValueError, match="text_column"):
        ShoppingGuide(guide.model, guide.encoder, guide.items, guide.customer,
                      text_column="nope")
    with pytest.raises(ValueError, match=r"input column\(s\) \['channel'\]"):
        ShoppingGuide(guide.model, guide.encoder, guide.items, {})
