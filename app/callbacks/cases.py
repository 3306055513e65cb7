"""Missed calls and callbacks (docs/callbacks.md): the case rules, as a fold over one lead's calls.

Pure: no database, no I/O, no clock. ``app.callbacks.queries`` brings one lead's calls (those of a
period, plus the window after it, plus as far back as a case could still be open at the period's
start) and a few facts about the lead; everything the spec says about cases happens here:

- a call is a *missed call* (inbound, unanswered, rang at least ``short_abandon_seconds`` — or from
  a provider that does not report ring time), a *short abandon* (the same, shorter), or neither;
- walking the calls in time order (``started_at``, then id), a missed call with no case open opens
  one; while open (a call at or after the deadline finds it expired) a missed call joins it, the
  first outbound call is the first attempt, and the first reached call closes it as contacted;
- the working-hours clock, the SLA, the owner and whether the lead was hot.

Invariants the property test (``tests/callbacks/test_properties.py``) checks against a plain
reading of the spec: cases of a lead never overlap; every missed call belongs to exactly one case;
``opened_at <= first_attempt_at`` and ``opened_at <= contact_at < deadline``; a contacted case has
a resolution and nothing else does.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import cached_property
from typing import Literal, TypeAlias
from zoneinfo import ZoneInfo

from app.calls.events import CallStatus, Direction
from app.calls.outcomes import Outcome
from app.settings.callbacks import CallbackSettings

# An ended call nobody answered. A call still ringing (or with no status yet) is not missed yet.
UNANSWERED = frozenset(
    {CallStatus.NO_ANSWER, CallStatus.BUSY, CallStatus.FAILED, CallStatus.CANCELLED}
)
# Outcomes that say no live person answered (docs/metrics.md → reached).
NOT_REACHED = frozenset({Outcome.NO_ANSWER, Outcome.VOICEMAIL, Outcome.WRONG_NUMBER})
# Providers whose duration of an unanswered call is talk time (0), not ring time: they cannot
# tell a short abandon from a missed call, so every unanswered inbound call of theirs is missed.
NO_RING_TIME_PROVIDERS = frozenset({"zadarma", "novofon"})

_DAY_MINUTES = 24 * 60
# How far ahead the SLA deadline is looked for: a week of one-minute working days still fits.
_DEADLINE_HORIZON_DAYS = 400


class CaseStatus(StrEnum):
    PENDING = "pending"
    CONTACTED = "contacted"
    LOST = "lost"


class Resolution(StrEnum):
    CALLBACK = "callback"
    CLIENT = "client"


class Sla(StrEnum):
    MET = "met"
    BREACHED = "breached"
    NONE = "none"


CallKind: TypeAlias = Literal["missed", "short_abandon"]
GroupBy: TypeAlias = Literal["employee", "day", "weekday", "hour"]
GroupKey: TypeAlias = "str | int | None"


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True, slots=True)
class CallRow:
    """One call of a lead (external number linked to it, not internal), as stored."""

    id: str
    lead_id: str
    employee_id: str | None
    direction: str
    status: str | None
    started_at: datetime  # aware
    talk_seconds: int
    duration_seconds: int
    outcome: str | None
    rings_reported: bool = True  # False for providers in NO_RING_TIME_PROVIDERS


@dataclass(frozen=True, slots=True)
class LeadFacts:
    """What a lead's cases need beyond its calls; all by ``as_of``."""

    lead_id: str
    owner_id: str | None
    first_dialler_id: str | None  # employee of the lead's first outbound call, ever
    # The earliest evidence of stage 2 or later (docs/metrics.md): a stage-2 call, an application
    # or a contract. The funnel is monotonic, so "reached stage 2 by t" is "stage2_at <= t".
    stage2_at: datetime | None
    last_application_at: datetime | None  # the latest application created


