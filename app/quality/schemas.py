"""Request and response shapes of checklists, evaluations, the queue and the figures."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from app.quality.scoring import Answer, AppliesTo

CriterionKey = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9_.-]{1,64}$")
]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Source = Annotated[str, StringConstraints(pattern=r"^(manual|auto:[A-Za-z0-9_.-]{1,50})$")]


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", text.strip().lower()).strip("_")
    return slug[:64] or "section"


class CriterionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: CriterionKey = Field(description="Stable and unique in the checklist.")
    text: Text
    text_ru: Text | None = None
    weight: int = Field(default=1, ge=1, le=1000, description="An integer ≥ 1.")
    critical: bool = Field(default=False, description="Answered no: the whole score is 0.")
    applies_to: AppliesTo = AppliesTo.ANY
    section: CriterionKey | None = Field(
        default=None, description="With a flat `criteria` list: the key of its section."
    )


class SectionIn(BaseModel):
    """A section: its key (or a name/title to make one from) and its criteria."""

    model_config = ConfigDict(extra="forbid")

    key: CriterionKey | None = None
    name: Name | None = None
    title: Name | None = None
    title_ru: Name | None = None
    criteria: list[CriterionIn] = Field(default_factory=list)

    @property
    def section_key(self) -> str:
        return self.key or _slug(self.name or self.title or "")

    @property
    def section_title(self) -> str:
        return self.title or self.name or self.section_key


class ChecklistContent(BaseModel):
    """Sections of criteria, either nested (``sections``) or flat (``criteria`` naming sections)."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    name_ru: Name | None = None
    description: Annotated[str, StringConstraints(max_length=5000)] | None = None
    sections: list[SectionIn] | None = None
    criteria: list[CriterionIn] | None = None

    @model_validator(mode="after")
    def _one_form(self) -> ChecklistContent:
        if self.sections is not None and self.criteria is not None:
            raise ValueError("give either sections (with their criteria) or a flat criteria list")
        if self.has_content:
            keys = [criterion.key for _, criterion in self.flat()]
            if not keys:
                raise ValueError("a checklist needs at least one criterion")
            duplicates = sorted({key for key in keys if keys.count(key) > 1})
            if duplicates:
                raise ValueError(f"criterion keys must be unique: {', '.join(duplicates)}")
        return self

    @property
    def has_content(self) -> bool:
        return self.sections is not None or self.criteria is not None

    def section_list(self) -> list[dict[str, Any]]:
        """[{"key", "title", "title_ru"}] in order of first appearance."""
        found: dict[str, dict[str, Any]] = {}
        if self.sections is not None:
            for section in self.sections:
                found.setdefault(
                    section.section_key,
                    {
                        "key": section.section_key,
                        "title": section.section_title,
                        "title_ru": section.title_ru,
                    },
                )
        for key, _ in self.flat():
            found.setdefault(key, {"key": key, "title": key, "title_ru": None})
        return list(found.values())

    def flat(self) -> list[tuple[str, CriterionIn]]:
        """(section key, criterion) in display order."""
        if self.sections is not None:
            return [(s.section_key, c) for s in self.sections for c in s.criteria]
        return [(c.section or "general", c) for c in self.criteria or []]


class ChecklistCreate(ChecklistContent):
    name: Name

    @model_validator(mode="after")
    def _has_criteria(self) -> ChecklistCreate:
        if not self.has_content:
            raise ValueError("a checklist needs at least one criterion (sections or criteria)")
        return self


class ChecklistUpdate(ChecklistContent):
    """What changes; anything left out is copied from the version it is based on."""


class CriterionPublic(BaseModel):
    key: str
    text: str
    text_ru: str | None
    weight: int
    critical: bool
    applies_to: AppliesTo


class SectionPublic(BaseModel):
    key: str
    title: str
    title_ru: str | None
    criteria: list[CriterionPublic]


