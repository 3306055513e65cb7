"""Typed answers of the callback endpoints (docs/callbacks.md → API), mapped from pure results."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime

from pydantic import BaseModel, Field

from app.callbacks.cases import Case, CaseStatus, Figures, GroupKey, Resolution, Sla
from app.settings.callbacks import CallbackSettings


class SpreadOut(BaseModel):
    median: float | None = Field(description="The ordinary median; null with no values.")
    p90: float | None = Field(description="Nearest rank: the value at position ceil(0.9 n).")


class CallbackFigures(BaseModel):
    missed_calls: int = Field(description="Missed calls of the cases opened in the period.")
    short_abandoned: int = Field(description="Short abandons started in the period.")
    cases: int
    out_of_hours: int = Field(description="Cases opened outside working hours.")
    called_back: int = Field(description="Cases with a first attempt (an outbound call).")
    contacted: int
    contacted_by_callback: int
    contacted_by_client: int
    lost: int
    hot_lost: int = Field(description="Lost cases of leads that had reached stage 2.")
    pending: int
    sla_met: int
    sla_breached: int
    within_sla_rate: float | None = Field(description="met / (met + breached); null with none.")
    time_to_first_attempt_seconds: SpreadOut = Field(description="Working-time clock.")
    time_to_contact_seconds: SpreadOut = Field(description="Working-time clock.")
    applications_after_contact: int

    @classmethod
    def of(cls, figures: Figures) -> CallbackFigures:
        return cls.model_validate(_figure_values(figures))


def _figure_values(figures: Figures) -> dict[str, object]:
    values: dict[str, object] = {}
    for item in fields(figures):
        value = getattr(figures, item.name)
        values[item.name] = value.to_json() if hasattr(value, "to_json") else value
    return values


class CallbackGroup(CallbackFigures):
    key: GroupKey = Field(
        description="Employee id (the case's owner), local date, ISO weekday 1-7 or hour 0-23."
    )
    label: str | None

    @classmethod
    def of_group(cls, key: GroupKey, label: str | None, figures: Figures) -> CallbackGroup:
        return cls.model_validate({"key": key, "label": label, **_figure_values(figures)})


class CallbackPeriod(BaseModel):
    from_: datetime = Field(serialization_alias="from")
    to: datetime
    timezone: str
    as_of: datetime


class CallbackMetricsResponse(BaseModel):
    period: CallbackPeriod
    settings: CallbackSettings
    total: CallbackFigures
    groups: list[CallbackGroup] | None = Field(
        default=None, description="Present with group_by; the groups add up to the total."
    )


class CallbackCase(BaseModel):
    """One case: a lead waiting (or having waited) for a call back."""

    lead_id: str
    company: str | None
    phone: str | None = Field(description="The lead's first phone number (E.164).")
    first_missed_call_id: str
    opened_at: datetime
    deadline: datetime = Field(description="opened_at + window_hours: lost if no contact by then.")
    missed_calls: int
    first_attempt_at: datetime | None
    contact_at: datetime | None
    status: CaseStatus
    resolution: Resolution | None
    owner_id: str | None
    owner_name: str | None
    sla: Sla
    sla_deadline: datetime | None = Field(
        description="When the SLA clock reaches sla_minutes (null: the week has no working hours)."
    )
    hot: bool = Field(description="The lead had reached stage 2 when the case opened.")
    out_of_hours: bool

    @classmethod
    def of(
        cls, case: Case, company: str | None, phone: str | None, owner_name: str | None
    ) -> CallbackCase:
        return cls(
            lead_id=case.lead_id,
            company=company,
            phone=phone,
            first_missed_call_id=case.first_missed_call_id,
            opened_at=case.opened_at,
            deadline=case.deadline,
            missed_calls=case.missed_calls,
            first_attempt_at=case.first_attempt_at,
            contact_at=case.contact_at,
            status=case.status,
            resolution=case.resolution,
            owner_id=case.owner_id,
            owner_name=owner_name,
            sla=case.sla,
            sla_deadline=case.sla_deadline,
            hot=case.hot,
            out_of_hours=case.out_of_hours,
        )


class CallbackManager(CallbackFigures):
    """One manager's cases of the week (the case owner's), or those of nobody."""

    employee_id: str | None
    name: str | None


class LostHotLead(BaseModel):
    """A lead that had reached stage 2, called in, and was never reached back in time."""

    lead_id: str
    company: str | None
    phone: str | None
    opened_at: datetime
    missed_calls: int
    first_attempt_at: datetime | None
    owner_id: str | None
    owner_name: str | None


class CallbacksSection(BaseModel):
    """The weekly report's "Missed calls and callbacks": the week's cases against the week
    before, per manager, and the hot leads lost (the money at risk, by name)."""

    this_week: CallbackFigures = Field(description="Cases opened in the report's week.")
    previous_week: CallbackFigures = Field(description="Cases opened the week before.")
    managers: list[CallbackManager] = Field(description="By case owner; they add up to this_week.")
    hot_lost: list[LostHotLead] = Field(description="The week's lost hot cases, oldest first.")
