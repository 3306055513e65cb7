from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from app.calls.models import Call
from app.leads.models import (
    Application,
    ApplicationStatus,
    Contract,
    Lead,
    LeadStatus,
    ScriptKind,
)
from app.money import Money, format_money, from_minor

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

    @classmethod
    def of(cls, lead: Lead, stage: int) -> LeadPublic:
        """The lead as the API shows it, with the funnel stage worked out for it (0: none)."""
        return cls(
            id=lead.id,
            company=lead.company,
            contact_name=lead.contact_name,
            phones=[phone.phone_e164 for phone in lead.phones],
            campaign=lead.campaign,
            segment=lead.segment,
            region=lead.region,
            industry=lead.industry,
            source=lead.source,
            owner_id=lead.owner_id,
            status=LeadStatus(lead.status),
            stage=stage,
            refusal_reason=lead.refusal_reason,
            refused_at_stage=lead.refused_at_stage,
            notes=lead.notes,
            created_at=lead.created_at,
            updated_at=lead.updated_at,
        )


class LeadMerge(BaseModel):
    model_config = ConfigDict(extra="forbid")

    into: str = Field(description="The lead that keeps the phones, calls and applications.")


class TimelineEntry(BaseModel):
    kind: Literal["call", "application", "contract"]
    at: datetime | None
    id: str
    detail: dict[str, Any]

    @classmethod
    def of_call(cls, call: Call, recording_status: str | None) -> TimelineEntry:
        detail = {
            "direction": call.direction,
            "status": call.status,
            "employee_id": call.employee_id,
            # Every finished call has its end (start + duration where the PBX gave none).
            "ended_at": call.ended_at,
            "talk_seconds": call.talk_seconds,
            "outcome": call.outcome,
            "script_id": call.script_id,
            "recording_status": recording_status,
        }
        return cls(kind="call", at=call.started_at, id=call.id, detail=detail)

    @classmethod
    def of_application(cls, application: Application) -> TimelineEntry:
        detail = {
            "status": application.status,
            "lost_reason": application.lost_reason,
            "closed_at": application.closed_at,
        }
        return cls(kind="application", at=application.created_at, id=application.id, detail=detail)

    @classmethod
    def of_contract(cls, contract: Contract) -> TimelineEntry:
        detail = {
            "application_id": contract.application_id,
            "amount": format_money(from_minor(contract.amount)),
        }
        return cls(kind="contract", at=contract.signed_at, id=contract.id, detail=detail)


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

    @classmethod
    def of(cls, application: Application) -> ApplicationPublic:
        amount = application.estimated_amount
        return cls(
            id=application.id,
            lead_id=application.lead_id,
            source_call_id=application.source_call_id,
            created_at=application.created_at,
            estimated_amount=from_minor(amount) if amount is not None else None,
            status=ApplicationStatus(application.status),
            lost_reason=application.lost_reason,
            closed_at=application.closed_at,
            notes=application.notes,
        )


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

    @classmethod
    def of(cls, contract: Contract, lead_id: str) -> ContractPublic:
        return cls(
            id=contract.id,
            application_id=contract.application_id,
            lead_id=lead_id,
            signed_at=contract.signed_at,
            amount=from_minor(contract.amount),
            margin=from_minor(contract.margin) if contract.margin is not None else None,
        )


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


# ---- list filters: what a list request asks for, parsed and typed by the router ----------------


@dataclass(frozen=True, slots=True)
class LeadFilters:
    phone_e164: str | None = None
    campaign: str | None = None
    owner_id: str | None = None
    status: LeadStatus | None = None
    words: tuple[str, ...] = ()
    """Casefolded words that must all occur in the company or contact name."""
    stage: int | None = None
    """Leads whose funnel stage, by now, is exactly this (0: not staged at all)."""


@dataclass(frozen=True, slots=True)
class ApplicationFilters:
    status: ApplicationStatus | None = None
    lead_id: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    """Exclusive."""


@dataclass(frozen=True, slots=True)
class ContractFilters:
    lead_id: str | None = None
    signed_from: datetime | None = None
    signed_to: datetime | None = None
    """Exclusive."""
