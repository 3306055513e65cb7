from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.webhooks.models import WebhookEventStatus

MAX_REPLAY = 1000


class WebhookEventPublic(BaseModel):
    """A stored raw event, without its body (it holds customers' phone numbers)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    integration_id: str
    dedupe_key: str
    path: str
    content_type: str
    received_at: datetime
    status: WebhookEventStatus
    error: str | None
    attempts: int
    processed_at: datetime | None


class ReplayRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: WebhookEventStatus | None = Field(
        default=None, description="Replay (up to 1000) events with this status, oldest first."
    )
    ids: list[str] | None = Field(default=None, max_length=MAX_REPLAY)

    @model_validator(mode="after")
    def _one_selector(self) -> ReplayRequest:
        if (self.status is None) == (self.ids is None):
            raise ValueError("give either status or ids")
        return self


class ReplayResponse(BaseModel):
    replayed: int
    processed: int
    failed: int
    ignored: int
    remaining: int = Field(description="Events still in the replayed status; call again for them.")
