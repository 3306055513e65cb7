"""The ``quality`` block of the economics settings: the score bands and the queue's quota."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ScoreBands(BaseModel):
    """Lower bounds (inclusive) of the bands; a score below ``needs_work`` is ``poor``."""

    model_config = ConfigDict(extra="forbid")

    excellent: float = Field(default=85, ge=0, le=100)
    good: float = Field(default=70, ge=0, le=100)
    needs_work: float = Field(default=50, ge=0, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> ScoreBands:
        if not self.excellent >= self.good >= self.needs_work:
            raise ValueError("bands must be ordered: excellent ≥ good ≥ needs_work")
        return self


class QualitySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bands: ScoreBands = Field(default_factory=ScoreBands)
    queue_per_manager_week: int = Field(
        default=3,
        ge=1,
        le=100,
        description="Calls the queue offers per manager and ISO week (scored ones count).",
    )
