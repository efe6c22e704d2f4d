"""Every invalid argument raises ValueError/TypeError naming the argument (hypothesis)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mtl_kit.data import make_mmoe_tasks, make_shop
from mtl_kit.data.utterances import translate

FAST = settings(max_examples=25, deadline=None)

not_a_number = st.one_of(st.none(), st.booleans(), st.text(max_size=3), st.lists(st.integers()),
                         st.just(np.bool_(True)))
bad_size = st.one_of(not_a_number, st.integers(max_value=0), st.floats(allow_nan=True),
                     st.integers(min_value=10**9, max_value=10**12))
bad_correlation = st.one_of(
    not_a_number,
    st.floats(min_value=1.0, exclude_min=True, allow_infinity=True),
    st.floats(max_value=-1.0, exclude_max=True, allow_infinity=True),
    st.just(math.nan),
)
bad_fraction = st.one_of(st.floats(max_value=0.0), st.floats(min_value=1.0, exclude_min=True),
                         st.just(math.nan), st.booleans(), st.text(max_size=2))
task = st.sampled_from(["click", "purchase", "intent", "dwell"])


def _raises_naming(name, call):
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    assert name in str(info.value), str(info.value)


@FAST
@given(argument=st.sampled_from(["n_users", "n_items", "n_impressions"]), value=bad_size)
def test_bad_sizes(argument, value):
    _raises_naming(argument, lambda: make_shop(**{argument: value}))


@FAST
@given(value=bad_correlation)
def test_bad_task_correlation(value):
    _raises_naming("task_correlation", lambda: make_shop(task_correlation=value))


@FAST
@given(task=task, value=bad_fraction)
def test_bad_label_fraction_values(task, value):
    _raises_naming("label_fraction", lambda: make_shop(label_fraction={task: value}))


@FAST
@given(key=st.one_of(st.text(max_size=8).filter(lambda s: s not in {"click", "purchase",
                                                                     "intent", "dwell"}),
                     st.integers()))
def test_unknown_task_names(key):
    _raises_naming("label_fraction", lambda: make_shop(label_fraction={key: 0.5}))
    _raises_naming("noise", lambda: make_shop(noise={key: 0.5}))


@FAST
@given(task=task, value=st.one_of(st.floats(max_value=0.0, exclude_max=True),
                                  st.floats(min_value=5.0, exclude_min=True), st.just(math.nan),
                                  st.booleans()))
def test_bad_noise(task, value):
    _raises_naming("noise", lambda: make_shop(noise={task: value}))


@pytest.mark.parametrize("value", [[0.5], "click", 0.5, (("click", 0.5),)])
def test_mappings_must_be_dicts(value):
    _raises_naming("label_fraction", lambda: make_shop(label_fraction=value))
    _raises_naming("noise", lambda: make_shop(noise=value))


@FAST
@given(value=st.one_of(not_a_number, st.integers(max_value=-1), st.floats()))
def test_bad_seed(value):
    _raises_naming("seed", lambda: make_shop(seed=value))
    _raises_naming("seed", lambda: make_mmoe_tasks(n=10, d=2, seed=value))


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"click_rate": 0.0}, "click_rate"), ({"click_rate": 0.7}, "click_rate"),
     ({"purchase_rate": 0.06}, "purchase_rate"), ({"purchase_rate": True}, "purchase_rate")],
)
def test_bad_rates(kwargs, name):
    _raises_naming(name, lambda: make_shop(**kwargs))


@FAST
@given(
    argument=st.sampled_from(["n", "d", "m", "p", "c", "noise", "sine_scale"]),
    value=st.one_of(not_a_number, st.integers(max_value=-2), st.just(math.inf),
                    st.floats(min_value=1e7, max_value=1e12)),
)
def test_bad_mmoe_arguments(argument, value):
    _raises_naming(argument, lambda: make_mmoe_tasks(**{argument: value}))


def test_mmoe_size_limit():
    _raises_naming("n * d", lambda: make_mmoe_tasks(n=10_000_000, d=100))


def test_bad_language():
    _raises_naming("language", lambda: translate(["just browsing toys"], language="fr"))
