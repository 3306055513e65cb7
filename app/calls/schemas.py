from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.auth.scope import Scope
from app.calls.events import CallStatus, Direction
from app.calls.models import Call
from app.calls.outcomes import Outcome
from app.recordings.models import Recording, RecordingStatus


class RecordingSummary(BaseModel):
    status: RecordingStatus
    duration_seconds: int | None
    url: str = Field(description="Where the audio plays from (with Range support) once stored.")
    content_type: str | None = None
    size_bytes: int | None = None
    attempts: int = Field(0, description="Download attempts so far.")
    error: str | None = Field(None, description="Why the last download attempt failed.")

    @classmethod
    def of(cls, recording: Recording) -> RecordingSummary:
        return cls(
            status=RecordingStatus(recording.status),
            duration_seconds=recording.duration_seconds,
            url=f"/api/v1/calls/{recording.call_id}/recording",
            content_type=recording.content_type,
            size_bytes=recording.size_bytes,
            attempts=recording.attempts,
            error=recording.last_error,
        )


class CallPublic(BaseModel):
    id: str
    integration_id: str | None = Field(
        description="Admin keys only (null for others): the secret part of the webhook URL."
    )
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

    @classmethod
    def of(cls, call: Call, recording: Recording | None, scope: Scope) -> CallPublic:
        summary = None if recording is None else RecordingSummary.of(recording)
        fields = {name: getattr(call, name) for name in cls.model_fields if name != "recording"}
        if not scope.reads_integration_ids:
            fields["integration_id"] = None
        return cls.model_validate({**fields, "recording": summary})


@dataclass(frozen=True, slots=True)
class CallFilters:
    """What a call list asks for, parsed and typed by the router."""

    started_from: datetime | None = None
    started_to: datetime | None = None
    """Exclusive."""
    direction: Direction | None = None
    status: CallStatus | None = None
    outcome: Outcome | None = None
    employee_id: str | None = None
    lead_id: str | None = None
    has_recording: bool | None = None
    integration_id: str | None = None
    provider_call_id: str | None = None


class CallUpdate(BaseModel):
    """Tagging a call; fields left out keep their value, ``null`` clears one."""

    model_config = ConfigDict(extra="forbid")

    outcome: Outcome | None = Field(
        default=None, description="`application` also forms an application for the lead."
    )
    script_id: str | None = None
    notes: str | None = Field(default=None, max_length=10_000)