@dataclass(frozen=True)
class Rules:
    settings: CallbackSettings
    reached_s: int  # docs/metrics.md thresholds.reached_s
    zone: ZoneInfo

    def kind(self, call: CallRow) -> CallKind | None:
        """``missed``, ``short_abandon`` or ``None`` (answered, outbound, still ringing)."""
        if call.direction != Direction.INBOUND or call.status not in UNANSWERED:
            return None
        if call.rings_reported and call.duration_seconds < self.settings.short_abandon_seconds:
            return "short_abandon"
        return "missed"

    def reached(self, call: CallRow) -> bool:
        return (
            call.status == CallStatus.ANSWERED
            and call.talk_seconds >= self.reached_s
            and call.outcome not in NOT_REACHED
        )

    @cached_property
    def clock(self) -> WorkingClock:
        """One clock per set of rules: it memoises the working spans of the days it has seen."""
        return WorkingClock(self.settings, self.zone)


# --------------------------------------------------------------------------- the clock


class WorkingClock:
    """Working time of the reporting zone: ``seconds(a, b)``, ``after(a, s)``, ``is_working(t)``.

    Spans are built per local day from the settings and converted to UTC one by one, so a DST
    change shortens or lengthens the day it happens on, as a wall clock would.
    """

    def __init__(self, settings: CallbackSettings, zone: ZoneInfo) -> None:
        self.business = settings.business_hours_clock
        self.zone = zone
        self.minutes = settings.working_hours.minutes()
        self._spans: dict[date, tuple[datetime, datetime] | None] = {}

    def _span(self, day: date) -> tuple[datetime, datetime] | None:
        # Memoised: a month's cases touch a few dozen days, each converted to UTC once
        # (the conversions were most of the walk's time).
        try:
            return self._spans[day]
        except KeyError:
            pass
        minutes = self.minutes[day.weekday()]
        span = None if minutes is None else (self._at(day, minutes[0]), self._at(day, minutes[1]))
        self._spans[day] = span
        return span

    def _at(self, day: date, minutes: int) -> datetime:
        # 24:00 is the next midnight.
        day += timedelta(days=minutes // _DAY_MINUTES)
        minutes %= _DAY_MINUTES
        local = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=self.zone)
        return local.astimezone(UTC)

    def _local_day(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()

    def is_working(self, moment: datetime) -> bool:
        """Whether ``moment`` falls in its local day's working span (start inclusive)."""
        span = self._span(self._local_day(moment))
        return span is not None and span[0] <= moment < span[1]

    def seconds(self, start: datetime, end: datetime) -> float:
        """``clock(start, end)``: working seconds in ``[start, end]`` (wall seconds if the
        business-hours clock is off); 0 when ``end`` is not after ``start``."""
        if end <= start:
            return 0.0
        if not self.business:
            return (end - start).total_seconds()
        total = 0.0
        day = self._local_day(start)
        last = self._local_day(end)
        while day <= last:
            span = self._span(day)
            if span is not None:
                lo, hi = max(span[0], start), min(span[1], end)
                if hi > lo:
                    total += (hi - lo).total_seconds()
            day += timedelta(days=1)
        return total

    def after(self, start: datetime, seconds: float) -> datetime | None:
        """The instant at which ``seconds(start, t)`` reaches ``seconds``; ``None`` if the week
        has no working hours at all."""
        if not self.business:
            return start + timedelta(seconds=seconds)
        remaining = timedelta(seconds=seconds)
        day = self._local_day(start)
        for _ in range(_DEADLINE_HORIZON_DAYS):
            span = self._span(day)
            if span is not None and span[1] > start:
                lo = max(span[0], start)
                if remaining <= span[1] - lo:
                    return lo + remaining
                remaining -= span[1] - lo
            day += timedelta(days=1)
        return None


# --------------------------------------------------------------------------- cases


@dataclass(frozen=True, slots=True)
class Case:
    lead_id: str
    first_missed_call_id: str
    opened_at: datetime
    deadline: datetime  # opened_at + window_hours: contact must come before it
    missed_calls: int
    first_attempt_at: datetime | None
    contact_at: datetime | None
    status: CaseStatus
    resolution: Resolution | None
    owner_id: str | None
    sla: Sla
    sla_deadline: datetime | None  # when the SLA clock reaches sla_minutes
    hot: bool
    out_of_hours: bool
    time_to_first_attempt: float | None  # clock(opened_at, first attempt)
    time_to_contact: float | None  # clock(opened_at, contact)
    application_after_contact: bool


@dataclass(slots=True)
class _Open:
    """A case being walked through."""

    first: CallRow
    deadline: datetime
    missed_calls: int = 1
    first_attempt_at: datetime | None = None
    contact_at: datetime | None = None
    resolution: Resolution | None = None


@dataclass(frozen=True, slots=True)
class ShortAbandon:
    call_id: str
    lead_id: str
    started_at: datetime
    owner_id: str | None  # the lead's owner, else its first dialler, else the call's employee


def owner_of(lead: LeadFacts, employee_id: str | None) -> str | None:
    """The owner rule: the lead's owner, else its first dialler, else ``employee_id`` (the
    employee the missed call rang)."""
    return lead.owner_id or lead.first_dialler_id or employee_id


def lead_cases(
    calls: Iterable[CallRow], lead: LeadFacts, rules: Rules, as_of: datetime
) -> list[Case]:
    """The cases of one lead, oldest first, by ``as_of``.

    ``calls`` must include every call of the lead from a moment when it had no open case (in
    practice: from the period's start back to where no missed call could keep one open) and may
    come in any order.
    """
    window = timedelta(hours=rules.settings.window_hours)
    clock = rules.clock
    cases: list[Case] = []
    current: _Open | None = None
    for call in sorted(calls, key=lambda c: (c.started_at, c.id)):
        if call.started_at > as_of:
            break
        if current is not None and call.started_at >= current.deadline:
            cases.append(_settle(current, lead, rules, clock, as_of))
            current = None
        kind = rules.kind(call)
        if kind == "missed":
            if current is None:
                current = _Open(first=call, deadline=call.started_at + window)
            else:
                current.missed_calls += 1
            continue
        if current is None:
            continue
        outbound = call.direction == Direction.OUTBOUND
        if outbound and current.first_attempt_at is None:
            current.first_attempt_at = call.started_at
        if rules.reached(call):
            current.contact_at = call.started_at
            current.resolution = Resolution.CALLBACK if outbound else Resolution.CLIENT
            cases.append(_settle(current, lead, rules, clock, as_of))
            current = None
    if current is not None:
        cases.append(_settle(current, lead, rules, clock, as_of))
    return cases


def short_abandons(
    calls: Iterable[CallRow], lead: LeadFacts, rules: Rules, as_of: datetime
) -> list[ShortAbandon]:
    return [
        ShortAbandon(call.id, call.lead_id, call.started_at, owner_of(lead, call.employee_id))
        for call in calls
        if call.started_at <= as_of and rules.kind(call) == "short_abandon"
    ]


def _settle(
    case: _Open, lead: LeadFacts, rules: Rules, clock: WorkingClock, as_of: datetime
) -> Case:
    opened = case.first.started_at
    limit = rules.settings.sla_minutes * 60
    if case.contact_at is not None:
        status = CaseStatus.CONTACTED
    elif case.deadline <= as_of:
        status = CaseStatus.LOST
    else:
        status = CaseStatus.PENDING
    to_attempt = (
        None if case.first_attempt_at is None else clock.seconds(opened, case.first_attempt_at)
    )
    if to_attempt is not None:
        sla = Sla.MET if to_attempt <= limit else Sla.BREACHED
    else:
        end = case.contact_at if case.contact_at is not None else min(as_of, case.deadline)
        sla = Sla.BREACHED if clock.seconds(opened, end) > limit else Sla.NONE
    return Case(
        lead_id=lead.lead_id,
        first_missed_call_id=case.first.id,
        opened_at=opened,
        deadline=case.deadline,
        missed_calls=case.missed_calls,
        first_attempt_at=case.first_attempt_at,
        contact_at=case.contact_at,
        status=status,
        resolution=case.resolution,
        owner_id=owner_of(lead, case.first.employee_id),
        sla=sla,
        sla_deadline=clock.after(opened, limit),
        hot=lead.stage2_at is not None and lead.stage2_at <= opened,
        out_of_hours=not clock.is_working(opened),
        time_to_first_attempt=to_attempt,
        time_to_contact=None if case.contact_at is None else clock.seconds(opened, case.contact_at),
        application_after_contact=status is CaseStatus.CONTACTED
        and lead.last_application_at is not None
        and lead.last_application_at > opened,
    )


# --------------------------------------------------------------------------- figures


@dataclass(frozen=True, slots=True)
class Spread:
    median: float | None
    p90: float | None

    def to_json(self) -> dict[str, float | None]:
        return {"median": self.median, "p90": self.p90}


def spread(values: Iterable[float]) -> Spread:
    """The ordinary median and the nearest-rank p90 (position ⌈0.9 n⌉, 1-based)."""
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        return Spread(None, None)
    middle = n // 2
    median = ordered[middle] if n % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return Spread(float(median), float(ordered[math.ceil(0.9 * n) - 1]))


@dataclass(frozen=True, slots=True)
class Figures:
    missed_calls: int
    short_abandoned: int
    cases: int
    out_of_hours: int
    called_back: int
    contacted: int
    contacted_by_callback: int
    contacted_by_client: int
    lost: int
    hot_lost: int
    pending: int
    sla_met: int
    sla_breached: int
    within_sla_rate: float | None
    time_to_first_attempt_seconds: Spread
    time_to_contact_seconds: Spread
    applications_after_contact: int


def figures(cases: Sequence[Case], abandons: Sequence[ShortAbandon]) -> Figures:
    """The figures of docs/callbacks.md over the cases opened in a period and its short abandons."""

    def count(test: Callable[[Case], bool]) -> int:
        return sum(1 for case in cases if test(case))

    met = count(lambda c: c.sla is Sla.MET)
    breached = count(lambda c: c.sla is Sla.BREACHED)
    return Figures(
        missed_calls=sum(case.missed_calls for case in cases),
        short_abandoned=len(abandons),
        cases=len(cases),
        out_of_hours=count(lambda c: c.out_of_hours),
        called_back=count(lambda c: c.first_attempt_at is not None),
        contacted=count(lambda c: c.status is CaseStatus.CONTACTED),
        contacted_by_callback=count(lambda c: c.resolution is Resolution.CALLBACK),
        contacted_by_client=count(lambda c: c.resolution is Resolution.CLIENT),
        lost=count(lambda c: c.status is CaseStatus.LOST),
        hot_lost=count(lambda c: c.status is CaseStatus.LOST and c.hot),
        pending=count(lambda c: c.status is CaseStatus.PENDING),
        sla_met=met,
        sla_breached=breached,
        within_sla_rate=met / (met + breached) if met + breached else None,
        time_to_first_attempt_seconds=spread(
            c.time_to_first_attempt for c in cases if c.time_to_first_attempt is not None
        ),
        time_to_contact_seconds=spread(
            c.time_to_contact for c in cases if c.time_to_contact is not None
        ),
        applications_after_contact=count(lambda c: c.application_after_contact),
    )


@dataclass(frozen=True, slots=True)
class Group:
    key: GroupKey
    figures: Figures


@dataclass(frozen=True, slots=True)
class _Keyed:
    cases: list[Case] = field(default_factory=list)
    abandons: list[ShortAbandon] = field(default_factory=list)


def group_key(
    group_by: GroupBy, owner_id: str | None, moment: datetime, zone: ZoneInfo
) -> GroupKey:
    """A case's (or short abandon's) group: its owner, or the local day, ISO weekday or hour of
    its opening (or start)."""
    if group_by == "employee":
        return owner_id
    local = moment.astimezone(zone)
    if group_by == "day":
        return local.date().isoformat()
    if group_by == "weekday":
        return local.isoweekday()
    return local.hour


def grouped(
    cases: Sequence[Case], abandons: Sequence[ShortAbandon], group_by: GroupBy, zone: ZoneInfo
) -> list[Group]:
    """Figures per group, ordered by key (no owner last); the groups add up to the total."""
    keyed: dict[GroupKey, _Keyed] = {}
    for case in cases:
        key = group_key(group_by, case.owner_id, case.opened_at, zone)
        keyed.setdefault(key, _Keyed()).cases.append(case)
    for abandon in abandons:
        key = group_key(group_by, abandon.owner_id, abandon.started_at, zone)
        keyed.setdefault(key, _Keyed()).abandons.append(abandon)
    # Hours and weekdays numerically, days as ISO dates, employees by id; no owner last.
    ordered = sorted(
        keyed,
        key=lambda key: (key is None, key if isinstance(key, int) else 0, str(key or "")),
    )
    return [Group(key, figures(keyed[key].cases, keyed[key].abandons)) for key in ordered]
