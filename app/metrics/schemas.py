from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class Period(BaseModel):
    from_: datetime = Field(serialization_alias="from")
    to: datetime
    timezone: str
    mode: Literal["cohort", "activity"]
    as_of: datetime


class FunnelResponse(BaseModel):
    period: Period
    currency: str
    total: dict[str, Any] = Field(
        description="dials, leads_dialed, talk_seconds, stages[1..5] and economics (METRICS.md)."
    )
    groups: list[dict[str, Any]] | None = Field(
        default=None, description="Present with group_by: the same fields plus key and label."
    )


class CallStats(BaseModel):
    key: str | None = None
    label: str | None = None
    calls: int
    outbound: int
    inbound: int
    answered: int
    answer_rate: float | None
    talk_seconds: int
    avg_talk_seconds: float | None = Field(description="Per answered call.")
    missed_inbound: int


class CallStatsResponse(BaseModel):
    period: dict[str, Any]
    total: CallStats
    groups: list[CallStats] | None = None
