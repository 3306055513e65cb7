"""Script-quality figures over plain rows: scores per group, criteria, and what they predict.

Pure: no database, no I/O, no clock. ``app.quality.queries`` brings one row per evaluated call (with
the highest funnel stage its lead reached by ``as_of``) and one per evaluation; everything below is
arithmetic over those rows, so it is checked directly against the rules in the tests.

Outcomes (docs/script_quality.md → Outcomes) count evaluated calls that have a lead: a call
without one takes part in no funnel figure (docs/metrics.md), so it cannot say whether its lead
went on. A call
*passed* a criterion when its evaluations answered it ``yes`` more often than ``no`` (after the
``applies_to`` rule), *failed* it when ``no`` more often; a tie or only ``na`` is neither.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from app.metrics.funnel import week_key, wilson_interval
from app.quality.scoring import (
    BANDS,
    Answer,
    Band,
    Criterion,
    band_of,
    effective_answer,
    mean,
    score_effective,
)
from app.settings.quality import ScoreBands

QualityGroupBy = Literal["employee", "script", "criterion", "week"]


@dataclass(frozen=True, slots=True)
class CriterionInfo:
    criterion: Criterion
    section: str
    text: str
    text_ru: str | None


@dataclass(frozen=True, slots=True)
class Version:
    id: str
    version: int
    criteria: tuple[CriterionInfo, ...]


@dataclass(frozen=True, slots=True)
class CallRow:
    call_id: str
    started_at: datetime
    employee_id: str | None
    employee_name: str | None
    script_id: str | None
    script_name: str | None
    script_kind: str | None
    lead_id: str | None
    lead_stage: int  # the highest stage the lead reached by as_of; 0 for none (or no lead)


@dataclass(frozen=True, slots=True)
class EvaluationRow:
    call_id: str
    checklist_id: str
    answers: Mapping[str, str]


@dataclass(slots=True)
class ScoreGroup:
    key: str | None
    label: str | None
    calls: int = 0
    evaluations: int = 0
    score: float | None = None
    bands: dict[str, int] = field(default_factory=lambda: {band.value: 0 for band in BANDS})
    critical_failed: int = 0


@dataclass(frozen=True, slots=True)
class CriterionGroup:
    key: str
    label: str
    label_ru: str | None
    section: str
    weight: int
    critical: bool
    applies_to: str
    yes: int
    no: int
    na: int
    pass_rate: float | None


@dataclass(frozen=True, slots=True)
class StageRates:
    calls: int
    stage3: int
    stage3_rate: float | None
    stage3_ci95: tuple[float, float] | None
    stage4: int
    stage4_rate: float | None
    stage4_ci95: tuple[float, float] | None


@dataclass(frozen=True, slots=True)
class BandOutcome:
    band: str
    rates: StageRates


@dataclass(frozen=True, slots=True)
class CriterionOutcome:
    key: str
    label: str
    label_ru: str | None
    passed: StageRates
    failed: StageRates
    difference: float | None  # stage-4 rate of passed − failed
    stage3_difference: float | None


@dataclass(frozen=True, slots=True)
class Outcomes:
    bands: tuple[BandOutcome, ...]
    criteria: tuple[CriterionOutcome, ...]


@dataclass(frozen=True, slots=True)
class QualityFigures:
    total: ScoreGroup
    groups: list[ScoreGroup] | list[CriterionGroup] | None
    criteria: tuple[CriterionGroup, ...]
    outcomes: Outcomes


@dataclass(slots=True)
class _Call:
    row: CallRow
    evaluations: int
    score: float | None
    band: Band | None
    critical_failed: bool
    # criterion key → (yes, no) over the call's evaluations, after the applies_to rule
    verdicts: dict[str, list[int]]


def catalogue(versions: Sequence[Version]) -> list[CriterionInfo]:
    """Every criterion key of a family: the newest version's in its order, then older ones'."""
    seen: dict[str, CriterionInfo] = {}
    for version in sorted(versions, key=lambda v: -v.version):
        for info in version.criteria:
            seen.setdefault(info.criterion.key, info)
    return list(seen.values())


def compute_figures(
    calls: Sequence[CallRow],
    evaluations: Sequence[EvaluationRow],
    versions: Mapping[str, Version],
    bands: ScoreBands,
    *,
    group_by: QualityGroupBy | None,
    zone: ZoneInfo,
) -> QualityFigures:
    by_call: dict[str, list[EvaluationRow]] = defaultdict(list)
    for evaluation in evaluations:
        by_call[evaluation.call_id].append(evaluation)
    criteria = catalogue(list(versions.values()))
    counts: dict[str, dict[Answer, int]] = {
        info.criterion.key: dict.fromkeys(Answer, 0) for info in criteria
    }
    scored: list[_Call] = []
    for row in calls:
        own = by_call.get(row.call_id, [])
        if not own:
            continue
        scores, failed = [], False
        verdicts: dict[str, list[int]] = {}
        for evaluation in own:
            version = versions[evaluation.checklist_id]
            plain = [info.criterion for info in version.criteria]
            effective = [
                effective_answer(criterion, evaluation.answers, row.script_kind)
                for criterion in plain
            ]
            result = score_effective(plain, effective)
            scores.append(result.score)
            failed = failed or result.critical_failed
            for criterion, answer in zip(plain, effective, strict=True):
                counts[criterion.key][answer] += 1
                tally = verdicts.setdefault(criterion.key, [0, 0])
                if answer is Answer.YES:
                    tally[0] += 1
                elif answer is Answer.NO:
                    tally[1] += 1
        call_score = mean(scores)
        scored.append(
            _Call(row, len(own), call_score, band_of(call_score, bands), failed, verdicts)
        )
    criterion_groups = tuple(
        _criterion_group(info, counts[info.criterion.key]) for info in criteria
    )
    groups: list[ScoreGroup] | list[CriterionGroup] | None
    if group_by is None:
        groups = None
    elif group_by == "criterion":
        groups = list(criterion_groups)
    else:
        groups = _score_groups(scored, group_by, zone)
    return QualityFigures(
        total=_score_group(None, None, scored),
        groups=groups,
        criteria=criterion_groups,
        outcomes=_outcomes(scored, criteria),
    )


def _score_group(key: str | None, label: str | None, calls: Sequence[_Call]) -> ScoreGroup:
    group = ScoreGroup(key=key, label=label)
    group.calls = len(calls)
    group.evaluations = sum(call.evaluations for call in calls)
    group.score = mean(call.score for call in calls)
    for call in calls:
        if call.band is not None:
            group.bands[call.band.value] += 1
    group.critical_failed = sum(1 for call in calls if call.critical_failed)
    return group


def _score_groups(
    calls: Sequence[_Call], group_by: QualityGroupBy, zone: ZoneInfo
) -> list[ScoreGroup]:
    members: dict[str | None, list[_Call]] = defaultdict(list)
    labels: dict[str | None, str | None] = {}
    for call in calls:
        row = call.row
        if group_by == "employee":
            key, label = row.employee_id, row.employee_name
        elif group_by == "script":
            key, label = row.script_id, row.script_name
        else:
            key = week_key(row.started_at, zone)
            label = key
        members[key].append(call)
        labels[key] = label
    # Unknown (no employee, no script) last; weeks sort by their ISO keys.
    ordered = sorted(members, key=lambda key: (key is None, key or ""))
    return [_score_group(key, labels[key], members[key]) for key in ordered]


def _criterion_group(info: CriterionInfo, counts: Mapping[Answer, int]) -> CriterionGroup:
    yes, no = counts[Answer.YES], counts[Answer.NO]
    criterion = info.criterion
    return CriterionGroup(
        key=criterion.key,
        label=info.text,
        label_ru=info.text_ru,
        section=info.section,
        weight=criterion.weight,
        critical=criterion.critical,
        applies_to=criterion.applies_to.value,
        yes=yes,
        no=no,
        na=counts[Answer.NA],
        pass_rate=yes / (yes + no) if yes + no else None,
    )


def stage_rates(stages: Sequence[int]) -> StageRates:
    """Of the leads' highest stages given, the counts and rates at stage 3 and 4 or beyond."""
    n = len(stages)
    third = sum(1 for stage in stages if stage >= 3)
    fourth = sum(1 for stage in stages if stage >= 4)
    return StageRates(
        calls=n,
        stage3=third,
        stage3_rate=third / n if n else None,
        stage3_ci95=wilson_interval(third, n),
        stage4=fourth,
        stage4_rate=fourth / n if n else None,
        stage4_ci95=wilson_interval(fourth, n),
    )


def _difference(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _outcomes(calls: Sequence[_Call], criteria: Sequence[CriterionInfo]) -> Outcomes:
    with_lead = [call for call in calls if call.row.lead_id is not None]
    bands = tuple(
        BandOutcome(
            band.value, stage_rates([c.row.lead_stage for c in with_lead if c.band is band])
        )
        for band in BANDS
    )
    outcomes = []
    for info in criteria:
        key = info.criterion.key
        passed: list[int] = []
        failed: list[int] = []
        for call in with_lead:
            yes, no = call.verdicts.get(key, (0, 0))
            if yes > no:
                passed.append(call.row.lead_stage)
            elif no > yes:
                failed.append(call.row.lead_stage)
        p, f = stage_rates(passed), stage_rates(failed)
        outcomes.append(
            CriterionOutcome(
                key=key,
                label=info.text,
                label_ru=info.text_ru,
                passed=p,
                failed=f,
                difference=_difference(p.stage4_rate, f.stage4_rate),
                stage3_difference=_difference(p.stage3_rate, f.stage3_rate),
            )
        )
    return Outcomes(bands=bands, criteria=tuple(outcomes))
