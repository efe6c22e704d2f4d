"""The relatedness explorer (lesson 6): logic in mtl_kit.explorer, view in mtl_kit.widgets."""

import mtl_kit  # noqa: F401

# isort: split
import pytest

from mtl_kit.course import course_data
from mtl_kit.explorer import RELATEDNESS_VALUES, RelatednessLogic, relatedness_logic
from mtl_kit.models import build_hard_sharing
from mtl_kit.widgets import RelatednessExplorer, relatedness_explorer

SMALL_SHOP = {"n_impressions": 6_000, "n_users": 600, "seed": 2}


def test_displaying_the_explorer_trains_nothing():
    explorer = relatedness_explorer(seeds=3)
    assert isinstance(explorer, RelatednessExplorer)
    assert explorer.logic.values == RELATEDNESS_VALUES
    assert explorer.slider.value == 0.6 and not explorer.logic.runs  # the course's p
    assert explorer.table is None and explorer.logic.models == {}
    assert "Train" in explorer.status.value


def test_a_p_off_the_slider_is_reported_not_trained():
    explorer = relatedness_explorer(seeds=2)
    assert explorer.run(0.3) is None
    assert "p must be one of the slider's values" in explorer.status.value
    assert not explorer.logic.runs


@pytest.mark.parametrize("kwargs, error", [
    ({"values": [0.0, 2.0]}, "values must be"),
    ({"values": [0.5, 0.0]}, "increasing"),
    ({"values": 0.5}, "values must be a non-empty list"),
    ({"seeds": 0}, "seeds must be"),
    ({"epochs": 0}, "epochs must be"),
    ({"models": {"PLE": object()}}, "models keys must be"),
    ({"data": {0.3: object()}}, "data keys must be among the slider's values"),
])
def test_bad_settings_are_refused(kwargs, error):
    with pytest.raises((TypeError, ValueError), match=error):
        relatedness_logic(**kwargs)


def test_a_model_for_other_tasks_is_refused():
    data = course_data(("click", "purchase"), **SMALL_SHOP)
    model = build_hard_sharing(("purchase", "click"), data.features, shared=(4,), head=(),
                               embedding_dim=4)
    with pytest.raises(ValueError, match="predicts"):
        RelatednessLogic(("click", "purchase"), models={"hard": model})


@pytest.mark.slow
def test_one_click_trains_every_model_and_tabulates_the_gains():
    data = course_data(("click", "purchase"), **SMALL_SHOP)
    explorer = relatedness_explorer(seeds=2, epochs=1, values=(0.0, 0.6), data={0.6: data})
    table = explorer.run(0.6)
    assert table is not None, explorer.status.value
    assert list(table["model"]) == ["hard", "hard", "MMoE", "MMoE"]
    assert set(table["task"]) == {"click", "purchase"}
    assert ((table["low"] <= table["gain"]) & (table["gain"] <= table["high"])).all()
    assert "p = +0.6" in explorer.status.value and explorer.image.value
    assert "gain [95 % interval]" in explorer.table_html.value
    assert list(explorer.logic.all_gains()["task_correlation"].unique()) == [0.6]
    hard = explorer.logic.models["hard"]
    explorer.run(0.6)  # the same compiled model again
    assert explorer.logic.models["hard"] is hard
