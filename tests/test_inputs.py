"""Bad inputs are refused before any training, with the argument, column and allowed values.

Each refusal is checked on one small hard-sharing model with a task of every kind (built once),
and each check also asserts that nothing was trained (weights and optimiser step unchanged).
A hypothesis fuzz test then throws random inputs at ``fit``, ``evaluate`` and ``predict_tasks``:
each call must either succeed with finite numbers or raise TypeError/ValueError.
"""

import mtl_kit  # noqa: F401  (selects the backend before keras)

# isort: split
import re
import warnings

import keras
import numpy as np
import pytest
from conftest_models import FEATURES, tiny_shop
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mtl_kit.inputs import prepare_inputs, prepare_labels
from mtl_kit.models import build_hard_sharing
from mtl_kit.models.layers import as_feature_config
from mtl_kit.tasks import shop_tasks

TASKS = shop_tasks(("click", "purchase", "intent", "dwell"))  # binary ×2, multiclass, regression
N = 64


@pytest.fixture(scope="module")
def model():
    return build_hard_sharing(TASKS, FEATURES, shared=(8,), head=(4,), seed=0)


@pytest.fixture(scope="module")
def plain_model():
    """A model of a plain float matrix input (features=3)."""
    return build_hard_sharing(shop_tasks(("click",)), 3, shared=(4,), head=(), seed=0)


@pytest.fixture(scope="module")
def data():
    return tiny_shop(N, seed=2)


def _state(model):
    step = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
    return step, [np.array(w) for w in model.get_weights()]


def assert_refused(model, error, match, call):
    """``call()`` raises ``error`` matching ``match`` and changes no weight."""
    step, weights = _state(model)
    with pytest.raises(error, match=match):
        call()
    new_step, new_weights = _state(model)
    assert new_step == step
    for old, new in zip(weights, new_weights, strict=True):
        np.testing.assert_array_equal(old, new)


def _with(array, row, value, dtype="float32"):
    changed = np.array(array, dtype=dtype)
    changed[row] = value
    return changed


# -- labels --------------------------------------------------------------------------------
@pytest.mark.parametrize("value, shown", [(2.0, "2"), (0.5, "0.5"), (-1.0, "-1"),
                                          (np.inf, "inf")])
def test_binary_labels_must_be_0_or_1(model, data, value, shown):
    x, y = data
    bad = dict(y, click=_with(y["click"], 5, value))
    match = (r"y\['click'\] must hold 0 or 1 \(or NaN for a missing label\), "
             rf"got {re.escape(shown)} at row 5")
    assert_refused(model, ValueError, match, lambda: model.fit(x, bad, epochs=1))
    assert_refused(model, ValueError, match, lambda: model.evaluate(x, bad))


@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_regression_labels_must_be_finite(model, data, value):
    x, y = data
    bad = dict(y, dwell=_with(y["dwell"], 7, value))
    assert_refused(model, ValueError,
                   r"y\['dwell'\] must hold finite numbers \(or NaN for a missing label\), "
                   r"got -?inf at row 7", lambda: model.fit(x, bad, epochs=1))


@pytest.mark.parametrize("value", [3.0, -1.0, 1.5])
def test_multiclass_labels_must_be_class_ids(model, data, value):
    x, y = data
    bad = dict(y, intent=_with(y["intent"], 2, value))
    assert_refused(model, ValueError, r"y\['intent'\] must hold class ids 0\.\.2 .* at row 2",
                   lambda: model.fit(x, bad, epochs=1))


def test_validation_labels_are_checked_too(model, data):
    x, y = data
    bad = dict(y, click=_with(y["click"], 0, 3.0))
    assert_refused(model, ValueError, r"validation_data y\['click'\] must hold 0 or 1",
                   lambda: model.fit(x, y, validation_data=(x, bad), epochs=1))


def test_labels_that_are_not_numbers(model, data):
    x, y = data
    bad = dict(y, click=np.array(["yes"] * N))
    assert_refused(model, TypeError, r"y\['click'\] must be labels \(64,\) of numbers",
                   lambda: model.fit(x, bad, epochs=1))


# -- categorical ids -----------------------------------------------------------------------
CALLS = {
    "fit": lambda model, x, y: model.fit(x, y, epochs=1),
    "evaluate": lambda model, x, y: model.evaluate(x, y),
    "predict_tasks": lambda model, x, y: model.predict_tasks(x),
}


