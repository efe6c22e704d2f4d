"""The course's standard shop: scarce purchase labels in training, complete labels in test."""

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
    assert set(data.x_train) == set(data.features.categorical) | {"numeric"}


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
