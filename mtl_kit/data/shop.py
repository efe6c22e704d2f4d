"""The shop: a synthetic impression log with click, purchase, intent and dwell labels.

How one impression is generated (all vectorised; see the data card ``data/README.md``):

1. **Entities.** Users and items with observable attributes and hidden traits
   (:mod:`mtl_kit.data.entities`).
2. **Sessions.** About one session per :data:`MEAN_SESSION_LENGTH` impressions. A session has a
   user (active users have more sessions), a channel (search / feed / chat), an hour, and a
   focal category drawn from the user's tastes: ``P(c) ∝ exp(taste_u,c)``. Each impression
   shows an item of the focal category with probability :data:`FOCUS`, else any item; its
   list ``position`` is its rank in the session.
3. **Hidden scores.** ``s_k = w_kᵀ h`` with ``w_click = u_1``,
   ``w_k = p·u_1 + sqrt(1-p²)·u_k`` and ``p = task_correlation``
   (:mod:`mtl_kit.data.drivers`).
4. **Labels** (σ = the task's noise, ``E_ε`` over ``ε ~ N(0,1)``; :mod:`mtl_kit.data.labels`)::

       click_true    = E_ε σ(b_c + 1.6·s_click + channel_c - 0.35·log(position) + σ_c·ε)
       cvr_true      = E_ε σ(b_v + 1.5·s_purchase + channel_v + σ_v·ε)     P(purchase | click)
       purchase_true = click_true · cvr_true                                 P(click and purchase)
       click ~ Bernoulli(click_true),  purchase = click · Bernoulli(cvr_true)

   The intercepts ``b_c``, ``b_v`` are solved so that the mean click rate is ``click_rate``
   and the mean purchase rate ``purchase_rate``, whatever ``p`` and the seed.
   Session intent (browse / purchase / consult) is a three-class logit model on the session's
   mean hidden features, channel and price level; dwell (seconds looking at the item card) is
   log-normal: ``log dwell = μ + σ_d·ε`` with ``μ = b_d + 0.5·s_dwell + channel_d``, so
   ``dwell_true = E[dwell] = exp(μ + σ_d²/2)``.
5. **Scarcity.** ``label_fraction[task] = f`` keeps exactly ``round(f·n)`` labels, chosen at
   random from the seed, and sets the rest to NaN (intent: per session). Truth columns stay
   complete.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from mtl_kit.data._validation import TASKS, check_seed, check_task_mapping
from mtl_kit.data.drivers import hidden_features, standardised_log_price, task_weights
from mtl_kit.data.entities import ACTIVITY_SESSIONS, make_items, make_users
from mtl_kit.data.features import (
    CATEGORIES,
    CHANNELS,
    INTENTS,
    ITEM_CATEGORICALS,
    TRUTH_COLUMNS,
    USER_CATEGORICALS,
    FeatureSpec,
    frame_to_arrays,
    shop_feature_spec,
)
from mtl_kit.data.labels import (
    MAX_NOISE,
    calibration_rows,
    noisy_sigmoid,
    noisy_softmax,
    solve_class_intercepts,
    solve_intercept,
)
from mtl_kit.data.splits import split_rows_by_user
from mtl_kit.data.utterances import codes_to_categorical, session_utterance_codes
from mtl_kit.validation import check_int, check_number

# ---- the shop's fixed design (documented in data/README.md) ------------------------------------
MEAN_SESSION_LENGTH = 8
FOCUS = 0.6
CHANNEL_P = (0.45, 0.40, 0.15)
HOUR_P = np.array(
    [1, 0.6, 0.4, 0.3, 0.3, 0.4, 0.8, 1.5, 2, 2.2, 2.4, 2.6, 3, 2.6, 2.4, 2.4, 2.6, 3, 3.6, 4.5,
     5.5, 6, 4.5, 2.5]
)
HOUR_P = HOUR_P / HOUR_P.sum()
SCALE = {"click": 1.6, "purchase": 1.5, "intent": 1.3, "dwell": 0.5}
CHANNEL_EFFECT = {  # search, feed, chat
    "click": (0.4, 0.0, 0.2),
    "purchase": (0.2, -0.2, 0.3),
    "dwell": (-0.1, 0.0, 0.3),
}
POSITION_EFFECT = -0.35
INTENT_TARGETS = np.array([0.5, 0.3, 0.2])  # browse, purchase, consult
DWELL_BASE_SECONDS = 8.0
INTENT_CALIBRATION_SESSIONS = 5000

DEFAULT_NOISE = {"click": 0.5, "purchase": 0.5, "intent": 0.5, "dwell": 0.5}
DEFAULT_CLICK_RATE = 0.08
DEFAULT_PURCHASE_RATE = 0.01

MAX_USERS, MAX_ITEMS, MAX_IMPRESSIONS = 10_000_000, 1_000_000, 50_000_000
MIN_ITEMS = len(CATEGORIES)
MAKE_SHOP_KNOBS = (
    "n_users", "n_items", "n_impressions", "task_correlation", "label_fraction", "noise", "seed",
    "click_rate", "purchase_rate",
)


@dataclass
class ShopData:
    """A generated shop: impressions with labels and truth, users, items, feature metadata.

    Attributes:
        impressions: one row per impression (columns listed in ``data/README.md``).
        users, items: the entity tables, hidden traits included (``hidden_*`` columns).
        features: which columns are model inputs (:class:`FeatureSpec`).
        params: the knobs used to generate it (and, for a split, which part it is).
    """

    impressions: pd.DataFrame
    users: pd.DataFrame
    items: pd.DataFrame
    features: FeatureSpec
    params: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.impressions)

    def __repr__(self) -> str:
        return (
            f"ShopData({len(self.impressions):,} impressions, "
            f"{self.impressions['user_id'].nunique():,} users, {len(self.items):,} items, "
            f"task_correlation={self.params.get('task_correlation')}, "
            f"seed={self.params.get('seed')})"
        )

    def split(
        self, fractions: Sequence[float] = (0.7, 0.15, 0.15), seed: int | None = None
    ) -> tuple[ShopData, ...]:
        """Split by user into ``len(fractions)`` parts (default train / validation / test).

        ``seed=None`` uses the shop's own seed, so the split is reproducible. The parts share
        ``users``, ``items`` and ``features`` (ids mean the same in every part), and each row
        keeps its index in the whole shop (its impression number).
        """
        seed = self.params.get("seed", 0) if seed is None else check_seed(seed)
        parts = split_rows_by_user(self.impressions["user_id"].to_numpy(), fractions, seed)
        names = ("train", "val", "test") if len(parts) == 3 else tuple(range(len(parts)))
        return tuple(
            replace(
                self,
                impressions=self.impressions.iloc[rows],
                params={**self.params, "split": {"part": name, "fractions": list(fractions),
                                                 "seed": seed}},
            )
            for name, rows in zip(names, parts, strict=True)
        )

    def unmasked(self, full: ShopData | None = None) -> ShopData:
        """The same rows with every label present (for evaluating on a fully labelled test set).

        The masks have their own random stream, so ``make_shop`` with the same knobs and
        ``label_fraction=None`` draws exactly the same labels; this regenerates it and picks this
        shop's rows by their index. ``full``: that fully labelled shop, when you already have it
        (e.g. ``shop.unmasked()`` of the whole shop, to unmask several splits of it at once).
        """
        knobs = {key: self.params[key] for key in MAKE_SHOP_KNOBS}
        if full is None:
            full = make_shop(**{**knobs, "label_fraction": None})
        elif {key: full.params[key] for key in MAKE_SHOP_KNOBS if key != "label_fraction"} != {
                key: value for key, value in knobs.items() if key != "label_fraction"}:
            raise ValueError("full must be the unmasked shop made with this shop's knobs "
                             "(e.g. whole_shop.unmasked())")
        return replace(
            self,
            impressions=full.impressions.loc[self.impressions.index],
            params={**self.params, "label_fraction": full.params["label_fraction"]},
        )

    def to_arrays(
        self, tasks: Sequence[str] = TASKS
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """``(x, y)`` for Keras: ``x`` int32 ids per categorical feature plus a float32
        ``"numeric"`` matrix; ``y`` float32 labels per task, NaN where masked."""
        return frame_to_arrays(self.impressions, self.features, tasks)

    def truth(self, task: str) -> np.ndarray:
        """The true probability (click, purchase, cvr), class probabilities (intent, (n, 3)) or
        mean (dwell) behind each row's label."""
        if not isinstance(task, str) or task not in TRUTH_COLUMNS:
            raise ValueError(f"task must be one of {tuple(TRUTH_COLUMNS)}, got {task!r}")
        columns = list(TRUTH_COLUMNS[task])
        values = self.impressions[columns].to_numpy(dtype=np.float64)
        return values if len(columns) > 1 else values[:, 0]


