"""The figures as the API answers them (``ScriptQualityResponse``)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from app.quality.figures import (
    CriterionGroup,
    QualityGroupBy,
    ScoreGroup,
    StageRates,
)
from app.quality.schemas import (
    BandOutcomePublic,
    ChecklistRef,
    CriterionGroupPublic,
    CriterionOutcomePublic,
    OutcomesPublic,
    QualityPeriod,
    ScoreGroupPublic,
    ScriptQualityResponse,
    ScriptQualitySection,
    StageRatesPublic,
)
from app.quality.service import ScriptQualityAnswer


def _rates(rates: StageRates) -> StageRatesPublic:
    return StageRatesPublic.model_validate(rates, from_attributes=True)


def _score_group(group: ScoreGroup) -> ScoreGroupPublic:
    return ScoreGroupPublic.model_validate(group, from_attributes=True)


def _criterion_group(group: CriterionGroup) -> CriterionGroupPublic:
    return CriterionGroupPublic.model_validate(group, from_attributes=True)


def _checklist(answer: ScriptQualityAnswer) -> ChecklistRef:
    return ChecklistRef(
        id=answer.checklist.id,
        family_id=answer.checklist.family_id,
        name=answer.latest.name,
        version=answer.latest.version,
    )


def _groups(
    answer: ScriptQualityAnswer,
) -> list[ScoreGroupPublic] | list[CriterionGroupPublic] | None:
    groups = answer.figures.groups
    if groups is None:
        return None
    if all(isinstance(group, CriterionGroup) for group in groups):
        return [_criterion_group(group) for group in groups if isinstance(group, CriterionGroup)]
    return [_score_group(group) for group in groups if isinstance(group, ScoreGroup)]


def _outcomes(answer: ScriptQualityAnswer) -> OutcomesPublic:
    outcomes = answer.figures.outcomes
    return OutcomesPublic(
        bands=[
            BandOutcomePublic(band=band.band, **_rates(band.rates).model_dump())
            for band in outcomes.bands
        ],
        criteria=[
            CriterionOutcomePublic(
                key=criterion.key,
                label=criterion.label,
                label_ru=criterion.label_ru,
                passed=_rates(criterion.passed),
                failed=_rates(criterion.failed),
                difference=criterion.difference,
                stage3_difference=criterion.stage3_difference,
            )
            for criterion in outcomes.criteria
        ],
    )


def figures_response(
    answer: ScriptQualityAnswer,
    *,
    start: datetime,
    end: datetime,
    as_of: datetime,
    zone: ZoneInfo,
    group_by: QualityGroupBy | None,
) -> ScriptQualityResponse:
    return ScriptQualityResponse(
        period=QualityPeriod(from_=start, to=end, timezone=zone.key, as_of=as_of),
        checklist=_checklist(answer),
        group_by=group_by,
        total=_score_group(answer.figures.total),
        groups=_groups(answer),
        criteria=[_criterion_group(group) for group in answer.figures.criteria],
        outcomes=_outcomes(answer),
    )


def report_section(
    by_employee: ScriptQualityAnswer, by_script: ScriptQualityAnswer
) -> ScriptQualitySection:
    """The weekly report's section, from the figures grouped by employee and by script."""
    managers, scripts = _groups(by_employee), _groups(by_script)
    return ScriptQualitySection(
        checklist=_checklist(by_employee),
        total=_score_group(by_employee.figures.total),
        managers=[group for group in managers or [] if isinstance(group, ScoreGroupPublic)],
        scripts=[group for group in scripts or [] if isinstance(group, ScoreGroupPublic)],
        criteria=[_criterion_group(group) for group in by_employee.figures.criteria],
        outcomes=_outcomes(by_employee),
    )
