"""The score of an evaluation and the figures over many (docs/script_quality.md → Score, Outcomes).

Pure: no database, no I/O, no clock. The service hands in plain criteria and answers; everything
that is a rule of the spec is decided here, once, for the API, the report and the demo alike.

- A criterion whose ``applies_to`` is not the call's script kind counts as ``na`` whatever the
  answer; a call with no script: every criterion applies. A missing answer is ``na``.
- applicable = criteria answered ``yes`` or ``no``;
  score = 100 × Σ weight(yes) / Σ weight(applicable).
- Any critical criterion answered ``no`` → score 0 and ``critical_failed``.
- No applicable criterion → score ``None``.
- A call's score is the mean of its evaluations' scores; a group's, the mean of its calls'.
  Scores are floats, never rounded here (only for display).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from app.settings.quality import ScoreBands


class AppliesTo(StrEnum):
    FIRST_CALL = "first_call"
    SECOND_CALL = "second_call"
    ANY = "any"


class Answer(StrEnum):
    YES = "yes"
    NO = "no"
    NA = "na"


class Band(StrEnum):
    EXCELLENT = "excellent"
    GOOD = "good"
    NEEDS_WORK = "needs_work"
    POOR = "poor"


BANDS: tuple[Band, ...] = tuple(Band)


@dataclass(frozen=True, slots=True)
class Criterion:
    key: str
    weight: int
    critical: bool = False
    applies_to: AppliesTo = AppliesTo.ANY


@dataclass(frozen=True, slots=True)
class Score:
    score: float | None
    critical_failed: bool
    yes_weight: int
    applicable_weight: int


_ANSWERS: dict[str, Answer] = {answer.value: answer for answer in Answer}


def effective_answer(
    criterion: Criterion, answers: Mapping[str, Answer | str], script_kind: str | None
) -> Answer:
    """The answer that counts: ``na`` for a criterion that does not apply to this call's script."""
    if (
        script_kind is not None
        and criterion.applies_to is not AppliesTo.ANY
        and criterion.applies_to != script_kind
    ):
        return Answer.NA
    given = answers.get(criterion.key)
    # A dict lookup, not Answer(given): the figures call this for every criterion of thousands
    # of evaluations.
    return Answer.NA if given is None else _ANSWERS[given]


def score_evaluation(
    criteria: Sequence[Criterion], answers: Mapping[str, Answer | str], script_kind: str | None
) -> Score:
    return score_effective(
        criteria, [effective_answer(criterion, answers, script_kind) for criterion in criteria]
    )


def score_effective(criteria: Sequence[Criterion], effective: Sequence[Answer]) -> Score:
    """The rule over the answers that count (``effective_answer``), one per criterion."""
    yes_weight = applicable_weight = 0
    critical_failed = False
    for criterion, answer in zip(criteria, effective, strict=True):
        if answer is Answer.NA:
            continue
        applicable_weight += criterion.weight
        if answer is Answer.YES:
            yes_weight += criterion.weight
        elif criterion.critical:
            critical_failed = True
    if critical_failed:
        return Score(0.0, True, yes_weight, applicable_weight)
    if applicable_weight == 0:
        return Score(None, False, 0, 0)
    return Score(100 * yes_weight / applicable_weight, False, yes_weight, applicable_weight)


def band_of(score: float | None, bands: ScoreBands) -> Band | None:
    if score is None:
        return None
    if score >= bands.excellent:
        return Band.EXCELLENT
    if score >= bands.good:
        return Band.GOOD
    if score >= bands.needs_work:
        return Band.NEEDS_WORK
    return Band.POOR


def mean(values: Iterable[float | None]) -> float | None:
    """The mean of the known values; ``None`` if none is known."""
    known = [value for value in values if value is not None]
    return sum(known) / len(known) if known else None