@pytest.mark.parametrize("call", sorted(CALLS))
@pytest.mark.parametrize("value, match", [
    (25, r"x\['item'\] must hold ids 0\.\.24 \(the feature's vocabulary size is 25\), got ids "
         r"from \d+ to 25 \(the largest is 25; first out of range: 25 at row 9\)"),
    (1000, r"x\['item'\] must hold ids 0\.\.24 .*the largest is 1000"),
    (-1, r"x\['item'\] must hold ids 0\.\.24 .*got ids from -1 to .*-1 at row 9"),
])
def test_ids_outside_the_vocabulary(model, data, call, value, match):
    x, y = data
    x = dict(x, item=_with(x["item"], 9, value, dtype="int64"))
    assert_refused(model, ValueError, match, lambda: CALLS[call](model, x, y))


def test_ids_must_be_whole_numbers(model, data):
    x, y = data
    bad = dict(x, user=_with(x["user"], 4, 1.5))
    assert_refused(model, ValueError,
                   r"x\['user'\] must hold whole-number ids 0\.\.39 .*got 1\.5 at row 4",
                   lambda: model.fit(bad, y, epochs=1))
    whole = dict(x, user=x["user"].astype("float64"))  # whole floats are fine ids
    assert prepare_inputs(as_feature_config(FEATURES), whole)[0]["categorical_ids"].dtype \
        == np.int32


def test_ids_that_are_not_numbers(model, data):
    x, _ = data
    bad = dict(x, item=np.array(["a"] * N))
    assert_refused(model, TypeError, r"x\['item'\] must hold integer ids 0\.\.24",
                   lambda: model.predict_tasks(bad))


def test_packed_ids_and_validation_inputs_are_checked(model, data):
    x, y = data
    features = as_feature_config(FEATURES)
    packed, _ = prepare_inputs(features, x)
    packed["categorical_ids"] = packed["categorical_ids"].copy()
    packed["categorical_ids"][3, 1] = 30
    with pytest.raises(ValueError, match=r"x\['categorical_ids'\] column 1 \('item'\) must hold "
                                         r"ids 0\.\.24 .*30 at row 3"):
        prepare_inputs(features, packed)
    bad = dict(x, user=_with(x["user"], 1, 40, dtype="int32"))
    assert_refused(model, ValueError, r"validation_data x\['user'\] must hold ids 0\.\.39",
                   lambda: model.fit(x, y, validation_data=(bad, y), epochs=1))


# -- numeric inputs ------------------------------------------------------------------------
@pytest.mark.parametrize("value, shown", [(np.nan, "nan"), (np.inf, "inf"), (-np.inf, "-inf"),
                                          (1e39, "inf")])  # 1e39 overflows float32
def test_numeric_inputs_must_be_finite(model, data, value, shown):
    x, y = data
    numeric = x["numeric"].astype("float64")
    numeric[4, 1] = value
    bad = dict(x, numeric=numeric)
    match = (r"x\['numeric'\] must hold finite numbers \(no NaN or ±inf\): column 1 \('age'\) "
             rf"is {shown} at row 4")
    for call in CALLS.values():
        assert_refused(model, ValueError, match, lambda call=call: call(model, bad, y))


def test_plain_matrix_must_be_finite(plain_model, data):
    x, y = data
    matrix = x["numeric"].copy()
    matrix[6, 2] = np.nan
    match = r"x must hold finite numbers \(no NaN or ±inf\): column 2 is nan at row 6"
    assert_refused(plain_model, ValueError, match,
                   lambda: plain_model.fit(matrix, y["click"], epochs=1))
    assert_refused(plain_model, ValueError, match, lambda: plain_model.predict_tasks(matrix))


# -- int arguments -------------------------------------------------------------------------
@pytest.mark.parametrize("argument, call", [
    ("epochs", lambda m, x, y: m.fit(x, y, epochs=True)),
    ("batch_size", lambda m, x, y: m.fit(x, y, batch_size=True)),
    ("validation_batch_size",
     lambda m, x, y: m.fit(x, y, validation_data=(x, y), validation_batch_size=True)),
    ("batch_size", lambda m, x, y: m.predict_tasks(x, batch_size=True)),
    ("batch_size", lambda m, x, y: m.evaluate(x, y, batch_size=True)),
])
def test_bools_are_not_ints(model, data, argument, call):
    x, y = data
    assert_refused(model, TypeError, rf"^{argument} must be an int >= 1, got True$",
                   lambda: call(model, x, y))


def test_float_epochs_and_empty_predictions(model, data):
    x, y = data
    assert_refused(model, TypeError, r"epochs must be an int >= 1, got 2\.0",
                   lambda: model.fit(x, y, epochs=2.0))
    empty = {k: v[:0] for k, v in x.items()}
    assert_refused(model, ValueError, "x has no rows", lambda: model.predict_tasks(empty))
    assert np.isfinite(model.predict_tasks(x)["click"]).all()  # still usable afterwards