def _check_make_shop_args(
    n_users: object,
    n_items: object,
    n_impressions: object,
    task_correlation: object,
    label_fraction: object,
    noise: object,
    seed: object,
    click_rate: object,
    purchase_rate: object,
) -> dict:
    click_rate = check_number("click_rate", click_rate, 0.0, 0.5, low_open=True)
    purchase_rate = check_number("purchase_rate", purchase_rate, 0.0, 0.5, low_open=True)
    if purchase_rate > 0.5 * click_rate:
        raise ValueError(
            f"purchase_rate must be in (0, click_rate / 2] = (0, {click_rate / 2}] (at most half "
            f"of the clicks convert), got {purchase_rate}"
        )
    fractions = check_task_mapping("label_fraction", label_fraction, 0.0, 1.0, low_open=True)
    noises = check_task_mapping("noise", noise, 0.0, MAX_NOISE)
    return {
        "n_users": check_int("n_users", n_users, 1, MAX_USERS),
        "n_items": check_int("n_items", n_items, MIN_ITEMS, MAX_ITEMS),
        "n_impressions": check_int("n_impressions", n_impressions, 1, MAX_IMPRESSIONS),
        "task_correlation": check_number("task_correlation", task_correlation, -1.0, 1.0),
        "label_fraction": {task: fractions.get(task, 1.0) for task in TASKS},
        "noise": {task: noises.get(task, DEFAULT_NOISE[task]) for task in TASKS},
        "seed": check_seed(seed),
        "click_rate": click_rate,
        "purchase_rate": purchase_rate,
    }


