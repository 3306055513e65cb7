"""The case rules of docs/callbacks.md on their own: pure, one rule per test, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count
from zoneinfo import ZoneInfo

import pytest

from app.callbacks.cases import (
    CallRow,
    Case,
    CaseStatus,
    LeadFacts,
    Resolution,
    Rules,
    Sla,
    WorkingClock,
    figures,
    lead_cases,
    short_abandons,
    spread,
)
from app.settings.callbacks import CallbackSettings

MOSCOW = ZoneInfo("Europe/Moscow")
RULES = Rules(CallbackSettings(), reached_s=10, zone=MOSCOW)
LEAD = LeadFacts(
    "L", owner_id=None, first_dialler_id=None, stage2_at=None, last_application_at=None
)
_ids = count()


def local(text: str) -> datetime:
    """A Moscow wall-clock time as a UTC instant."""
    return datetime.fromisoformat(text).replace(tzinfo=MOSCOW).astimezone(UTC)


def missed(at: datetime, *, seconds: int = 20, employee: str | None = "e1") -> CallRow:
    return CallRow(
        f"c{next(_ids):04d}", "L", employee, "inbound", "no_answer", at, 0, seconds, None
    )


def dial(at: datetime, *, talk: int = 0, outcome: str | None = None) -> CallRow:
    status = "answered" if talk else "no_answer"
    return CallRow(f"c{next(_ids):04d}", "L", "e2", "outbound", status, at, talk, talk + 8, outcome)


def incoming(at: datetime, *, talk: int) -> CallRow:
    return CallRow(f"c{next(_ids):04d}", "L", "e1", "inbound", "answered", at, talk, talk + 5, None)


def only(cases: list[Case]) -> Case:
    (case,) = cases
    return case


# Tuesday 2026-11-17, 11:00 local: inside working hours.
TUESDAY = local("2026-11-17T11:00")
AS_OF = local("2026-11-30T12:00")


def test_a_callback_within_the_sla_meets_it() -> None:
    case = only(
        lead_cases(
            [missed(TUESDAY), dial(TUESDAY + timedelta(minutes=15), talk=30)], LEAD, RULES, AS_OF
        )
    )
    assert case.status is CaseStatus.CONTACTED
    assert case.resolution is Resolution.CALLBACK
    assert case.first_attempt_at == case.contact_at == TUESDAY + timedelta(minutes=15)
    # Exactly sla_minutes is still within it.
    assert case.sla is Sla.MET
    assert case.time_to_first_attempt == 900.0
    assert case.sla_deadline == TUESDAY + timedelta(minutes=15)


def test_an_attempt_a_second_late_breaches() -> None:
    late = TUESDAY + timedelta(minutes=15, seconds=1)
    case = only(lead_cases([missed(TUESDAY), dial(late)], LEAD, RULES, AS_OF))
    assert case.sla is Sla.BREACHED
    assert case.first_attempt_at == late
    # An unanswered dial is an attempt, not a contact: the case runs out.
    assert case.contact_at is None
    assert case.status is CaseStatus.LOST


def test_a_call_exactly_at_the_deadline_finds_the_case_lost() -> None:
    deadline = TUESDAY + timedelta(hours=48)
    case = only(lead_cases([missed(TUESDAY), dial(deadline, talk=60)], LEAD, RULES, AS_OF))
    assert case.status is CaseStatus.LOST
    assert case.deadline == deadline
    assert case.first_attempt_at is None
    assert case.contact_at is None
    just_before = only(
        lead_cases(
            [missed(TUESDAY), dial(deadline - timedelta(seconds=1), talk=60)], LEAD, RULES, AS_OF
        )
    )
    assert just_before.status is CaseStatus.CONTACTED


def test_lost_only_once_the_deadline_has_passed() -> None:
    calls = [missed(TUESDAY)]
    deadline = TUESDAY + timedelta(hours=48)
    assert only(lead_cases(calls, LEAD, RULES, deadline)).status is CaseStatus.LOST
    waiting = only(lead_cases(calls, LEAD, RULES, deadline - timedelta(seconds=1)))
    assert waiting.status is CaseStatus.PENDING
    assert waiting.sla is Sla.BREACHED


def test_a_pending_case_within_the_sla_has_no_verdict_yet() -> None:
    case = only(lead_cases([missed(TUESDAY)], LEAD, RULES, TUESDAY + timedelta(minutes=10)))
    assert case.status is CaseStatus.PENDING
    assert case.sla is Sla.NONE
    assert case.sla_deadline == TUESDAY + timedelta(minutes=15)


def test_a_case_opened_on_friday_evening() -> None:
    friday = local("2026-11-20T17:50")
    # The SLA clock runs 10 minutes on Friday and resumes on Monday at 09:00.
    monday = local("2026-11-23T09:05")
    on_time = only(lead_cases([missed(friday), dial(monday, talk=30)], LEAD, RULES, AS_OF))
    assert on_time.sla_deadline == monday
    assert on_time.out_of_hours is False
    # ... but the window is wall time: 48 hours after Friday 17:50 is Sunday 17:50, so the
    # Monday call finds the case lost, and the clock stopped at the deadline with 10 minutes.
    assert on_time.status is CaseStatus.LOST
    assert on_time.first_attempt_at is None
    assert on_time.sla is Sla.NONE
    weekend = Rules(CallbackSettings(window_hours=72), reached_s=10, zone=MOSCOW)
    kept = only(lead_cases([missed(friday), dial(monday, talk=30)], LEAD, weekend, AS_OF))
    assert kept.status is CaseStatus.CONTACTED
    assert kept.sla is Sla.MET
    assert kept.time_to_first_attempt == 900.0
    later = only(
        lead_cases(
            [missed(friday), dial(monday + timedelta(seconds=1), talk=30)], LEAD, weekend, AS_OF
        )
    )
    assert later.sla is Sla.BREACHED


def test_out_of_hours_starts_the_clock_at_the_next_opening() -> None:
    saturday = local("2026-11-21T12:00")
    monday = local("2026-11-23T09:10")
    rules = Rules(CallbackSettings(window_hours=72), reached_s=10, zone=MOSCOW)
    case = only(lead_cases([missed(saturday), dial(monday, talk=60)], LEAD, rules, AS_OF))
    assert case.out_of_hours is True
    assert case.time_to_first_attempt == 600.0
    assert case.sla is Sla.MET
    wall = Rules(
        CallbackSettings(window_hours=72, business_hours_clock=False), reached_s=10, zone=MOSCOW
    )
    case = only(lead_cases([missed(saturday), dial(monday, talk=60)], LEAD, wall, AS_OF))
    assert case.out_of_hours is True  # the opening time's property, whatever the clock
    assert case.time_to_first_attempt == (monday - saturday).total_seconds()
    assert case.sla is Sla.BREACHED
    assert case.sla_deadline == saturday + timedelta(minutes=15)


def test_a_lead_with_two_cases() -> None:
    calls = [
        missed(TUESDAY),
        dial(TUESDAY + timedelta(minutes=5), talk=40),
        missed(TUESDAY + timedelta(hours=3)),
        missed(TUESDAY + timedelta(hours=4)),
    ]
    first, second = lead_cases(calls, LEAD, RULES, AS_OF)
    assert (first.status, first.missed_calls) == (CaseStatus.CONTACTED, 1)
    assert second.first_missed_call_id == calls[2].id
    assert second.opened_at == TUESDAY + timedelta(hours=3)
    assert second.missed_calls == 2  # the next missed call joins the open case
    assert second.status is CaseStatus.LOST
    assert figures([first, second], []).missed_calls == 3


def test_a_missed_call_after_the_deadline_opens_a_new_case() -> None:
    calls = [missed(TUESDAY), missed(TUESDAY + timedelta(hours=48))]
    first, second = lead_cases(calls, LEAD, RULES, AS_OF)
    assert first.missed_calls == 1
    assert first.status is CaseStatus.LOST
    assert second.opened_at == TUESDAY + timedelta(hours=48)


def test_a_short_abandon_is_not_a_missed_call() -> None:
    short = missed(TUESDAY, seconds=4)
    assert lead_cases([short], LEAD, RULES, AS_OF) == []
    (abandon,) = short_abandons([short], LEAD, RULES, AS_OF)
    assert abandon.call_id == short.id
    assert abandon.owner_id == "e1"  # no owner, no dialler: the extension it rang
    # Five seconds is no longer short.
    assert len(lead_cases([missed(TUESDAY, seconds=5)], LEAD, RULES, AS_OF)) == 1


def test_zadarma_reports_no_ring_time_so_every_unanswered_call_is_missed() -> None:
    # Zadarma's duration of an unanswered call is its talk time: 0.
    zadarma = CallRow("z1", "L", "e1", "inbound", "busy", TUESDAY, 0, 0, None, rings_reported=False)
    assert len(lead_cases([zadarma], LEAD, RULES, AS_OF)) == 1
    assert short_abandons([zadarma], LEAD, RULES, AS_OF) == []


def test_a_client_who_calls_again_and_gets_through() -> None:
    calls = [
        missed(TUESDAY),
        incoming(TUESDAY + timedelta(minutes=5), talk=5),  # answered, but not reached
        incoming(TUESDAY + timedelta(minutes=30), talk=90),
        dial(TUESDAY + timedelta(minutes=40), talk=60),  # after the case closed
    ]
    case = only(lead_cases(calls, LEAD, RULES, AS_OF))
    assert case.status is CaseStatus.CONTACTED
    assert case.resolution is Resolution.CLIENT
    assert case.contact_at == TUESDAY + timedelta(minutes=30)
    assert case.first_attempt_at is None
    # The client got through after the SLA had run out with no attempt.
    assert case.sla is Sla.BREACHED
    quick = only(
        lead_cases(
            [missed(TUESDAY), incoming(TUESDAY + timedelta(minutes=3), talk=90)], LEAD, RULES, AS_OF
        )
    )
    assert quick.sla is Sla.NONE


def test_voicemail_and_ringing_calls() -> None:
    calls = [
        missed(TUESDAY),
        dial(TUESDAY + timedelta(minutes=2), talk=40, outcome="voicemail"),
        CallRow(
            "ring", "L", "e1", "inbound", "ringing", TUESDAY + timedelta(minutes=3), 0, 30, None
        ),
    ]
    case = only(lead_cases(calls, LEAD, RULES, AS_OF))
    # Voicemail is an attempt but never a contact; a call still ringing is not missed yet.
    assert case.first_attempt_at == TUESDAY + timedelta(minutes=2)
    assert case.contact_at is None
    assert case.missed_calls == 1


def test_calls_after_as_of_do_not_exist() -> None:
    calls = [missed(TUESDAY), dial(TUESDAY + timedelta(minutes=5), talk=40)]
    case = only(lead_cases(calls, LEAD, RULES, TUESDAY + timedelta(minutes=4)))
    assert case.status is CaseStatus.PENDING
    assert case.first_attempt_at is None
    assert lead_cases(calls, LEAD, RULES, TUESDAY - timedelta(seconds=1)) == []


def test_owner_and_hot() -> None:
    calls = [missed(TUESDAY, employee="e3")]
    owned = LeadFacts("L", "e1", "e2", stage2_at=TUESDAY, last_application_at=None)
    case = only(lead_cases(calls, owned, RULES, AS_OF))
    assert case.owner_id == "e1"
    assert case.hot is True  # stage 2 reached by opened_at (at it counts)
    dialled = LeadFacts(
        "L", None, "e2", stage2_at=TUESDAY + timedelta(seconds=1), last_application_at=None
    )
    case = only(lead_cases(calls, dialled, RULES, AS_OF))
    assert case.owner_id == "e2"
    assert case.hot is False
    assert only(lead_cases(calls, LEAD, RULES, AS_OF)).owner_id == "e3"
    nobody = [missed(TUESDAY, employee=None)]
    assert only(lead_cases(nobody, LEAD, RULES, AS_OF)).owner_id is None


def test_application_after_contact() -> None:
    calls = [missed(TUESDAY), dial(TUESDAY + timedelta(minutes=5), talk=40)]
    before = LeadFacts("L", None, None, None, last_application_at=TUESDAY)
    after = LeadFacts("L", None, None, None, last_application_at=TUESDAY + timedelta(days=2))
    assert not only(lead_cases(calls, before, RULES, AS_OF)).application_after_contact
    assert only(lead_cases(calls, after, RULES, AS_OF)).application_after_contact
    lost = [missed(TUESDAY)]
    assert not only(lead_cases(lost, after, RULES, AS_OF)).application_after_contact


def test_spread_is_the_median_and_the_nearest_rank_p90() -> None:
    assert spread([]).to_json() == {"median": None, "p90": None}
    assert spread([5]).to_json() == {"median": 5.0, "p90": 5.0}
    assert spread([4, 1, 3, 2]).to_json() == {"median": 2.5, "p90": 4.0}
    # ceil(0.9 * 10) = 9: the ninth of ten.
    assert spread(range(1, 11)).p90 == 9.0
    assert spread(range(1, 12)).p90 == 10.0


@pytest.mark.parametrize(
    ("zone", "day", "hours"),
    [
        # Berlin moves its clocks forward on 2026-03-29 (a Sunday) and back on 2026-10-25.
        ("Europe/Berlin", "2026-03-30", 9),
        ("Europe/Berlin", "2026-03-29", 9),
        ("Europe/Berlin", "2026-10-25", 9),
        ("Asia/Kolkata", "2026-11-17", 9),
    ],
)
def test_the_clock_counts_local_working_hours(zone: str, day: str, hours: int) -> None:
    every_day = dict.fromkeys(("mon", "tue", "wed", "thu", "fri", "sat", "sun"), ("09:00", "18:00"))
    settings = CallbackSettings.model_validate({"working_hours": every_day})
    clock = WorkingClock(settings, ZoneInfo(zone))
    start = datetime.fromisoformat(day).replace(tzinfo=ZoneInfo(zone))
    end = start + timedelta(days=1)
    assert clock.seconds(start.astimezone(UTC), end.astimezone(UTC)) == hours * 3600
    nine = start.replace(hour=9)
    assert clock.is_working(nine)
    assert not clock.is_working(start.replace(hour=18))
    assert clock.after(nine, 3600) == start.replace(hour=10)


def test_a_week_without_working_hours() -> None:
    closed = dict.fromkeys(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))
    rules = Rules(CallbackSettings.model_validate({"working_hours": closed}), 10, MOSCOW)
    case = only(
        lead_cases([missed(TUESDAY), dial(TUESDAY + timedelta(hours=5))], LEAD, rules, AS_OF)
    )
    assert case.out_of_hours is True
    assert case.sla_deadline is None
    # No working time passes at all: any attempt is within the SLA.
    assert case.time_to_first_attempt == 0.0
    assert case.sla is Sla.MET


def test_the_partial_index_predicate_is_the_rule() -> None:
    """The SQL text of the unanswered-inbound index (model and migration) says what
    ``UNANSWERED`` says: the two cannot drift apart unseen."""
    import importlib.util
    import re
    from pathlib import Path

    from app.callbacks.cases import UNANSWERED
    from app.calls.models import UNANSWERED_INBOUND_SQL

    listed = re.search(r"status IN \(([^)]*)\)", UNANSWERED_INBOUND_SQL)
    assert listed is not None
    assert {v.strip(" '") for v in listed.group(1).split(",")} == {s.value for s in UNANSWERED}
    assert "direction = 'inbound'" in UNANSWERED_INBOUND_SQL
    path = Path(__file__).parents[2] / "migrations/versions/20261204_0007_callbacks.py"
    spec = importlib.util.spec_from_file_location("callbacks_migration", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.WHERE == UNANSWERED_INBOUND_SQL
