"""ISO weeks (``2026-W47``) as the reports name them, bounded at local Monday midnights."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from app.edge import EARLIEST_YEAR, LATEST_YEAR
from app.errors import Unprocessable
from app.metrics.funnel import week_key
from app.metrics.service import resolve_period

_PATTERN = re.compile(r"(\d{4})-W(\d{2})")


@dataclass(frozen=True, order=True, slots=True)
class IsoWeek:
    year: int
    week: int

    def __post_init__(self) -> None:
        # The week after (or before) must exist too: the report compares with neighbouring weeks.
        if not EARLIEST_YEAR < self.year < LATEST_YEAR:
            raise ValueError(f"the year must lie between {EARLIEST_YEAR + 1} and {LATEST_YEAR - 1}")
        # fromisocalendar knows which years have a week 53.
        date.fromisocalendar(self.year, self.week, 1)

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        match = _PATTERN.fullmatch(text.strip())
        if match is None:
            raise ValueError(f"{text!r} is not an ISO week such as 2026-W47")
        year, week = int(match[1]), int(match[2])
        if not EARLIEST_YEAR < year < LATEST_YEAR:
            raise ValueError(
                f"{text!r}: the year must lie between {EARLIEST_YEAR + 1} and {LATEST_YEAR - 1}"
            )
        try:
            return cls(year, week)
        except ValueError as exc:
            raise ValueError(f"{text!r}: the year {match[1]} has no week {match[2]}") from exc

    @classmethod
    def of(cls, day: date) -> IsoWeek:
        year, week, _ = day.isocalendar()
        return cls(year, week)

    @property
    def key(self) -> str:
        return f"{self.year:04d}-W{self.week:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    @property
    def next_monday(self) -> date:
        """The exclusive end of the week, as the ``to`` of a period."""
        return self.monday + timedelta(days=7)

    def shifted(self, weeks: int) -> IsoWeek:
        return IsoWeek.of(self.monday + timedelta(weeks=weeks))


def week_param(value: str | None, zone: ZoneInfo, now: datetime) -> IsoWeek:
    """The ``week`` query value; none means the last complete week in ``zone``, as for metrics."""
    if value is None:
        start, _ = resolve_period(None, None, zone, now)
        return IsoWeek.parse(week_key(start, zone))
    try:
        return IsoWeek.parse(value)
    except ValueError as exc:
        raise Unprocessable.at("query", "week", msg=str(exc)) from exc