def make_shop(
    n_users: int = 2000,
    n_items: int = 400,
    n_impressions: int = 40_000,
    task_correlation: float = 0.6,
    label_fraction: Mapping[str, float] | None = None,
    noise: Mapping[str, float] | None = None,
    seed: int = 0,
    *,
    click_rate: float = DEFAULT_CLICK_RATE,
    purchase_rate: float = DEFAULT_PURCHASE_RATE,
) -> ShopData:
    """Generate a shop's impression log with known truth (see the module docstring).

    Args:
        n_users: number of users, 1 .. 10,000,000.
        n_items: number of items, 10 .. 1,000,000 (at least one per category).
        n_impressions: number of rows, 1 .. 50,000,000.
        task_correlation: p in [-1, 1], the cosine between click's hidden driver weights and
            those of purchase (conversion), intent and dwell.
        label_fraction: ``{task: f}``, f in (0, 1]: keep only that share of labels (others NaN).
            Missing tasks keep all labels.
        noise: ``{task: σ}``, σ in [0, 5]: unobserved noise on the task's logit (log-dwell);
            defaults ``0.5`` for every task.
        seed: non-negative integer; the same arguments and seed give identical data.
        click_rate: target share of impressions clicked, in (0, 0.5].
        purchase_rate: target share of impressions purchased, in (0, click_rate / 2].
    """
    params = _check_make_shop_args(
        n_users, n_items, n_impressions, task_correlation, label_fraction, noise, seed,
        click_rate, purchase_rate,
    )
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(params["seed"]).spawn(9)]
    rng_users, rng_items, rng_sessions, rng_exposure, rng_click, rng_cvr, rng_intent, rng_dwell, \
        rng_mask = streams
    users = make_users(params["n_users"], rng_users)
    items = make_items(params["n_items"], rng_items)
    n = params["n_impressions"]
    sessions = _make_sessions(users, n, rng_sessions)
    impressions = _expose(sessions, items, n, rng_exposure)

    h = hidden_features(users, items, impressions["user_id"], impressions["item_id"])
    weights = task_weights(params["task_correlation"])
    score_matrix = h @ np.stack([weights[task] for task in TASKS], axis=1).astype(np.float32)
    scores = {task: score_matrix[:, k] for k, task in enumerate(TASKS)}
    channel = impressions["channel"]
    noise_of = params["noise"]

    # click and the click -> purchase funnel
    eta_click = (
        SCALE["click"] * scores["click"]
        + np.asarray(CHANNEL_EFFECT["click"], dtype=np.float32)[channel]
        + POSITION_EFFECT * np.log(impressions["position"]).astype(np.float32)
    ).astype(np.float32)
    rows = calibration_rows(n)
    b_click = solve_intercept(eta_click[rows], params["click_rate"], noise_of["click"])
    click_true = noisy_sigmoid(eta_click + np.float32(b_click), noise_of["click"])
    eta_cvr = (
        SCALE["purchase"] * scores["purchase"]
        + np.asarray(CHANNEL_EFFECT["purchase"], dtype=np.float32)[channel]
    ).astype(np.float32)
    b_cvr = solve_intercept(
        eta_cvr[rows], params["purchase_rate"], noise_of["purchase"], factor=click_true[rows]
    )
    cvr_true = noisy_sigmoid(eta_cvr + np.float32(b_cvr), noise_of["purchase"])
    click = rng_click.random(n) < click_true
    purchase = click & (rng_cvr.random(n) < cvr_true)

    # session intent
    intent_true_session, intent_session = _intent(
        scores["intent"], sessions, impressions, items, noise_of["intent"], rng_intent
    )
    session_of_row = impressions["session_id"]
    intent_true = intent_true_session[session_of_row]

    # dwell (seconds on the item card), log-normal
    mu = (
        np.log(DWELL_BASE_SECONDS)
        + SCALE["dwell"] * scores["dwell"]
        + np.asarray(CHANNEL_EFFECT["dwell"], dtype=np.float32)[channel]
    ).astype(np.float64)
    sigma = noise_of["dwell"]
    dwell = np.exp(mu + sigma * rng_dwell.standard_normal(n))
    dwell_true = np.exp(mu + 0.5 * sigma**2)

    # utterances, one per session
    utterance_codes = session_utterance_codes(intent_session, sessions["focal_category"], rng_dwell)

    # scarcity masks
    fraction = params["label_fraction"]
    labelled = {
        task: _labelled_rows(n, fraction[task], rng_mask)
        for task in ("click", "purchase", "dwell")
    }
    labelled_sessions = _labelled_rows(len(sessions["user_id"]), fraction["intent"], rng_mask)
    labelled["intent"] = labelled_sessions[session_of_row]

    frame = _assemble(
        users, items, impressions, sessions,
        labels={
            "click": click.astype(np.float32),
            "purchase": purchase.astype(np.float32),
            "intent": intent_session[session_of_row].astype(np.float32),
            "dwell": dwell.astype(np.float32),
        },
        labelled=labelled,
        truth={
            "click_true": click_true,
            "purchase_true": click_true * cvr_true,
            "cvr_true": cvr_true,
            "intent_true_browse": intent_true[:, 0],
            "intent_true_purchase": intent_true[:, 1],
            "intent_true_consult": intent_true[:, 2],
            "dwell_true": dwell_true,
        },
        utterance_codes=utterance_codes,
    )
    params["intercepts"] = {"click": b_click, "cvr": b_cvr}
    return ShopData(frame, users, items, shop_feature_spec(len(users), len(items)), params)


