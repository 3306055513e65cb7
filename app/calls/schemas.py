from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.calls.outcomes import Outcome
from app.webhooks.providers.base import CallStatus, Direction


class RecordingSummary(BaseModel):
    status: str
    duration_seconds: int | None
    url: str


class CallPublic(BaseModel):
    id: str
    integration_id: str
    provider_call_id: str
    direction: Direction | None
    status: CallStatus | None
    external_number: str | None
    extension: str | None
    employee_id: str | None
    lead_id: str | None
    started_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    ring_seconds: int | None
    talk_seconds: int | None
    duration_seconds: int | None
    disconnect_reason: str | None
    outcome: Outcome | None
    script_id: str | None
    notes: str | None
    recording: RecordingSummary | None


class CallUpdate(BaseModel):
    """Tagging a call; fields left out keep their value, ``null`` clears one."""

    model_config = ConfigDict(extra="forbid")

    outcome: Outcome | None = Field(
        default=None, description="`application` also forms an application for the lead."
    )
    script_id: str | None = None
    notes: str | None = Field(default=None, max_length=10_000)
