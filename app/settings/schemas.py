"""The economics settings: what a call costs and how the funnel's stages are judged."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.money import Money, Rate
from app.settings.callbacks import CallbackSettings
from app.settings.quality import QualitySettings
from app.zones import ZoneName


class Thresholds(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reached_s: int = Field(
        default=10, ge=0, description="Talk seconds for a call to count as reached."
    )
    conversation_s: int = Field(
        default=60, ge=0, description="Talk seconds for a first conversation."
    )
    second_call_s: int = Field(default=120, ge=0, description="Talk seconds for a second call.")
    second_call_gap_minutes: int = Field(
        default=60, ge=0, description="Minutes after the first conversation ended."
    )

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if not self.reached_s <= self.conversation_s <= self.second_call_s:
            raise ValueError(
                "thresholds must be ordered: reached_s ≤ conversation_s ≤ second_call_s"
            )
        return self


class Forecast(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reference_days: int = Field(default=180, ge=1, le=3660)
    min_closed_applications: int = Field(default=5, ge=1)
    prior_win_rate: Rate | None = Decimal("0.30")
    prior_margin_per_contract: Money | None = Decimal("50000.00")


class EconomicsSettings(BaseModel):
    """Defaults are those of the reference company (an equipment manufacturer calling in RUB)."""

    model_config = ConfigDict(extra="forbid")

    currency: str = Field(default="RUB", pattern=r"^[A-Z]{3}$")
    telephony_cost_per_minute: Money = Decimal("2.00")
    labor_cost_per_hour: Money = Decimal("600.00")
    wrapup_seconds: int = Field(default=30, ge=0, le=3600)
    default_margin_rate: Rate = Decimal("0.25")
    thresholds: Thresholds = Field(default_factory=Thresholds)
    forecast: Forecast = Field(default_factory=Forecast)
    callbacks: CallbackSettings = Field(default_factory=CallbackSettings)
    quality: QualitySettings = Field(default_factory=QualitySettings)
    timezone: ZoneName | None = Field(
        default=None,
        description="The reporting time zone; until set, CALLFUNNEL_TIMEZONE stands in.",
    )


class OperationsSettings(BaseModel):
    """How the service looks after itself: recording downloads and what it keeps."""

    model_config = ConfigDict(extra="forbid")

    recording_max_attempts: int = Field(
        default=10, ge=1, le=100, description="Downloads tried before a recording is failed."
    )
    recordings_retention_days: int | None = Field(
        default=None,
        ge=1,
        description="Delete stored recordings of calls older than this; null keeps them.",
    )
    webhook_events_retention_days: int | None = Field(
        default=None,
        ge=1,
        description="Delete raw webhook events (they hold phone numbers) older than this; "
        "null keeps them.",
    )