class ChecklistPublic(BaseModel):
    id: str
    family_id: str
    version: int
    name: str
    name_ru: str | None
    description: str | None
    created_at: datetime
    latest: bool = Field(description="Whether this is the newest version of its family.")
    in_use: bool = Field(description="Evaluations use it, so it can no longer change.")
    sections: list[SectionPublic]
    criteria_count: int
    total_weight: int


class EvaluationPut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answers: dict[CriterionKey, Answer] = Field(
        default_factory=dict, description='{criterion key: "yes" | "no" | "na"}; missing is na.'
    )
    comment: Annotated[str, StringConstraints(max_length=5000)] | None = None
    source: Source = Field(
        default="manual", description="`manual`, or `auto:<name>` for an automatic evaluator."
    )


class EvaluationPublic(BaseModel):
    id: str
    call_id: str
    checklist_id: str
    family_id: str
    checklist_version: int
    evaluator: str = Field(description="The key's employee id, or else the key's name.")
    evaluator_employee_id: str | None
    source: str
    answers: dict[str, str]
    comment: str | None
    score: float | None = Field(description="0–100, unrounded; null when nothing applies.")
    band: str | None
    critical_failed: bool
    yes_weight: int
    applicable_weight: int
    script_kind: str | None = Field(description="The call's script kind the score followed.")
    created_at: datetime
    updated_at: datetime


class QueueItem(BaseModel):
    id: str = Field(description="The call's id (the same as call_id).")
    call_id: str
    week: str
    employee_id: str
    employee_name: str | None
    lead_id: str | None
    direction: str | None
    started_at: datetime
    talk_seconds: int
    script_id: str | None
    script_kind: str | None
    has_recording: bool


class QueuePage(BaseModel):
    items: list[QueueItem]
    next_cursor: str | None


class ChecklistRef(BaseModel):
    id: str
    family_id: str
    name: str
    version: int


class QualityPeriod(BaseModel):
    from_: datetime = Field(serialization_alias="from")
    to: datetime
    timezone: str
    as_of: datetime


class ScoreGroupPublic(BaseModel):
    key: str | None
    label: str | None
    calls: int = Field(description="Evaluated calls.")
    evaluations: int
    score: float | None = Field(description="Mean of the calls' scores; null if none has one.")
    bands: dict[str, int] = Field(description="Calls per band of their score.")
    critical_failed: int = Field(description="Calls with a critical failure.")


class CriterionGroupPublic(BaseModel):
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
    pass_rate: float | None = Field(description="yes / (yes + no) over the evaluations.")


class StageRatesPublic(BaseModel):
    calls: int = Field(description="Evaluated calls that have a lead.")
    stage3: int
    stage3_rate: float | None
    stage3_ci95: tuple[float, float] | None
    stage4: int
    stage4_rate: float | None
    stage4_ci95: tuple[float, float] | None


class BandOutcomePublic(StageRatesPublic):
    band: str


class CriterionOutcomePublic(BaseModel):
    key: str
    label: str
    label_ru: str | None
    passed: StageRatesPublic
    failed: StageRatesPublic
    difference: float | None = Field(description="Stage-4 rate of passed minus failed.")
    stage3_difference: float | None


class OutcomesPublic(BaseModel):
    bands: list[BandOutcomePublic]
    criteria: list[CriterionOutcomePublic]


class ScriptQualityResponse(BaseModel):
    period: QualityPeriod
    checklist: ChecklistRef
    group_by: str | None
    total: ScoreGroupPublic
    groups: list[ScoreGroupPublic] | list[CriterionGroupPublic] | None = None
    criteria: list[CriterionGroupPublic]
    outcomes: OutcomesPublic


class ScriptQualitySection(BaseModel):
    """The weekly report's "Script quality": the calls of the week that were scored."""

    checklist: ChecklistRef
    total: ScoreGroupPublic
    managers: list[ScoreGroupPublic] = Field(description="By the employee who made the call.")
    scripts: list[ScoreGroupPublic] = Field(description="By the call's script (none: key null).")
    criteria: list[CriterionGroupPublic]
    outcomes: OutcomesPublic
