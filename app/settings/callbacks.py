"""The ``callbacks`` block of the economics settings: the SLA, the window and working hours.

Validated where it enters (a PUT of the economics settings): times are ``HH:MM``, a day's start
comes before its end, and only the seven weekday keys exist, so the case rules
(``app.callbacks.cases``) never meet a malformed week.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Keys of ``working_hours`` in ISO order (``WEEKDAYS[date.weekday()]``)."""

# "24:00" is allowed as an end only: it is how a day that works until midnight is written.
_HH_MM = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$")


def parse_hh_mm(value: str) -> int:
    """``"09:30"`` → minutes after midnight (570); ``"24:00"`` → 1440."""
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def _check_hh_mm(value: str) -> str:
    if not _HH_MM.match(value):
        raise ValueError(f"{value!r} is not a time of day written HH:MM (00:00-23:59, or 24:00)")
    return value


HhMm = Annotated[str, AfterValidator(_check_hh_mm)]


def _check_span(value: tuple[str, str]) -> tuple[str, str]:
    start, end = value
    if start == "24:00":
        raise ValueError("a working day cannot start at 24:00")
    if parse_hh_mm(start) >= parse_hh_mm(end):
        raise ValueError(f"the start {start} must come before the end {end}")
    return value


WorkingSpan = Annotated[tuple[HhMm, HhMm], AfterValidator(_check_span)]
_NINE_TO_SIX: tuple[str, str] = ("09:00", "18:00")


class WorkingHours(BaseModel):
    """Per weekday ``["HH:MM", "HH:MM"]`` (local time of the reporting zone) or ``null``."""

    # An unknown key ("monday", "mo") is refused rather than silently ignored.
    model_config = ConfigDict(extra="forbid")

    mon: WorkingSpan | None = _NINE_TO_SIX
    tue: WorkingSpan | None = _NINE_TO_SIX
    wed: WorkingSpan | None = _NINE_TO_SIX
    thu: WorkingSpan | None = _NINE_TO_SIX
    fri: WorkingSpan | None = _NINE_TO_SIX
    sat: WorkingSpan | None = None
    sun: WorkingSpan | None = None

    def minutes(self) -> tuple[tuple[int, int] | None, ...]:
        """Per ISO weekday (Monday first): (start, end) in minutes after local midnight."""
        spans: list[tuple[int, int] | None] = []
        for day in WEEKDAYS:
            span: tuple[str, str] | None = getattr(self, day)
            spans.append(None if span is None else (parse_hh_mm(span[0]), parse_hh_mm(span[1])))
        return tuple(spans)


class CallbackSettings(BaseModel):
    """Settings of the missed-call cases (docs/callbacks.md); defaults are the spec's."""

    model_config = ConfigDict(extra="forbid")

    sla_minutes: int = Field(
        default=15,
        ge=1,
        le=7 * 24 * 60,
        description="A callback attempt within this much (working time) meets the SLA.",
    )
    window_hours: int = Field(
        default=48,
        ge=1,
        le=366 * 24,
        description="A case with no contact this long (wall time) after it opened is lost.",
    )
    short_abandon_seconds: int = Field(
        default=5,
        ge=0,
        le=3600,
        description="An unanswered inbound call shorter than this is a short abandon.",
    )
    working_hours: WorkingHours = Field(default_factory=WorkingHours)
    business_hours_clock: bool = Field(
        default=True, description="The SLA clock counts working time only; false: wall time."
    )
