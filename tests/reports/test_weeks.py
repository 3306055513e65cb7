"""ISO weeks: parsing, their local bounds, and the default week."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from app.errors import Unprocessable
from app.reports.weeks import IsoWeek, week_param

MOSCOW = ZoneInfo("Europe/Moscow")


def test_a_week_and_its_days() -> None:
    week = IsoWeek.parse("2026-W47")
    assert (week.key, week.monday, week.sunday, week.next_monday) == (
        "2026-W47",
        date(2026, 11, 16),
        date(2026, 11, 22),
        date(2026, 11, 23),
    )
    assert week.shifted(-1).key == "2026-W46"
    assert week.shifted(7).key == "2027-W01"  # 2026 has a week 53
    assert IsoWeek.parse("2026-W53").monday == date(2026, 12, 28)
    assert IsoWeek.of(date(2027, 1, 3)).key == "2026-W53"


@pytest.mark.parametrize(
    "text", ["2026-W54", "2025-W53", "2026-W00", "2026-47", "2026W47", "abc", "", "2026-W4"]
)
def test_bad_weeks_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="week"):
        IsoWeek.parse(text)
    with pytest.raises(Unprocessable) as raised:
        week_param(text, MOSCOW, datetime(2026, 11, 23, tzinfo=UTC))
    assert raised.value.errors == [{"loc": ["query", "week"], "msg": str(raised.value)}]


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Monday 00:10 in Moscow is still Sunday in UTC: the last complete week is W47 already.
        (datetime(2026, 11, 22, 21, 10, tzinfo=UTC), "2026-W47"),
        # Sunday 23:30 in Moscow: W47 is not over yet.
        (datetime(2026, 11, 22, 20, 30, tzinfo=UTC), "2026-W46"),
        (datetime(2027, 1, 4, 12, 0, tzinfo=UTC), "2026-W53"),
    ],
)
def test_the_default_is_the_last_complete_local_week(now: datetime, expected: str) -> None:
    assert week_param(None, MOSCOW, now).key == expected