# -- a task without labels -----------------------------------------------------------------
def test_a_task_without_labels_warns_in_fit_only(model, data):
    x, y = data
    unlabelled = dict(y, purchase=np.full(N, np.nan, dtype="float32"))
    message = "task 'purchase' has no labels in y: its loss is 0 and its head will not train"
    with pytest.warns(UserWarning, match=re.escape(message)):
        history = model.fit(x, unlabelled, epochs=1, batch_size=N)
    assert history.history["purchase_loss"] == [0.0]
    # An unlabelled task in validation data trains nothing wrong: no warning (see inputs.py).
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(x, y, validation_data=(x, unlabelled), epochs=1, batch_size=N)
        model.evaluate(x, unlabelled)
    assert not [w for w in caught if "has no labels" in str(w.message)]


# -- the course's data and the cost --------------------------------------------------------
def test_the_course_data_passes_the_checks():
    from mtl_kit.course import course_data

    course = course_data(("click", "purchase"))
    features = as_feature_config(course.features)
    for split in ("train", "val", "test"):
        x, y = course.split_arrays(split)
        prepared, n_rows = prepare_inputs(features, x)
        prepare_labels(shop_tasks(("click", "purchase")), y, n_rows)
        assert prepared["categorical_ids"].shape == (n_rows, len(features["categorical"]))


# -- fuzzing -------------------------------------------------------------------------------
#: One mistake per fuzzed call (or none). Fixed shapes (64 rows, batch 64) keep one compiled step.
MISTAKES = (
    # ids
    "id too big", "negative id", "fractional id", "nan id", "text ids", "short ids",
    # numeric inputs
    "nan number", "inf number", "float32 overflow", "numeric width", "numeric 1-d", "None number",
    # labels
    "bad label", "short labels", "text labels",
    # structure
    "missing input", "missing task", "x a matrix", "x None", "no rows",
    # int arguments
    "bool int", "float int", "zero int", "text int",
    # not mistakes: these must train and predict finitely
    "extra input", "extra task", "y a list", "all labels missing", "ids as (n, 1)",
)
#: Mistakes in the labels (``predict_tasks`` has no labels: for it they change nothing).
LABEL_MISTAKES = ("bad label", "short labels", "text labels", "missing task")
INT_MISTAKES = ("bool int", "float int", "zero int", "text int")
#: Not mistakes: every call must succeed with them.
ACCEPTED = ("none", "extra input", "extra task", "y a list", "all labels missing",
            "ids as (n, 1)")
_BAD_LABELS = {"binary": [2.0, 0.5, -1.0, np.inf], "multiclass": [3.0, -1.0, 1.5, np.inf],
               "regression": [np.inf, -np.inf]}


def _valid_call(rng, call):
    """Valid random inputs of 64 rows (ids of assorted dtypes, labels with NaN)."""
    id_dtype = rng.choice(["int32", "int64", "uint8", "float64"])
    x = {name: rng.integers(0, vocab, N).astype(id_dtype)
         for name, vocab in FEATURES["categorical"].items()}
    x["numeric"] = (rng.normal(size=(N, 3)) * rng.choice([1.0, 10.0, 1000.0])).astype(
        rng.choice(["float32", "float64"]))
    y = {"click": rng.integers(0, 2, N).astype("float32"),
         "purchase": rng.choice([0.0, 1.0, np.nan], N),
         "intent": rng.choice([0.0, 1.0, 2.0, np.nan], N),
         "dwell": np.where(rng.random(N) < 0.2, np.nan, rng.normal(size=N) * 100)}
    if call == "predict_tasks":
        return (x,), {"batch_size": 256}
    if call == "evaluate":
        return (x, y), {"batch_size": N}
    kwargs = {"epochs": 1, "batch_size": N}
    if call == "fit with validation":
        kwargs.update(validation_data=(x, y), validation_batch_size=N)
    return (x, y), kwargs


