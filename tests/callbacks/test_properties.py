"""The case fold against a plain reading of docs/callbacks.md, over random call histories.

The reading here is written the other way round from ``app.callbacks.cases``: instead of one
walk carrying an open case, each missed call asks "is some earlier case still covering me?", and
each case looks ahead for its first outbound call and first reached call; the working-hours clock
counts working minutes one by one. Times are whole minutes in Moscow (no DST), so minute counting
is exact.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from app.callbacks.cases import (
    CallRow,
    CaseStatus,
    LeadFacts,
    Resolution,
    Rules,
    Sla,
    lead_cases,
    short_abandons,
)
from app.settings.callbacks import WEEKDAYS, CallbackSettings

MOSCOW = ZoneInfo("Europe/Moscow")
MOSCOW_OFFSET = timedelta(hours=3)
BASE = datetime(2026, 11, 16, 6, tzinfo=UTC)  # Monday 09:00 in Moscow
LEAD = LeadFacts(
    "L", owner_id=None, first_dialler_id="e9", stage2_at=None, last_application_at=None
)


def _span(draw: st.DrawFn) -> tuple[str, str] | None:
    if draw(st.booleans()):
        return None
    start = draw(st.integers(0, 23 * 60 - 1))
    end = draw(st.integers(start + 1, 24 * 60))
    return f"{start // 60:02d}:{start % 60:02d}", f"{end // 60:02d}:{end % 60:02d}"


@st.composite
def callback_settings(draw: st.DrawFn) -> CallbackSettings:
    return CallbackSettings.model_validate(
        {
            "sla_minutes": draw(st.integers(1, 120)),
            "window_hours": draw(st.integers(1, 60)),
            "short_abandon_seconds": draw(st.integers(0, 10)),
            "working_hours": {day: _span(draw) for day in WEEKDAYS},
            "business_hours_clock": draw(st.booleans()),
        }
    )


@st.composite
def histories(draw: st.DrawFn, plan: CallbackSettings) -> list[CallRow]:
    """Calls whose starts cluster where the rules have edges: each call starts a gap after an
    earlier one, the gap often exactly (or a minute off) the SLA or the window."""
    sla, window = plan.sla_minutes, plan.window_hours * 60
    edges = [0, 1, sla - 1, sla, sla + 1, window - 1, window, window + 1]
    starts: list[datetime] = []
    calls = []
    for n in range(draw(st.integers(0, 14))):
        if starts and draw(st.integers(0, 3)):
            gap = draw(st.sampled_from(edges) | st.sampled_from(edges) | st.integers(0, 4320))
            started_at = draw(st.sampled_from(starts)) + timedelta(minutes=gap)
        else:
            started_at = BASE + timedelta(minutes=draw(st.integers(0, 5 * 24 * 60)))
        starts.append(started_at)
        direction = draw(st.sampled_from(["inbound", "outbound"]))
        status = draw(st.sampled_from(["answered", "no_answer", "busy", "ringing"]))
        talk = draw(st.sampled_from([0, 5, 10, 60])) if status == "answered" else 0
        calls.append(
            CallRow(
                id=f"c{n:02d}",
                lead_id="L",
                employee_id=draw(st.sampled_from([None, "e1"])),
                direction=direction,
                status=status,
                started_at=started_at,
                talk_seconds=talk,
                duration_seconds=talk + draw(st.integers(0, 12)),
                outcome=draw(st.sampled_from([None, None, "voicemail", "presented"])),
                rings_reported=draw(st.booleans()),
            )
        )
    return calls


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[CallbackSettings, list[CallRow], datetime]:
    plan = draw(callback_settings())
    calls = draw(histories(plan))
    if calls and draw(st.booleans()):
        # As of exactly a deadline (or a minute either side).
        opener = draw(st.sampled_from(calls)).started_at
        as_of = opener + timedelta(minutes=plan.window_hours * 60 + draw(st.integers(-1, 1)))
    else:
        as_of = BASE + timedelta(minutes=draw(st.integers(0, 7 * 24 * 60)))
    return plan, calls, as_of


# --------------------------------------------------------------------------- the plain reading


def working_minute(moment: datetime, plan: CallbackSettings) -> bool:
    local = moment + MOSCOW_OFFSET
    span = getattr(plan.working_hours, WEEKDAYS[local.weekday()])
    if span is None:
        return False
    minute = local.hour * 60 + local.minute
    start, end = (int(t[:2]) * 60 + int(t[3:]) for t in span)
    return start <= minute < end


def clock(a: datetime, b: datetime, plan: CallbackSettings) -> float:
    if not plan.business_hours_clock:
        return max(0.0, (b - a).total_seconds())
    minutes = int((b - a).total_seconds() // 60)
    return 60.0 * sum(working_minute(a + timedelta(minutes=m), plan) for m in range(minutes))


def is_missed(call: CallRow, plan: CallbackSettings) -> bool:
    unanswered = call.status in ("no_answer", "busy")
    short = call.rings_reported and call.duration_seconds < plan.short_abandon_seconds
    return call.direction == "inbound" and unanswered and not short


def is_reached(call: CallRow) -> bool:
    return call.status == "answered" and call.talk_seconds >= 10 and call.outcome != "voicemail"


@dataclass
class Expected:
    first_missed_call_id: str
    missed_calls: int
    first_attempt_at: datetime | None
    contact_at: datetime | None
    status: CaseStatus
    resolution: Resolution | None
    sla: Sla
    out_of_hours: bool


def reference(calls: list[CallRow], plan: CallbackSettings, as_of: datetime) -> list[Expected]:
    ordered = sorted(
        (c for c in calls if c.started_at <= as_of), key=lambda c: (c.started_at, c.id)
    )
    window = timedelta(hours=plan.window_hours)
    covered: list[tuple[int, int]] = []  # (opener, last position the case covers)
    found = []
    for i, call in enumerate(ordered):
        if not is_missed(call, plan) or any(a < i <= b for a, b in covered):
            continue
        deadline = call.started_at + window
        alive = [j for j in range(i + 1, len(ordered)) if ordered[j].started_at < deadline]
        contact = next((j for j in alive if is_reached(ordered[j])), None)
        during = [j for j in alive if contact is None or j <= contact]
        covered.append((i, during[-1] if during else i))
        attempt = next((j for j in during if ordered[j].direction == "outbound"), None)
        attempt_at = ordered[attempt].started_at if attempt is not None else None
        contact_at = ordered[contact].started_at if contact is not None else None
        if contact is not None:
            status = CaseStatus.CONTACTED
        else:
            status = CaseStatus.LOST if deadline <= as_of else CaseStatus.PENDING
        limit = plan.sla_minutes * 60
        if attempt_at is not None:
            sla = Sla.MET if clock(call.started_at, attempt_at, plan) <= limit else Sla.BREACHED
        else:
            end = contact_at if contact_at is not None else min(as_of, deadline)
            sla = Sla.BREACHED if clock(call.started_at, end, plan) > limit else Sla.NONE
        found.append(
            Expected(
                first_missed_call_id=call.id,
                missed_calls=1 + sum(is_missed(ordered[j], plan) for j in during if j != contact),
                first_attempt_at=attempt_at,
                contact_at=contact_at,
                status=status,
                resolution=None
                if contact is None
                else (
                    Resolution.CALLBACK
                    if ordered[contact].direction == "outbound"
                    else Resolution.CLIENT
                ),
                sla=sla,
                out_of_hours=not working_minute(call.started_at, plan),
            )
        )
    return found


@settings(max_examples=400, deadline=None)
@given(scenarios())
def test_the_fold_is_the_plain_reading(
    scenario: tuple[CallbackSettings, list[CallRow], datetime],
) -> None:
    plan, calls, as_of = scenario
    rules = Rules(plan, reached_s=10, zone=MOSCOW)
    cases = lead_cases(calls, LEAD, rules, as_of)
    got = [
        Expected(
            c.first_missed_call_id,
            c.missed_calls,
            c.first_attempt_at,
            c.contact_at,
            c.status,
            c.resolution,
            c.sla,
            c.out_of_hours,
        )
        for c in cases
    ]
    assert got == reference(calls, plan, as_of)
    for case in cases:
        if case.time_to_first_attempt is not None:
            assert case.first_attempt_at is not None
            assert case.time_to_first_attempt == clock(case.opened_at, case.first_attempt_at, plan)
        if case.contact_at is not None:
            assert case.opened_at <= case.contact_at < case.deadline
            assert case.time_to_contact == clock(case.opened_at, case.contact_at, plan)
        if case.sla_deadline is not None:
            assert clock(case.opened_at, case.sla_deadline, plan) == plan.sla_minutes * 60
    # Cases never overlap, and every missed call is in exactly one of them.
    for earlier, later in itertools.pairwise(cases):
        assert later.opened_at >= (earlier.contact_at or earlier.deadline)
    missed = [c for c in calls if c.started_at <= as_of and is_missed(c, plan)]
    assert sum(case.missed_calls for case in cases) == len(missed)
    abandons = short_abandons(calls, LEAD, rules, as_of)
    assert {a.call_id for a in abandons} == {
        c.id
        for c in calls
        if c.started_at <= as_of
        and c.direction == "inbound"
        and c.status in ("no_answer", "busy")
        and not is_missed(c, plan)
    }
