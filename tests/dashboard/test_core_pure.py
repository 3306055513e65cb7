"""The dashboard's pure parts: the period picker, the sign-in limiter, the redirect target."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.dashboard.periods import DayRange, day_range
from app.dashboard.ratelimit import FailureLimiter
from app.dashboard.routing import safe_next
from app.dashboard.sessions import DashboardSession, SessionSigner
from app.errors import Unprocessable

THURSDAY = date(2026, 12, 3)


def test_periods() -> None:
    assert day_range("this_week", THURSDAY, None, None) == DayRange(
        date(2026, 11, 30), date(2026, 12, 7)
    )
    last = day_range("last_week", THURSDAY, None, None)
    assert last == DayRange(date(2026, 11, 23), date(2026, 11, 30))
    assert last.previous() == DayRange(date(2026, 11, 16), date(2026, 11, 23))
    month = day_range("this_month", THURSDAY, None, None)
    assert month == DayRange(date(2026, 12, 1), date(2027, 1, 1), monthly=True)
    # The month before December has 30 days, not December's 31.
    assert month.previous() == DayRange(date(2026, 11, 1), date(2026, 12, 1), monthly=True)
    march = day_range("this_month", date(2026, 3, 31), None, None)
    assert march.previous() == DayRange(date(2026, 2, 1), date(2026, 3, 1), monthly=True)
    custom = day_range("custom", THURSDAY, date(2026, 11, 10), date(2026, 11, 12))
    assert custom == DayRange(date(2026, 11, 10), date(2026, 11, 13))
    assert custom.previous() == DayRange(date(2026, 11, 7), date(2026, 11, 10))


def test_trend_weeks_end_with_the_periods_last_week() -> None:
    weeks = day_range("this_month", THURSDAY, None, None).trend_weeks()
    # December 2026 ends on a Thursday: its week starts on Monday the 28th.
    assert weeks == DayRange(date(2026, 11, 9), date(2027, 1, 4))
    assert (weeks.end - weeks.first).days == 8 * 7


def test_custom_periods_need_both_days_in_order() -> None:
    with pytest.raises(Unprocessable, match="needs both days"):
        day_range("custom", THURSDAY, date(2026, 11, 10), None)
    with pytest.raises(Unprocessable, match="before the first"):
        day_range("custom", THURSDAY, date(2026, 11, 10), date(2026, 11, 9))


def test_limiter_counts_failures_in_a_sliding_minute() -> None:
    limiter = FailureLimiter(limit=3)
    for second in (0.0, 10.0, 20.0):
        assert limiter.retry_after("a", second) is None
        limiter.fail("a", second)
    assert limiter.retry_after("a", 30.0) == 30  # the first failure leaves the window at 60 s
    assert limiter.retry_after("b", 30.0) is None  # per client
    assert limiter.retry_after("a", 60.0) is None
    limiter.succeed("a")
    assert limiter.retry_after("a", 61.0) is None


def test_limiter_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("app.dashboard.ratelimit.MAX_TRACKED", 3)
    limiter = FailureLimiter(limit=1)
    for n, client in enumerate("abcd"):
        limiter.fail(client, float(n))
    assert limiter.retry_after("d", 4.0) == 59
    assert limiter.retry_after("a", 4.0) is None  # the oldest was forgotten


@pytest.mark.parametrize(
    ("target", "safe"),
    [
        ("/", "/"),
        ("/leads?stage=2", "/leads?stage=2"),
        (None, "/"),
        ("", "/"),
        ("leads", "/"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("/ok\\..\\x", "/"),
        ("/a\nLocation: x", "/"),
        ("https://evil.example/", "/"),
    ],
)
def test_safe_next(target: str | None, safe: str) -> None:
    assert safe_next(target) == safe


def test_sessions_are_signed() -> None:
    signer = SessionSigner("s" * 48, timedelta(minutes=5))
    session = DashboardSession.signed_in("key_1")
    token = signer.dumps(session)
    read = signer.loads(token)
    assert read is not None
    assert read.session == session
    assert read.age < timedelta(seconds=5)
    assert signer.loads(token[:-2] + ("A" if token[-1] != "A" else "B") + token[-1]) is None
    assert SessionSigner("t" * 48, timedelta(minutes=5)).loads(token) is None
    assert signer.loads("not a token") is None
    # A new sign-in is a new CSRF token.
    assert DashboardSession.signed_in("key_1").csrf != session.csrf