def _apply(mistake, args, kwargs, rng):
    """The call's arguments with one mistake (the validation data shares x and y's arrays)."""
    x, y = (args[0], args[1]) if len(args) == 2 else (args[0], None)
    row, name = int(rng.integers(N)), str(rng.choice(["user", "item"]))
    vocab = FEATURES["categorical"][name]
    task = TASKS[int(rng.integers(len(TASKS)))]
    if mistake in ("id too big", "negative id", "fractional id", "nan id"):
        value = {"id too big": int(rng.integers(vocab, 2**40)),
                 "negative id": int(rng.integers(-(2**40), 0)),
                 "fractional id": float(rng.integers(vocab)) + 0.5, "nan id": np.nan}[mistake]
        x[name] = _with(x[name], row, value, "float64" if isinstance(value, float) else "int64")
    elif mistake == "text ids":
        x[name] = x[name].astype(str)
    elif mistake == "short ids":
        x[name] = x[name][:-1]
    elif mistake in ("nan number", "inf number", "float32 overflow"):
        value = {"nan number": np.nan, "inf number": -np.inf, "float32 overflow": 1e39}[mistake]
        x["numeric"] = x["numeric"].astype("float64")
        x["numeric"][row, int(rng.integers(3))] = value
    elif mistake == "numeric width":
        x["numeric"] = x["numeric"][:, :2]
    elif mistake == "numeric 1-d":
        x["numeric"] = x["numeric"][:, 0]
    elif mistake == "None number":
        x["numeric"] = x["numeric"].astype(object)
        x["numeric"][row, 0] = None
    elif mistake == "missing input":
        x.pop(str(rng.choice(sorted(x))))
    elif mistake == "extra input":
        x["extra"] = rng.normal(size=N)
    elif mistake == "ids as (n, 1)":
        x[name] = x[name].reshape(N, 1)
    elif mistake == "x a matrix":
        args = (np.zeros((N, 5), "float32"), *args[1:])
    elif mistake == "x None":
        args = (None, *args[1:])
    elif mistake == "no rows":
        for key in x:
            x[key] = x[key][:0]
        if y is not None:
            for key in y:
                y[key] = y[key][:0]
    elif y is not None and mistake == "bad label":
        y[task.name] = _with(y[task.name], row, rng.choice(_BAD_LABELS[task.kind]))
    elif y is not None and mistake == "short labels":
        y[task.name] = y[task.name][:-1]
    elif y is not None and mistake == "text labels":
        y[task.name] = y[task.name].astype(str)
    elif y is not None and mistake == "all labels missing":
        y[task.name] = np.full(N, np.nan)
    elif y is not None and mistake == "missing task":
        y.pop(task.name)
    elif y is not None and mistake == "extra task":
        y["cart"] = np.zeros(N)
    elif y is not None and mistake == "y a list":
        args = (args[0], [y[t.name] for t in TASKS])
    elif mistake in ("bool int", "float int", "zero int", "text int"):
        key = str(rng.choice([k for k in kwargs if "batch_size" in k or k == "epochs"]))
        kwargs[key] = {"bool int": True, "float int": float(kwargs[key]), "zero int": 0,
                       "text int": str(kwargs[key])}[mistake]
    return args, kwargs


@pytest.mark.parametrize("mistake", ("none", *MISTAKES))
@settings(max_examples=6, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(call=st.sampled_from(["fit", "fit with validation", "evaluate", "predict_tasks"]),
       seed=st.integers(0, 2**32 - 1))
def test_fuzz_every_call_succeeds_finitely_or_refuses_clearly(model, mistake, call, seed):
    """Every mistake (one per parametrised case, on random valid data and a random call):
    a mistake is refused with TypeError/ValueError naming the argument, before any training;
    valid input (``ACCEPTED``) succeeds with finite losses/predictions.

    Valid numbers stay within a few thousand: values big enough to overflow float32 arithmetic
    inside the model are a numerical matter, not an input check's.
    """
    rng = np.random.default_rng(seed)
    args, kwargs = _apply(mistake, *_valid_call(rng, call), rng)
    method = getattr(model, "fit" if call.startswith("fit") else call)
    accepted = mistake in ACCEPTED or (call == "predict_tasks" and mistake in LABEL_MISTAKES)
    step = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # unlabelled tasks warn; fine here
            result = method(*args, **kwargs)
    except (TypeError, ValueError) as error:
        message = str(error)
        assert not accepted, f"{call} refused valid input ({mistake}): {message}"
        # refused before any training, naming the argument at fault
        assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == step, message
        if mistake in INT_MISTAKES:
            named = [k for k in kwargs if k in message]
        elif mistake in LABEL_MISTAKES:
            named = re.findall(r"\by\b", message)
        else:
            named = re.findall(r"\bx\b", message)
        assert named, f"{mistake}: the message does not name the argument: {message}"
        return
    assert accepted, f"{call} accepted a mistake ({mistake}) instead of refusing it"
    if call.startswith("fit"):
        values = [v for series in result.history.values() for v in series]
    elif call == "evaluate":
        values = list(result.values())
    else:
        values = np.concatenate([np.ravel(v) for v in result.values()])
    assert np.all(np.isfinite(values)), f"{call} gave non-finite numbers: {values}"
