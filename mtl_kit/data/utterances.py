"""Shopping-guide utterances: one short message per session, from its intent and category.

Every session gets a template index, a category and a budget, and the utterance is looked up
in a precomputed table of all their combinations, so a million impressions need no Python loop::

    code      = ((template_intent · T + template) · C + category) · B + budget
    utterance = TABLE[code]

``template_intent`` is the session's intent, except that with probability
:data:`AMBIGUITY` (10 %) it is a uniformly drawn intent: real users do not always say what they
mean, so the text is a strong but imperfect clue. English is the default; every template has a
Chinese twin (``language="zh"``) and :func:`translate` maps English utterances to Chinese.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mtl_kit.data.features import CATEGORIES, INTENTS

AMBIGUITY = 0.1
LANGUAGES = ("en", "zh")

TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "browse": (
            "just browsing {cat}",
            "show me what's new in {cat}",
            "any popular {item} this week?",
            "I'm looking around for {item} ideas",
            "what's trending in {cat}?",
            "let me see some {item}",
        ),
        "purchase": (
            "I want to buy {item} {budget}",
            "add the best-rated {item} to my cart",
            "order {item} {budget}, please",
            "how do I check out the {item}?",
            "buy the {item} I saw earlier",
            "I need {item} delivered by tomorrow",
        ),
        "consult": (
            "which {item} is better for me?",
            "can you compare these {item}?",
            "is this {item} worth the price?",
            "what should I look for in {item}?",
            "do these {item} come with a warranty?",
            "help me choose between two {item}",
        ),
    },
    "zh": {
        "browse": (
            "随便看看{cat}",
            "{cat}有什么新品？",
            "这周有什么热门的{item}？",
            "想找点{item}的灵感",
            "{cat}最近流行什么？",
            "给我看看{item}",
        ),
        "purchase": (
            "我想买{budget}的{item}",
            "把评分最高的{item}加入购物车",
            "请帮我下单{budget}的{item}",
            "{item}怎么结算？",
            "买我刚才看的那个{item}",
            "我需要明天送到的{item}",
        ),
        "consult": (
            "哪款{item}更适合我？",
            "能帮我比较一下这些{item}吗？",
            "这个{item}值这个价吗？",
            "买{item}要注意什么？",
            "这些{item}有保修吗？",
            "帮我在两款{item}之间选一个",
        ),
    },
}

# Per category (same order as CATEGORIES): how the category and a typical item are named.
CATEGORY_WORDS: dict[str, tuple[tuple[str, str], ...]] = {
    "en": (
        ("electronics", "headphones"),
        ("fashion", "sneakers"),
        ("beauty products", "face cream"),
        ("home goods", "table lamps"),
        ("sports gear", "yoga mats"),
        ("books", "novels"),
        ("toys", "building blocks"),
        ("groceries", "coffee beans"),
        ("health products", "vitamins"),
        ("car accessories", "dash cams"),
    ),
    "zh": (
        ("数码", "耳机"),
        ("服饰", "运动鞋"),
        ("美妆", "面霜"),
        ("家居", "台灯"),
        ("运动", "瑜伽垫"),
        ("图书", "小说"),
        ("玩具", "积木"),
        ("食品", "咖啡豆"),
        ("健康", "维生素"),
        ("汽车用品", "行车记录仪"),
    ),
}
BUDGETS: dict[str, tuple[str, ...]] = {
    "en": ("under ¥100", "under ¥300", "under ¥1000", "under ¥3000"),
    "zh": ("100元以内", "300元以内", "1000元以内", "3000元以内"),
}
N_TEMPLATES = 6


def _check_language(language: object) -> str:
    if not isinstance(language, str) or language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, got {language!r}")
    return language


def utterance_table(language: str = "en") -> list[str]:
    """Every utterance, indexed by ``((intent·T + template)·C + category)·B + budget``."""
    language = _check_language(language)
    table = []
    for intent in INTENTS:
        for template in TEMPLATES[language][intent]:
            for cat, item in CATEGORY_WORDS[language]:
                for budget in BUDGETS[language]:
                    table.append(template.format(cat=cat, item=item, budget=budget))
    return table


def session_utterance_codes(
    intent: np.ndarray, category: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """One table code per session from its intent id and focal category id (vectorised)."""
    n = len(intent)
    ambiguous = rng.random(n) < AMBIGUITY
    template_intent = np.where(ambiguous, rng.integers(0, len(INTENTS), n), intent)
    template = rng.integers(0, N_TEMPLATES, n)
    budget = rng.integers(0, len(BUDGETS["en"]), n)
    n_categories, n_budgets = len(CATEGORIES), len(BUDGETS["en"])
    code = (template_intent * N_TEMPLATES + template) * n_categories + category
    return code * n_budgets + budget


def codes_to_categorical(codes: np.ndarray, language: str = "en") -> pd.Categorical:
    """Utterance codes as a pandas Categorical of strings (cheap: one copy of each text)."""
    table = np.asarray(utterance_table(language), dtype=object)
    texts, inverse = np.unique(table, return_inverse=True)
    return pd.Categorical.from_codes(inverse[codes], categories=list(texts))


def translate(utterances: pd.Series | list[str], language: str = "zh") -> pd.Series:
    """Translate generated English utterances into ``language`` (``"zh"`` or ``"en"``)."""
    language = _check_language(language)
    mapping = dict(zip(utterance_table("en"), utterance_table(language), strict=True))
    return pd.Series(utterances, dtype=object).map(mapping)
