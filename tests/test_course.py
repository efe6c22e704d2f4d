"""The course's standard shop: scarce purchase labels in training, complete labels in test."""

import keras
import numpy as np
import pytest

from mtl_kit.course import COURSE_SHOP, course_data


def test_course_data_splits_by_user_with_scarce_purchase_labels():
    data = course_data(("click", "purchase"))
    users = [set(part.impressions["user_id"]) for part in (data.train, data.val, data.test)]
    assert not (users[0] & users[1] or users[0] & users[2] or users[1] & users[2])
    observed = 1 - np.isnan(data.y_train["purchase"]).mean()
    assert observed == pytest.approx(COURSE_SHOP["label_fraction"]["purchase"], abs=0.02)
    assert not np.isnan(data.y_train["click"]).any()
    assert not np.isnan(data.y_test["purchase"]).any()
    assert not np.isnan(data.y_val["purchase"]).any()  # validation is fully labelled too
    assert set(data.x_train) == set(data.features.categorical) | {"numeric", "user_id"}


def test_the_test_split_is_big_enough_for_a_purchase_auc_within_0_01():
    """Hanley & McNeil (1982): SE of an AUC of 0.8 with the test split's positives/negatives."""
    data = course_data(("click", "purchase"))
    positives = int(data.y_test["purchase"].sum())
    negatives = data.y_test["purchase"].size - positives
    auc = 0.8
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    se = np.sqrt((auc * (1 - auc) + (positives - 1) * (q1 - auc**2)
                  + (negatives - 1) * (q2 - auc**2)) / (positives * negatives))
    assert positives >= 1_000 and se <= 0.01
    # ... while training keeps its scarce purchase labels
    assert np.nansum(data.y_train["purchase"]) < 50


def table_values(model, feature: str) -> np.ndarray:
    """An embedding table as NumPy on any backend (torch's needs a detach)."""
    return np.array(keras.ops.convert_to_numpy(model.encoder.embedding_table(feature)))


def test_no_untrained_embedding_row_is_used_at_test_time():
    """Test users are new, so user_id is not a model input; every other id the validation and
    test rows use occurs in training, and its embedding row moves when the model trains."""
    from mtl_kit.models import build_hard_sharing

    data = course_data(("click", "purchase"))
    assert "user_id" not in data.features.categorical
    for feature in data.features.categorical:
        seen = set(np.unique(data.x_train[feature]))
        for split in ("val", "test"):
            x, _ = data.split_arrays(split)
            assert set(np.unique(x[feature])) <= seen, (feature, split)
    model = build_hard_sharing(data.tasks, data.features, seed=0)
    before = {f: table_values(model, f) for f in data.features.categorical}
    model.fit(data.x_train, data.y_train, epochs=1, batch_size=512)
    for feature, initial in before.items():
        used = np.unique(data.x_test[feature])
        after = table_values(model, feature)
        moved = np.any(after[used] != initial[used], axis=1)
        assert moved.all(), f"{feature}: rows {used[~moved]} used at test time never trained"


def test_knobs_override_the_course_shop():
    data = course_data(("click",), task_correlation=0.0, n_impressions=3_000)
    assert data.shop.params["task_correlation"] == 0.0
    assert len(data.shop) == 3_000


@pytest.mark.parametrize(
    ("tasks", "knobs", "error", "message"),
    [
        ((), {}, TypeError, "tasks"),
        ("click", {}, TypeError, "tasks"),
        (("clicks",), {}, ValueError, "clicks"),
        (("click",), {"n_rows": 5}, ValueError, "n_rows"),
    ],
)
def test_bad_arguments_name_themselves(tasks, knobs, error, message):
    with pytest.raises(error, match=message):
        course_data(tasks, **knobs)
