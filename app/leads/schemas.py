from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from app.leads.models import ApplicationStatus, LeadStatus, ScriptKind
from app.money import Money

Text200 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Text300 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)]
Stage = Annotated[int, Field(ge=0, le=5)]


class LeadFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    company: Text300 | None = None
    contact_name: Text300 | None = None
    campaign: Text200 | None = None
    segment: Text200 | None = None
    region: Text200 | None = None
    industry: Text200 | None = None
    source: Text200 | None = None
    owner_id: str | None = None
    notes: str | None = Field(default=None, max_length=10_000)


class LeadCreate(LeadFields):
    phones: list[str] = Field(
        default_factory=list, max_length=20, description="In any format; stored as E.164."
    )

    @model_validator(mode="after")
    def _identifiable(self) -> LeadCreate:
        if not (self.company or self.contact_name or self.phones):
            raise ValueError("a lead needs at least a company, a contact name or a phone")
        return self


class LeadUpdate(LeadFields):
    """Fields left out keep their value; ``phones``, when given, replaces the list."""

    phones: list[str] | None = Field(default=None, max_length=20)
    status: Literal[LeadStatus.ACTIVE, LeadStatus.REFUSED] | None = Field(
        default=None, description="`won` is set by signing a contract, not by hand."
    )
    refusal_reason: Text300 | None = None
    refused_at_stage: Stage | None = Field(
        default=None, description="The funnel stage (0–5) the lead had reached when it refused."
    )

    @model_validator(mode="after")
    def _refusal_has_reason(self) -> LeadUpdate:
        if self.status is LeadStatus.REFUSED and not self.refusal_reason:
            raise ValueError("a refused lead needs a refusal_reason")
        return self


class LeadPublic(BaseModel):
    id: str
    company: str | None
    contact_name: str | None
    phones: list[str]
    campaign: str | None
    segment: str | None
    region: str | None
    industry: str | None
    source: str | None
    owner_id: str | None
    status: LeadStatus
    stage: int = Field(
        description="The funnel stage reached (0–5) by now, by the rules of the funnel."
    )
    refusal_reason: str | None
    refused_at_stage: int | None
    notes: str | None
    created_at: datetime
    updated_at: datetime


class LeadMerge(BaseModel):
    model_config = ConfigDict(extra="forbid")

    into: str = Field(description="The lead that keeps the phones, calls and applications.")


class TimelineEntry(BaseModel):
    kind: Literal["call", "application", "contract"]
    at: datetime | None
    id: str
    detail: dict[str, Any]


class ImportResult(BaseModel):
    created: int
    updated: int
    skipped: int
    errors: list[dict[str, Any]] = Field(description="`{row, msg}` for each skipped row.")
    warnings: list[str] = Field(default_factory=list)


class ApplicationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lead_id: str
    created_at: datetime | None = Field(default=None, description="Backfill; never in the future.")
    source_call_id: str | None = None
    estimated_amount: Money | None = None
    notes: str | None = Field(default=None, max_length=10_000)


class ApplicationUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal[ApplicationStatus.OPEN, ApplicationStatus.LOST] | None = Field(
        default=None, description="`won` is set by a contract; `lost` needs a lost_reason."
    )
    lost_reason: Text300 | None = None
    closed_at: datetime | None = None
    estimated_amount: Money | None = None
    notes: str | None = Field(default=None, max_length=10_000)

    @model_validator(mode="after")
    def _lost_has_reason(self) -> ApplicationUpdate:
        if self.status is ApplicationStatus.LOST and not self.lost_reason:
            raise ValueError("a lost application needs a lost_reason")
        return self


class ApplicationPublic(BaseModel):
    id: str
    lead_id: str
    source_call_id: str | None
    created_at: datetime
    estimated_amount: Money | None
    status: ApplicationStatus
    lost_reason: str | None
    closed_at: datetime | None
    notes: str | None


class ContractCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    application_id: str
    signed_at: datetime
    amount: Money
    margin: Money | None = Field(
        default=None, description="Empty: amount × the default margin rate."
    )


class ContractPublic(BaseModel):
    id: str
    application_id: str
    lead_id: str
    signed_at: datetime
    amount: Money
    margin: Money | None


class ScriptCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Text200 = Field(min_length=1, examples=["First call v2"])
    kind: ScriptKind
    text: str = Field(default="", max_length=100_000)


class ScriptPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    kind: ScriptKind
    text: str
    created_at: datetime
