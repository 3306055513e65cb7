"""The score rule (docs/script_quality.md → Score): the worked cases, and a property test of the
pure function against a plain reading of the rule on random checklists and answers."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.quality.defaults import DEFAULT_CRITERIA
from app.quality.scoring import (
    Answer,
    AppliesTo,
    Band,
    Criterion,
    band_of,
    mean,
    score_evaluation,
)
from app.settings.quality import ScoreBands

DEFAULT = [
    Criterion(key, weight, critical, AppliesTo(applies_to))
    for key, _section, _text, _ru, weight, applies_to, critical in DEFAULT_CRITERIA
]
KEYS = [criterion.key for criterion in DEFAULT]
BANDS = ScoreBands()


def all_yes(**changes: str) -> dict[str, str]:
    return {key: changes.get(key, "yes") for key in KEYS}


def test_applicable_weights_of_the_default_checklist() -> None:
    everything = all_yes()
    assert score_evaluation(DEFAULT, everything, "first_call").applicable_weight == 18
    assert score_evaluation(DEFAULT, everything, "second_call").applicable_weight == 23
    assert score_evaluation(DEFAULT, everything, None).applicable_weight == 28


@pytest.mark.parametrize(
    ("kind", "answers", "expected", "band"),
    [
        ("first_call", all_yes(proof="no", convenience="na"), 100 * 16 / 17, Band.EXCELLENT),
        (
            "second_call",
            all_yes(need="no", decision_process="no", application="no"),
            100 * 16 / 23,
            Band.NEEDS_WORK,
        ),
        ("first_call", all_yes(courtesy="no"), 0.0, Band.POOR),
        ("first_call", {"need": "yes"}, None, None),
        (None, all_yes(company="no"), 100 * 26 / 28, Band.EXCELLENT),
    ],
    ids=["first-call", "second-call", "critical", "nothing-applies", "no-script"],
)
def test_worked_cases(
    kind: str | None, answers: dict[str, str], expected: float | None, band: Band | None
) -> None:
    result = score_evaluation(DEFAULT, answers, kind)
    if expected is None:
        assert result.score is None
    else:
        assert result.score is not None
        assert math.isclose(result.score, expected, rel_tol=1e-12)
    assert result.critical_failed is (answers.get("courtesy") == "no")
    assert band_of(result.score, BANDS) is band


def test_worked_case_figures_as_the_spec_prints_them() -> None:
    first = score_evaluation(DEFAULT, all_yes(proof="no", convenience="na"), "first_call")
    assert f"{first.score:.4f}" == "94.1176"
    second = score_evaluation(
        DEFAULT, all_yes(need="no", decision_process="no", application="no"), "second_call"
    )
    assert f"{second.score:.4f}" == "69.5652"
    assert f"{score_evaluation(DEFAULT, all_yes(company='no'), None).score:.3f}" == "92.857"


def test_a_critical_no_is_zero_even_when_everything_else_is_yes() -> None:
    result = score_evaluation(DEFAULT, {"courtesy": "no"}, None)
    assert (result.score, result.critical_failed) == (0.0, True)


def test_a_critical_criterion_that_does_not_apply_cannot_fail() -> None:
    criteria = [
        Criterion("a", 1),
        Criterion("b", 1, critical=True, applies_to=AppliesTo.FIRST_CALL),
    ]
    result = score_evaluation(criteria, {"a": "yes", "b": "no"}, "second_call")
    assert (result.score, result.critical_failed) == (100.0, False)


def test_missing_answers_are_na() -> None:
    criteria = [Criterion("a", 2), Criterion("b", 3)]
    assert score_evaluation(criteria, {"a": "no"}, None).score == 0.0
    assert score_evaluation(criteria, {}, None).score is None


def test_bands_at_their_bounds() -> None:
    assert band_of(85.0, BANDS) is Band.EXCELLENT
    assert band_of(84.999, BANDS) is Band.GOOD
    assert band_of(70.0, BANDS) is Band.GOOD
    assert band_of(50.0, BANDS) is Band.NEEDS_WORK
    assert band_of(49.99, BANDS) is Band.POOR
    assert band_of(0.0, BANDS) is Band.POOR
    custom = ScoreBands(excellent=90, good=80, needs_work=60)
    assert band_of(85.0, custom) is Band.GOOD


def test_bands_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="ordered"):
        ScoreBands(excellent=60, good=70, needs_work=50)


def test_mean_ignores_unknown_scores() -> None:
    assert mean([None, 50.0, 100.0]) == 75.0
    assert mean([None, None]) is None
    assert mean([]) is None


# --------------------------------------------------------------------------- property


def plain_reading(
    criteria: list[Criterion], answers: dict[str, str], kind: str | None
) -> tuple[float | None, bool]:
    """The rule as the spec words it, written independently of the code under test."""
    counted = {}
    for c in criteria:
        answer = answers.get(c.key, "na")
        if kind is not None and c.applies_to.value not in ("any", kind):
            answer = "na"
        counted[c.key] = answer
    if any(c.critical and counted[c.key] == "no" for c in criteria):
        return 0.0, True
    applicable = [c for c in criteria if counted[c.key] in ("yes", "no")]
    if not applicable:
        return None, False
    yes = sum(c.weight for c in applicable if counted[c.key] == "yes")
    return 100 * yes / sum(c.weight for c in applicable), False


criterion_lists = st.lists(
    st.builds(
        Criterion,
        key=st.text("abcdefgh", min_size=1, max_size=3),
        weight=st.integers(1, 20),
        critical=st.booleans(),
        applies_to=st.sampled_from(list(AppliesTo)),
    ),
    min_size=1,
    max_size=20,
    unique_by=lambda c: c.key,
)


@settings(max_examples=400, deadline=None)
@given(
    data=st.data(),
    criteria=criterion_lists,
    kind=st.sampled_from([None, "first_call", "second_call"]),
)
def test_score_matches_a_plain_reading_of_the_rule(
    data: st.DataObject, criteria: list[Criterion], kind: str | None
) -> None:
    keys = [c.key for c in criteria]
    answers = data.draw(
        st.dictionaries(st.sampled_from(keys), st.sampled_from([a.value for a in Answer]))
    )
    expected_score, expected_failed = plain_reading(criteria, answers, kind)
    result = score_evaluation(criteria, answers, kind)
    assert result.critical_failed is expected_failed
    if expected_score is None:
        assert result.score is None
    else:
        assert result.score is not None
        assert math.isclose(result.score, expected_score, rel_tol=1e-12, abs_tol=1e-12)
        assert 0.0 <= result.score <= 100.0
    band = band_of(result.score, BANDS)
    assert (band is None) is (result.score is None)
