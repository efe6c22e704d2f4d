"""Exercises for lesson 3, hard parameter sharing: a loss, a model, a count, a judgement and
an experiment.

* ``q1`` (``03.q1``) write ``total_loss(losses, lambdas)``: L = Σ_i λ_i L_i;
* ``q2`` (``03.q2``) write ``build_model()``: a two-task Keras model with one shared layer;
* ``q3`` (``03.q3``) how many parameters the textbook ``MultiTaskModel`` shares;
* ``q4`` (``03.q4``) when hard sharing is a good choice, with a reason;
* ``q5`` (``03.q5``) an experiment: switch the click loss off (λ_click = 0), compare with one
  model per task over 5 seeds on validation, and read purchase's verdict off its interval.

Only q5 trains (the learner's ``compare`` run, five seeds); its checker trains nothing: it
checks that the run is the asked-for experiment and computes the verdict from its interval.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mtl_kit.exercises import (
    ChoiceQuestion,
    CodeQuestion,
    CustomQuestion,
    NotAttempted,
    ValueQuestion,
    WrongAnswer,
    contains_blank,
)
from mtl_kit.exercises.experiment import (
    VERDICTS,
    ExperimentQuestion,
    check_comparison,
    judge_verdict,
    sign_hint,
    synthetic_scores,
    verdict_mistakes,
)

__all__ = ["N_FEATURES", "VERDICTS", "q1", "q2", "q3", "q4", "q5"]

#: Width of the float input of question 2's model.
N_FEATURES = 10

# -- q1: the weighted total loss ---------------------------------------------------------------


def _total_loss(losses: dict, lambdas: dict) -> float:
    """L = Σ_i λ_i L_i over the tasks in ``losses``."""
    return float(sum(lambdas[task] * loss for task, loss in losses.items()))


def _no_lambda(losses: dict, lambdas: dict) -> float:
    return float(sum(losses.values()))


def _divided_by_t(losses: dict, lambdas: dict) -> float:
    return _total_loss(losses, lambdas) / len(losses)


def _divided_by_lambda_sum(losses: dict, lambdas: dict) -> float:
    return _total_loss(losses, lambdas) / sum(lambdas[t] for t in losses)


def _loss_cases() -> list[tuple[dict, dict]]:
    return [
        ({"click": 0.27, "purchase": 0.048}, {"click": 1.0, "purchase": 3.0}),
        ({"click": 0.30, "purchase": 0.05}, {"click": 0.5, "purchase": 0.5}),
        ({"click": 0.4, "purchase": 0.1, "intent": 0.9}, {"click": 1.0, "purchase": 2.0,
                                                          "intent": 0.25}),
    ]


q1 = CodeQuestion(
    "03.q1",
    "Write total_loss(losses, lambdas): the hard-sharing loss L = Σ_i λ_i L_i, given each "
    "task's loss in a dict {task: L_i} and the weights in a dict {task: λ_i}.",
    reference=_total_loss,
    cases=_loss_cases,
    name="loss",
    wrong=[
        WrongAnswer(_no_lambda, "you added the task losses without their weights: multiply "
                                "each L_i by its λ_i before adding"),
        WrongAnswer(_divided_by_t, "you divided by the number of tasks T: the formula is a "
                                   "plain sum Σ λ_i L_i, not a mean"),
        WrongAnswer(_divided_by_lambda_sum, "you divided by Σ λ_i (a weighted average): the "
                                            "formula is the plain weighted sum Σ λ_i L_i"),
    ],
    hints=["Loop over the tasks in losses: for task, loss in losses.items().",
           "Multiply each loss by lambdas[task] and add the products; do not divide."],
    solution="""
    def total_loss(losses, lambdas):
        return sum(lambdas[task] * loss for task, loss in losses.items())
    """,
)

# -- q2: a hard-sharing model in Keras -------------------------------------------------------


def _reference_model():
    import keras
    from keras import layers

    inputs = keras.Input(shape=(N_FEATURES,))
    shared = layers.Dense(32, activation="relu", name="shared")(inputs)
    click = layers.Dense(1, activation="sigmoid", name="click")(shared)
    purchase = layers.Dense(1, activation="sigmoid", name="purchase")(shared)
    return keras.Model(inputs, {"click": click, "purchase": purchase})


def _two_towers():
    import keras
    from keras import layers

    inputs = keras.Input(shape=(N_FEATURES,))
    outputs = {}
    for task in ("click", "purchase"):
        hidden = layers.Dense(32, activation="relu", name=f"{task}_tower")(inputs)
        outputs[task] = layers.Dense(1, activation="sigmoid", name=task)(hidden)
    return keras.Model(inputs, outputs)


def _one_head():
    import keras
    from keras import layers

    inputs = keras.Input(shape=(N_FEATURES,))
    shared = layers.Dense(32, activation="relu", name="shared")(inputs)
    both = layers.Dense(2, activation="sigmoid", name="both")(shared)
    return keras.Model(inputs, [both[:, :1], both[:, 1:]])


def _linear_heads():
    import keras
    from keras import layers

    inputs = keras.Input(shape=(N_FEATURES,))
    shared = layers.Dense(32, activation="relu", name="shared")(inputs)
    click = layers.Dense(1, name="click")(shared)
    purchase = layers.Dense(1, name="purchase")(shared)
    return keras.Model(inputs, [click, purchase])


def _outputs(model: Any, x: np.ndarray) -> list[np.ndarray]:
    result = model(x)
    if isinstance(result, dict):
        result = [result[k] for k in sorted(result)]
    elif not isinstance(result, (list, tuple)):
        result = [result]
    return [np.asarray(r, dtype="float64").reshape(len(x), -1) for r in result]


def _check_model(build: Any) -> str | None:
    """Two outputs in [0, 1]; a layer that changes both outputs; a head for each output."""
    import keras

    if isinstance(build, keras.Model):
        model = build
    elif callable(build):
        try:
            model = build()
        except Exception as error:  # the learner's builder failed: say how
            return f"build_model() raised {type(error).__name__}: {error}"
        if contains_blank(model):
            raise NotAttempted("build_model() still returns ____: build the model and return it")
        if not isinstance(model, keras.Model):
            return f"build_model() must return a keras.Model, got {type(model).__name__}"
    else:
        return "pass your function build_model (or the model it returns)"
    x = np.random.default_rng(0).normal(size=(16, N_FEATURES)).astype("float32")
    try:
        before = _outputs(model, x)
    except Exception as error:
        return (f"the model failed on a batch of shape (16, {N_FEATURES}): "
                f"{type(error).__name__}: {error}")
    if len(before) != 2 or any(o.shape != (16, 1) for o in before):
        return ("the model needs two outputs, one per task, each of shape (batch, 1); got "
                f"{[o.shape for o in before]}")
    if any(o.min() < 0 or o.max() > 1 for o in before):
        return ("click and purchase are 0/1 events: give each head a sigmoid activation so it "
                "outputs a probability")
    shared, heads = [], [[], []]
    rng = np.random.default_rng(1)
    for layer in model.layers:
        weights = layer.get_weights()
        if not weights:
            continue
        layer.set_weights([w + rng.normal(scale=0.5, size=w.shape).astype(w.dtype)
                           for w in weights])
        after = _outputs(model, x)
        layer.set_weights(weights)
        changed = [not np.allclose(a, b, atol=1e-6) for a, b in zip(after, before, strict=True)]
        if all(changed):
            shared.append(layer.name)
        elif changed[0]:
            heads[0].append(layer.name)
        elif changed[1]:
            heads[1].append(layer.name)
    if not shared:
        return ("nothing is shared: each output has its own layers. In hard sharing one layer "
                "(the shared bottom) feeds both heads: call it once and pass its output to both")
    if not heads[0] or not heads[1]:
        return ("the tasks have no heads of their own: after the shared layer, give each task "
                "its own Dense(1, activation='sigmoid') layer")
    return None


q2 = CustomQuestion(
    "03.q2",
    f"Write build_model(): a Keras model for inputs of {N_FEATURES} float features with hard "
    "parameter sharing for two tasks (click, purchase): one shared Dense layer (ReLU) whose "
    "output feeds two heads, each a Dense(1) with a sigmoid. Return the model (no need to "
    "compile or train it).",
    checker=_check_model,
    correct_example=_reference_model,
    wrong=[
        WrongAnswer(_two_towers, "nothing is shared: each output has its own layers. In hard "
                                 "sharing one layer (the shared bottom) feeds both heads: call "
                                 "it once and pass its output to both"),
        WrongAnswer(_one_head, "the tasks have no heads of their own: after the shared layer, "
                               "give each task its own Dense(1, activation='sigmoid') layer"),
        WrongAnswer(_linear_heads, "click and purchase are 0/1 events: give each head a sigmoid "
                                   "activation so it outputs a probability"),
    ],
    hints=["Functional API: inputs = keras.Input(shape=(N_FEATURES,)); "
           "z = layers.Dense(32, activation='relu')(inputs).",
           "Pass the same z to two Dense(1, activation='sigmoid') layers and return "
           "keras.Model(inputs, {'click': ..., 'purchase': ...})."],
    solution="""
    def build_model():
        inputs = keras.Input(shape=(N_FEATURES,))
        z = layers.Dense(32, activation="relu", name="shared")(inputs)   # used by both heads
        click = layers.Dense(1, activation="sigmoid", name="click")(z)
        purchase = layers.Dense(1, activation="sigmoid", name="purchase")(z)
        return keras.Model(inputs, {"click": click, "purchase": purchase})
    """,
)

# -- q3: how many parameters are shared? -----------------------------------------------------

#: Question 3's textbook model: MultiTaskModel(num_tasks=3) on inputs of 20 features.
Q3_FEATURES, Q3_UNITS, Q3_TASKS = 20, 128, 3


def _dense_params(n_in: int, n_out: int) -> int:
    """A Dense layer holds a kernel (n_in × n_out) and a bias (n_out)."""
    return n_in * n_out + n_out


q3 = ValueQuestion(
    "03.q3",
    f"The textbook MultiTaskModel(num_tasks={Q3_TASKS}) (one shared Dense({Q3_UNITS}, relu), "
    f"one Dense(1) head per task) is used on inputs of {Q3_FEATURES} features. How many of its "
    "parameters are shared by all tasks?",
    expected=_dense_params(Q3_FEATURES, Q3_UNITS),
    wrong=[
        WrongAnswer(Q3_FEATURES * Q3_UNITS, "you counted the kernel only: the shared Dense layer "
                                            "also has one bias per unit"),
        WrongAnswer(_dense_params(Q3_FEATURES, Q3_UNITS) + Q3_TASKS * _dense_params(Q3_UNITS, 1),
                    "that is every parameter of the model: the heads belong to one task each, "
                    "so they are not shared"),
        WrongAnswer(_dense_params(Q3_UNITS, 1), "that is one head: the question asks for the "
                                                "shared layer"),
    ],
    hints=["Only the Dense(128) layer is shared; the heads are per task.",
           "A Dense layer with n_in inputs and n_out units has n_in·n_out + n_out parameters."],
    solution=f"answer = {Q3_FEATURES} * {Q3_UNITS} + {Q3_UNITS}  # kernel + bias of the shared "
             f"layer = {_dense_params(Q3_FEATURES, Q3_UNITS)}",
)

# -- q4: when is hard sharing a good choice? -------------------------------------------------

q4 = ChoiceQuestion(
    "03.q4",
    "In which situation is hard parameter sharing the best first choice?",
    options={
        "a": "click and add-to-cart in a new market: both depend on the same customers and items, "
             "and add-to-cart has few labels",
        "b": "a single click task with millions of labels: one shared bottom gives its head all "
             "the data there is",
        "c": "predicting click and a warehouse's delivery delay from the same impressions: the "
             "two depend on very different features",
        "d": "two related tasks owned by two teams, each of which retrains its own model on its "
             "own release schedule",
    },
    answer="a",
    why_not={
        "b": "with one task there is nothing to share: multi-task learning needs related tasks",
        "c": "tasks that need very different features fight over one shared bottom (negative "
             "transfer); hard sharing suits strongly related tasks",
        "d": "hard sharing ties the tasks into one model: neither team could retrain its task "
             "alone",
    },
    min_reason_words=5,
    reason_solution="the tasks are strongly related and the scarce task borrows what the "
                    "shared layers learn from the plentiful one",
    reason_keywords=[
        ("relat", "similar", "same customers", "same items", "same features", "same users",
         "common", "相关", "相似"),
        ("scarce", "few", "borrow", "little", "label", "transfer", "help", "稀缺", "少", "借"),
    ],
    reason_hint="right choice, but say why: name how the two tasks relate (they depend on the "
                "same customers and items) and who gains (the task with few labels borrows "
                "what the shared layers learn from the other)",
    hints=["Hard sharing forces every task to use the same hidden features.",
           "When does using the same features help, and whom does it help most?"],
)

# -- q5: an experiment, judged by its interval -----------------------------------------------

#: The three verdicts ``Comparison.paired()`` gives.
#: With λ_click = 0 the click head never trains: its AUC must fall at least this far below
#: single-task's (measured: about -0.3), or the run was not the asked-for experiment.
Q5_CLICK_DROP = 0.05
Q5_SEEDS = 5


_CLICK_ON = ("your model's click AUC is about single-task's: the click loss is still on. Set "
             "λ_click = 0 (and λ_purchase = 1) in your builder")

_WRONG_SIGN = sign_hint("your model", "single-task")


def _experiment_model(result: Any) -> str | None:
    others = [m for m in result.models if m != result.reference]
    return others[0] if len(others) == 1 else None


def _check_experiment(result: Any, verdict: Any) -> str | None:
    from mtl_kit.experiments import SINGLE_TASK

    problem = check_comparison(result, Q5_SEEDS)
    if problem is not None:
        return problem
    if result.reference != SINGLE_TASK or SINGLE_TASK not in result.models:
        return "compare against one model per task: leave reference='single-task' (the default)"
    model = _experiment_model(result)
    if model is None:
        return ("compare exactly one model, the hard-sharing model with λ_click = 0, against "
                "single-task: compare({'no click loss': builder}, data, ...)")
    tasks = {t.name for t in result.tasks}
    if not {"click", "purchase"} <= tasks:
        return "use the lesson's data: course_data(('click', 'purchase'))"
    if result.difference(model, "click").mean > -Q5_CLICK_DROP:
        return _CLICK_ON
    return judge_verdict(result.difference(model, "purchase"), verdict,
                         "purchase's interval", _WRONG_SIGN)


def _fake_result(split: str = "val", seeds: int = Q5_SEEDS, purchase_shift: float = 0.0,
                 click_on: bool = False):
    """A small synthetic Comparison shaped like the experiment's (for tests; trains nothing).

    Both models score the same signal with their own noise; the model's purchase scores are
    shifted up by ``purchase_shift`` on the buyers; its click scores are random (the head never
    trained) unless ``click_on``."""
    from mtl_kit.experiments import SINGLE_TASK, Comparison, SeedRun
    from mtl_kit.tasks import as_tasks

    rng, y, users, signal = synthetic_scores(3)
    n = len(users)
    reference, model = [], []
    for _ in range(seeds):
        ref = {t: signal[t] + rng.normal(scale=0.3, size=n) for t in y}
        purchase = (signal["purchase"] + rng.normal(scale=0.3, size=n)
                    + purchase_shift * y["purchase"])
        click = signal["click"] + rng.normal(scale=0.3, size=n) if click_on else rng.random(n)
        reference.append(SeedRun({}, 0, {split: ref}))
        model.append(SeedRun({}, 3, {split: {"click": click, "purchase": purchase}}))
    return Comparison(split, tuple(range(seeds)), as_tasks(("click", "purchase")), y, users,
                      {SINGLE_TASK: reference, "no click loss": model}, SINGLE_TASK)


q5 = ExperimentQuestion(
    "03.q5",
    "Does purchase's gain come from the click loss? Switch the click loss off (λ_click = 0, "
    "λ_purchase = 1) on the lesson's hard-sharing model, compare it with one model per task "
    f"over {Q5_SEEDS} seeds on the validation split, and read purchase's verdict off its "
    "interval: 'better', 'worse' or 'no difference we can detect'.",
    verdict_prompt="read purchase's row of result.paired()",
    checker=_check_experiment,
    correct_example=lambda: (_fake_result(), VERDICTS[2]),
    wrong=[
        *verdict_mistakes(_fake_result, {"purchase_shift": 2.0}, _WRONG_SIGN, Q5_SEEDS),
        WrongAnswer(lambda: (_fake_result(click_on=True), VERDICTS[2]), _CLICK_ON),
    ],
    hints=["A builder sets λ on the compiled model and returns it: "
           "hard.set_loss_weights({'click': 0.0, 'purchase': 1.0}); return hard.",
           "result = compare({'no click loss': no_click_loss}, data, seeds=5, split='val'); "
           "then look at purchase's row of result.paired(): does its interval [low, high] "
           "contain 0?"],
    solution="""
    def no_click_loss(seed):
        hard.set_loss_weights({"click": 0.0, "purchase": 1.0})   # the click loss is off
        return hard

    result = compare({"no click loss": no_click_loss}, data, seeds=5, split="val")
    print(result.describe("no click loss", "purchase"))
    verdict = ...  # the verdict in that sentence: the interval decides it
    """,
)
