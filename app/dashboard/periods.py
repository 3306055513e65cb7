"""The Overview's period picker as local days: pure (today is passed in)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal, TypeAlias

from app.errors import Unprocessable

PeriodChoice: TypeAlias = Literal["this_week", "last_week", "this_month", "custom"]
PERIOD_CHOICES: tuple[PeriodChoice, ...] = ("this_week", "last_week", "this_month", "custom")
TREND_WEEKS = 8
_WEEK = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class DayRange:
    """Local days ``first`` ≤ day < ``end``; a calendar month's previous period is the month
    before, any other's the same number of days before it."""

    first: date
    end: date
    monthly: bool = False

    @property
    def last(self) -> date:
        return self.end - timedelta(days=1)

    def previous(self) -> DayRange:
        if self.monthly:
            return DayRange(_month_start(self.first - timedelta(days=1)), self.first, monthly=True)
        return DayRange(self.first - (self.end - self.first), self.first)

    def trend_weeks(self) -> DayRange:
        """The ``TREND_WEEKS`` ISO weeks ending with the week of the period's last day."""
        monday = self.last - timedelta(days=self.last.weekday())
        return DayRange(monday - (TREND_WEEKS - 1) * _WEEK, monday + _WEEK)


def _month_start(day: date) -> date:
    return day.replace(day=1)


def day_range(
    choice: PeriodChoice, today: date, start: date | None, until: date | None
) -> DayRange:
    """The days of ``choice``; ``custom`` runs from ``start`` to ``until``, both included."""
    monday = today - timedelta(days=today.weekday())
    if choice == "this_week":
        return DayRange(monday, monday + _WEEK)
    if choice == "last_week":
        return DayRange(monday - _WEEK, monday)
    if choice == "this_month":
        first = _month_start(today)
        return DayRange(first, _month_start(first + timedelta(days=32)), monthly=True)
    if start is None or until is None:
        raise Unprocessable.at(
            "query", "from" if start is None else "until", msg="a custom period needs both days"
        )
    if until < start:
        raise Unprocessable.at("query", "until", msg="the last day comes before the first")
    return DayRange(start, until + timedelta(days=1))
