"""A multiple-choice reason is judged by the idea it names (keyword groups), not its length."""

import pytest

from mtl_kit.exercises import ChoiceQuestion, IncorrectAnswer


def _question(**options):
    return ChoiceQuestion("test.reason", "Which one?", {"a": "this", "b": "that"}, "b",
                          why_not={"a": "not this"}, min_reason_words=4,
                          reason_solution="because calibration moves the ranking order",
                          **options)


def test_a_reason_must_name_one_stem_of_every_group(capsys):
    q = _question(reason_keywords=[("calibrat", "probabilit"), ("rank", "order")],
                  reason_hint="say what calibration does to the ranking")
    q.check("b", "the probabilities change the item ORDER")  # case does not matter
    assert "Correct" in capsys.readouterr().out
    with pytest.raises(IncorrectAnswer, match="say what calibration does to the ranking"):
        q.check("b", "the probabilities change, I am quite sure of it")  # no rank/order
    with pytest.raises(IncorrectAnswer, match="say what calibration does"):
        q.check("b", "a long reason with many words but without the idea at all")
    with pytest.raises(IncorrectAnswer, match="at least 4 words"):
        q.check("b", "calibration ranking")  # named, but too short


def test_without_a_hint_the_feedback_names_a_stem_and_examples_replay_it(capsys):
    q = _question(reason_keywords=["calibrat"])
    with pytest.raises(IncorrectAnswer, match="a word like 'calibrat'"):
        q.check("b", "because it is simply the right answer here")
    correct, wrong = q.examples()
    q.check(*correct)
    assert "Correct" in capsys.readouterr().out
    assert any(args[0] == "b" for args, _ in wrong)  # the vague reason is a registered mistake
    for args, feedback in wrong:
        with pytest.raises(IncorrectAnswer):
            q.check(*args)
        assert feedback in capsys.readouterr().out


def test_no_keywords_keeps_the_old_behaviour(capsys):
    q = _question()
    q.check("b", "any reason of four words")
    assert "Correct" in capsys.readouterr().out
    assert len(q.examples()[1]) == 1


@pytest.mark.parametrize("keywords", ["calibrat", [()], [("ok", "")], [3]])
def test_bad_keywords_are_refused(keywords):
    with pytest.raises(TypeError, match="reason_keywords must be"):
        _question(reason_keywords=keywords)
