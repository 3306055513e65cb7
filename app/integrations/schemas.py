from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class IntegrationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: str = Field(examples=["mango", "zadarma", "novofon", "twilio", "generic"])
    name: str = Field(min_length=1, max_length=200)
    config: dict[str, Any] = Field(
        description="Provider settings and secrets (write-only: secrets are never returned)."
    )


class IntegrationUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    config: dict[str, Any] | None = Field(
        default=None,
        description="Keys to change; keys left out keep their value (secrets need not be resent).",
    )


class IntegrationPublic(BaseModel):
    id: str
    provider: str
    name: str
    config: dict[str, Any] = Field(description="The settings without the secrets.")
    webhook_url: str = Field(description="Where the PBX must send its webhooks.")
    webhook_urls: dict[str, str] = Field(
        description="Every URL to configure, by purpose (Twilio has one for status callbacks "
        "and one for recordings; both end in #rc=3&rp=all so that Twilio retries on a 5xx)."
    )
    created_at: datetime