def _make_sessions(users: pd.DataFrame, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Sessions: user, channel, hour, focal category, and how many impressions each has."""
    n_sessions = max(1, min(n, math.ceil(n / MEAN_SESSION_LENGTH)))
    activity = np.asarray(ACTIVITY_SESSIONS)[users["activity"].cat.codes.to_numpy()]
    user = rng.choice(len(users), size=n_sessions, p=activity / activity.sum())
    channel = rng.choice(len(CHANNELS), size=n_sessions, p=CHANNEL_P)
    hour = rng.choice(24, size=n_sessions, p=HOUR_P)
    taste = users[[f"hidden_taste_{c}" for c in CATEGORIES]].to_numpy(np.float64)[user]
    focal = np.argmax(taste + rng.gumbel(size=taste.shape), axis=1)  # P(c) ∝ exp(taste_c)
    # every session gets one impression, the rest fall into sessions uniformly at random
    length = 1 + np.bincount(rng.integers(0, n_sessions, n - n_sessions), minlength=n_sessions)
    return {
        "user_id": user,
        "channel": channel,
        "hour": hour,
        "focal_category": focal,
        "length": length,
        "start": np.concatenate([[0], np.cumsum(length)[:-1]]),
    }


def _expose(
    sessions: dict[str, np.ndarray], items: pd.DataFrame, n: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Which item each impression shows (focal category with probability FOCUS), and where."""
    session_id = np.repeat(np.arange(len(sessions["length"])), sessions["length"])
    position = np.arange(n) - np.repeat(sessions["start"], sessions["length"]) + 1
    category = items["category"].cat.codes.to_numpy()
    by_category = np.argsort(category, kind="stable")
    count = np.bincount(category, minlength=len(CATEGORIES))
    first = np.concatenate([[0], np.cumsum(count)[:-1]])
    focal = sessions["focal_category"][session_id]
    in_focal = by_category[first[focal] + (rng.random(n) * count[focal]).astype(np.int64)]
    anywhere = rng.integers(0, len(items), n)
    item = np.where(rng.random(n) < FOCUS, in_focal, anywhere)
    return {
        "session_id": session_id,
        "user_id": sessions["user_id"][session_id],
        "item_id": item,
        "channel": sessions["channel"][session_id],
        "hour": sessions["hour"][session_id],
        "position": position,
    }


def _intent(
    intent_score: np.ndarray,
    sessions: dict[str, np.ndarray],
    impressions: dict[str, np.ndarray],
    items: pd.DataFrame,
    noise: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Session intent probabilities (S, 3) and the drawn intent (S,).

    ``logit(purchase) = b_1 + 1.3·z + 0.5·[search]``, ``logit(consult) = b_2 + 1.5·[chat] +
    0.6·price_level``, ``logit(browse) = 0``, where ``z`` is the standardised ``w_intentᵀ h̄``
    of the session's mean hidden features (computed as the session mean of ``w_intentᵀ h``, the
    same thing since it is linear) and ``price_level`` the session's mean standardised log
    price; ``b_1``, ``b_2`` are solved for 50 / 30 / 20 % browse / purchase / consult.
    """
    length = sessions["length"]
    z = _standardise(np.add.reduceat(intent_score.astype(np.float64), sessions["start"]) / length)
    price_z = standardised_log_price(items)
    price_level = np.add.reduceat(price_z[impressions["item_id"]], sessions["start"]) / length
    channel = sessions["channel"]
    logits = np.zeros((len(length), 3))
    logits[:, 1] = SCALE["intent"] * z + 0.5 * (channel == 0)
    logits[:, 2] = 1.5 * (channel == 2) + 0.6 * price_level
    rows = calibration_rows(len(length))[:: max(1, len(length) // INTENT_CALIBRATION_SESSIONS)]
    logits += solve_class_intercepts(logits[rows], INTENT_TARGETS, noise)
    probabilities = noisy_softmax(logits, noise)
    cumulative = np.cumsum(probabilities, axis=1)
    intent = (rng.random(len(length))[:, None] > cumulative[:, :2]).sum(axis=1)
    return probabilities, intent


def _standardise(values: np.ndarray) -> np.ndarray:
    scale = values.std()
    return (values - values.mean()) / (scale if scale > 0 else 1.0)


def _labelled_rows(n: int, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """A boolean mask with exactly ``round(fraction · n)`` True entries at random places."""
    if fraction == 1.0:
        return np.ones(n, dtype=bool)
    keep = np.zeros(n, dtype=bool)
    keep[rng.permutation(n)[: round(fraction * n)]] = True
    return keep


def _assemble(
    users: pd.DataFrame,
    items: pd.DataFrame,
    impressions: dict[str, np.ndarray],
    sessions: dict[str, np.ndarray],
    labels: dict[str, np.ndarray],
    labelled: dict[str, np.ndarray],
    truth: dict[str, np.ndarray],
    utterance_codes: np.ndarray,
) -> pd.DataFrame:
    """The impressions frame, columns in data-card order."""
    user_id, item_id = impressions["user_id"], impressions["item_id"]
    columns: dict[str, object] = {
        "session_id": impressions["session_id"].astype(np.int64),
        "user_id": user_id.astype(np.int64),
        "item_id": item_id.astype(np.int64),
    }
    for name in USER_CATEGORICALS:
        codes = users[name].cat.codes.to_numpy()[user_id]
        columns[name] = pd.Categorical.from_codes(codes, users[name].cat.categories)
    for name in ITEM_CATEGORICALS:
        codes = items[name].cat.codes.to_numpy()[item_id]
        columns[name] = pd.Categorical.from_codes(codes, items[name].cat.categories)
    for name in ("price", "rating", "n_reviews"):
        columns[name] = items[name].to_numpy(np.float32)[item_id]
    columns["channel"] = pd.Categorical.from_codes(impressions["channel"], CHANNELS)
    columns["hour"] = pd.Categorical.from_codes(impressions["hour"], list(range(24)))
    columns["position"] = impressions["position"].astype(np.float32)
    for task in ("click", "purchase", "intent", "dwell"):
        columns[task] = np.where(labelled[task], labels[task], np.float32(np.nan))
    intent_codes = np.where(labelled["intent"], labels["intent"], -1).astype(np.int64)
    columns["intent_name"] = pd.Categorical.from_codes(intent_codes, INTENTS)
    columns["utterance"] = codes_to_categorical(utterance_codes[impressions["session_id"]])
    for name, values in truth.items():
        columns[name] = values.astype(np.float32)
    frame = pd.DataFrame(columns)
    # column order as documented: intent_name next to intent
    order = [c for c in frame.columns if c != "intent_name"]
    order.insert(order.index("intent") + 1, "intent_name")
    return frame[order]
