"""The five-stage funnel (docs/metrics.md): the worked example exactly, then a small case per rule.

Rows come from ``reference.py`` (a plain reading of the rules over calls), figures from
``compute_funnel``; money is compared as exact strings, ratios with a relative tolerance of 1e-9.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.metrics.funnel import (
    ApplicationRow,
    FunnelQuery,
    FunnelResult,
    GroupBy,
    LeadRow,
    Mode,
    compute_funnel,
    stage_times,
    week_slices,
    wilson_interval,
)
from app.settings.schemas import EconomicsSettings
from tests.metrics.compare import RELATIVE, assert_same
from tests.metrics.reference import (
    Call,
    LeadInfo,
    application_rows,
    calls_from_dataset,
    lead_rows,
    parse_time,
    reference_application_rows,
)
from tests.metrics.worked_example import CASES, DATASET

ZONE = ZoneInfo("Europe/Moscow")
START = datetime(2026, 11, 16, tzinfo=ZONE)  # the worked example's week, local dates
END = datetime(2026, 11, 23, tzinfo=ZONE)
AS_OF = datetime(2026, 11, 22, 21, tzinfo=UTC)  # = END
LATER = datetime(2026, 12, 31, 21, tzinfo=UTC)
DEFAULTS = EconomicsSettings()


# --------------------------------------------------------------------------- helpers


def utc(text: str) -> datetime:
    """'11-17 10:00' → 2026-11-17T10:00Z (a call's time in the worked example's month)."""
    return datetime.fromisoformat(f"2026-{text}").replace(tzinfo=UTC)


def call(
    lead: str | None,
    when: str,
    *,
    talk: int = 0,
    outcome: str | None = None,
    direction: str = "outbound",
    duration: int | None = None,
    answered: bool | None = None,
    employee: str | None = "e1",
    script: str | None = None,
    call_id: str | None = None,
) -> Call:
    answered = talk > 0 if answered is None else answered
    return Call(
        id=call_id or f"{lead}@{when}",
        lead_id=lead,
        employee_id=employee,
        direction=direction,
        started_at=utc(when),
        answered=answered,
        talk_seconds=talk,
        duration_seconds=talk + 10 if duration is None else duration,
        outcome=outcome,
        script_id=script,
    )


def application(
    app_id: str,
    lead: str,
    created: str,
    *,
    status: str = "open",
    closed: str | None = None,
    signed: str | None = None,
    amount: int | None = None,
    margin: int | None = None,
) -> ApplicationRow:
    return ApplicationRow(
        application_id=app_id,
        lead_id=lead,
        created_at=utc(created),
        status=status,
        closed_at=None if closed is None else utc(closed),
        contract_signed_at=None if signed is None else utc(signed),
        contract_amount_minor=amount,
        contract_margin_minor=margin,
    )


def compute(
    calls: Sequence[Call],
    apps: Sequence[ApplicationRow] = (),
    *,
    mode: Mode = "cohort",
    as_of: datetime = AS_OF,
    start: datetime = START,
    end: datetime = END,
    economics: EconomicsSettings = DEFAULTS,
    group_by: GroupBy | None = None,
    hourly: dict[str, int | None] | None = None,
    leads: dict[str, LeadInfo] | None = None,
    labels: dict[str, str] | None = None,
) -> FunnelResult:
    """Reference rows (what SQL will return) through compute_funnel."""
    query = FunnelQuery(mode, start, end, as_of, ZONE, group_by)
    rows = lead_rows(
        calls, hourly or {}, economics, query, applications=apps, leads=leads, labels=labels
    )
    ids = {row.lead_id for row in rows}
    return compute_funnel(
        query,
        economics,
        rows,
        [a for a in apps if a.lead_id in ids],
        reference_application_rows(apps, calls, economics, as_of),
    )


def run(calls: Sequence[Call], apps: Sequence[ApplicationRow] = (), **kw: Any) -> dict[str, Any]:
    return compute(calls, apps, **kw).to_json()


def counts(result: dict[str, Any]) -> list[int]:
    return [result["leads_dialed"]] + [stage["count"] for stage in result["stages"]]


# --------------------------------------------------------------------------- the worked example

WORKED_SETTINGS = EconomicsSettings.model_validate(DATASET["settings"])
WORKED_ZONE = ZoneInfo(DATASET["settings"]["timezone"])
WORKED_CALLS = calls_from_dataset(DATASET["calls"])
WORKED_APPS = application_rows(DATASET["applications"], DATASET["contracts"])
WORKED_HOURLY: dict[str, int | None] = {
    e["id"]: e.get("hourly_cost_minor") for e in DATASET["employees"]
}
WORKED_LABELS = {e["id"]: e["name"] for e in DATASET["employees"]}


def worked_query(case: dict[str, Any], group_by: GroupBy | None = None) -> FunnelQuery:
    q = case["query"]
    return FunnelQuery(
        mode=q["mode"],
        start=datetime.fromisoformat(q["from"]).replace(tzinfo=WORKED_ZONE),
        end=datetime.fromisoformat(q["to"]).replace(tzinfo=WORKED_ZONE),
        as_of=parse_time(q["as_of"]),
        zone=WORKED_ZONE,
        group_by=group_by,
    )


def worked_result(query: FunnelQuery, **kw: Any) -> FunnelResult:
    rows = lead_rows(
        WORKED_CALLS,
        WORKED_HOURLY,
        WORKED_SETTINGS,
        query,
        applications=WORKED_APPS,
        labels=WORKED_LABELS,
        **kw,
    )
    ids = {row.lead_id for row in rows}
    return compute_funnel(
        query,
        WORKED_SETTINGS,
        rows,
        [a for a in WORKED_APPS if a.lead_id in ids],
        reference_application_rows(WORKED_APPS, WORKED_CALLS, WORKED_SETTINGS, query.as_of),
    )


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{c['query']['mode']}-{c['query']['as_of'][:10]}" for c in CASES]
)
def test_worked_example(case: dict[str, Any]) -> None:
    assert_same(worked_result(worked_query(case)).to_json(), case["result"])


def test_worked_example_cohort_takes_every_cold_lead_and_selects_itself() -> None:
    case = CASES[0]
    query = worked_query(case)
    wide = replace(query, start=datetime(2026, 1, 1, tzinfo=UTC), end=LATER)
    # In cohort mode a row's sums do not depend on the period, so the wider query's rows
    # (every cold lead) are a valid superset.
    rows = lead_rows(WORKED_CALLS, WORKED_HOURLY, WORKED_SETTINGS, wide)
    assert len(rows) == 6
    result = compute_funnel(
        query,
        WORKED_SETTINGS,
        rows,
        WORKED_APPS,
        reference_application_rows(WORKED_APPS, WORKED_CALLS, WORKED_SETTINGS, query.as_of),
    )
    assert_same(result.to_json(), case["result"])


def test_worked_example_rows() -> None:
    """The rows SQL must return for the first query (a readable spec for queries.py)."""
    rows = {
        r.lead_id: r
        for r in lead_rows(WORKED_CALLS, WORKED_HOURLY, WORKED_SETTINGS, worked_query(CASES[0]))
    }
    assert sorted(rows) == [
        "L1",
        "L2",
        "L3",
        "L4",
        "L6",
    ]  # L5 dialled the week before, L7 inbound only
    assert rows["L1"].evidence_at == (utc("11-16T10:00"), utc("11-16T10:00"), utc("11-18T08:00"))
    assert rows["L2"].evidence_at == (utc("11-16T07:30"), utc("11-17T07:30"), utc("11-20T09:00"))
    assert rows["L3"].evidence_at == (None, None, None)
    assert rows["L6"].evidence_at == (utc("11-21T15:00"), None, None)  # the inbound call back
    assert (rows["L1"].dials, rows["L1"].talk_seconds, rows["L1"].billable_minutes) == (3, 395, 7)
    # 600.00/h in kopecks × (25 + 105+30 + 310+30) busy seconds; c18 is after as_of.
    assert rows["L1"].labour_minor_seconds == 60000 * 500


# --------------------------------------------------------------------------- stage evidence


def test_secretary_is_reached_but_never_a_conversation() -> None:
    result = run([call("L1", "11-17T10:00", talk=300, outcome="secretary")])
    assert counts(result) == [1, 1, 0, 0, 0, 0]


def test_voicemail_with_45_seconds_is_not_reached() -> None:
    result = run([call("L1", "11-17T10:00", talk=45, outcome="voicemail")])
    assert counts(result) == [1, 0, 0, 0, 0, 0]


@pytest.mark.parametrize(("talk", "reached"), [(9, 0), (10, 1)])
def test_reached_needs_reached_s_of_talk(talk: int, reached: int) -> None:
    assert counts(run([call("L1", "11-17T10:00", talk=talk)]))[1] == reached


def test_no_answer_and_wrong_number_are_not_reached_whatever_the_talk() -> None:
    calls = [
        call("L1", "11-17T10:00", talk=200, outcome="no_answer"),
        call("L2", "11-17T10:00", talk=200, outcome="wrong_number"),
    ]
    assert counts(run(calls)) == [2, 0, 0, 0, 0, 0]


@pytest.mark.parametrize(
    ("outcome", "talk", "conversation"),
    [(None, 60, 1), (None, 59, 0), ("refused", 65, 1), ("callback_requested", 60, 1)],
)
def test_untagged_refused_or_callback_is_a_conversation_from_conversation_s(
    outcome: str | None, talk: int, conversation: int
) -> None:
    assert counts(run([call("L1", "11-17T10:00", talk=talk, outcome=outcome)]))[2] == conversation


# First conversation 10:00, 100 s long: it ends 10:01:40; a second call needs 60 min after that.
@pytest.mark.parametrize(
    ("second_at", "stage3"),
    [("11-17T10:31:40", 0), ("11-17T11:01:39", 0), ("11-17T11:01:40", 1), ("11-18T10:00", 1)],
)
def test_second_call_needs_the_gap_after_the_first_conversation_ended(
    second_at: str, stage3: int
) -> None:
    calls = [
        call("L1", "11-17T10:00", talk=90, duration=100),
        call("L1", second_at, talk=300),
    ]
    assert counts(run(calls)) == [1, 1, 1, stage3, 0, 0]


def test_second_call_needs_second_call_s_and_no_negative_outcome() -> None:
    calls = [
        call("L1", "11-17T10:00", talk=90),
        call("L1", "11-18T10:00", talk=119),  # too short
        call("L2", "11-17T10:00", talk=90),
        call("L2", "11-18T10:00", talk=600, outcome="secretary"),  # negative outcome
    ]
    assert counts(run(calls)) == [2, 2, 2, 0, 0, 0]


def test_a_long_call_before_the_first_conversation_is_no_second_call() -> None:
    # The 300 s call *is* the first conversation; a later short one proves nothing more.
    calls = [call("L1", "11-17T10:00", talk=300), call("L1", "11-18T10:00", talk=30)]
    assert counts(run(calls)) == [1, 1, 1, 0, 0, 0]


@pytest.mark.parametrize("outcome", ["need_identified", "application"])
def test_tag_on_the_first_conversation_counts_as_stage_3(outcome: str) -> None:
    assert counts(run([call("L1", "11-17T10:00", talk=70, outcome=outcome)])) == [1, 1, 1, 1, 0, 0]


def test_presented_tag_is_a_conversation_whatever_the_duration() -> None:
    # Tags outrank durations: a short "presented" call is stage 2, and so (monotonic) stage 1.
    result = run([call("L1", "11-17T10:00", talk=5, outcome="presented")])
    assert counts(result) == [1, 1, 1, 0, 0, 0]


def test_monotonic_application_without_a_long_call_counts_at_stages_1_to_4() -> None:
    calls = [call("L1", "11-17T10:00", talk=0)]  # never answered
    apps = [application("a1", "L1", "11-18T10:00")]
    assert counts(run(calls, apps)) == [1, 1, 1, 1, 1, 0]
    signed = [application("a1", "L1", "11-18T10:00", signed="11-20T10:00", amount=100_00)]
    assert counts(run(calls, signed)) == [1, 1, 1, 1, 1, 1]


def test_stage_time_is_the_earliest_evidence_of_any_later_stage() -> None:
    row = LeadRow(
        lead_id="L1",
        group_key=None,
        group_label=None,
        first_dial_at=utc("11-10T10:00"),
        evidence_at=(utc("11-15T10:00"), None, utc("11-20T10:00")),
        dialled_in_period=True,
        dials=1,
        talk_seconds=0,
        billable_minutes=0,
        labour_minor_seconds=0,
    )
    apps = [application("a1", "L1", "11-12T10:00"), application("a2", "L1", "11-30T10:00")]
    # Stage 1 at the application's time (before the stage-1 call); stage 4 ignores a2 (> as_of).
    assert stage_times(row, apps, AS_OF) == (
        utc("11-12T10:00"),
        utc("11-12T10:00"),
        utc("11-12T10:00"),
        utc("11-12T10:00"),
        None,
    )


def test_evidence_after_as_of_does_not_count() -> None:
    calls = [call("L1", "11-17T10:00"), call("L1", "11-24T10:00", talk=300)]
    apps = [application("a1", "L1", "11-25T10:00")]
    assert counts(run(calls, apps)) == [1, 0, 0, 0, 0, 0]
    assert counts(run(calls, apps, as_of=LATER)) == [1, 1, 1, 1, 1, 0]


def test_inbound_call_back_and_calls_before_the_first_dial_are_evidence() -> None:
    calls = [
        call("L1", "11-16T09:00", talk=200, direction="inbound"),
        call("L1", "11-17T10:00", talk=0),
    ]
    result = run(calls)
    assert counts(result) == [1, 1, 1, 0, 0, 0]
    assert result["talk_seconds"] == 200
    assert result["dials"] == 1


# --------------------------------------------------------------------------- who counts


def test_follow_up_dial_after_the_period_belongs_to_the_cohort() -> None:
    calls = [call("L1", "11-17T10:00"), call("L1", "11-25T10:00", talk=30)]
    cohort = run(calls, as_of=LATER)
    assert (cohort["leads_dialed"], cohort["dials"], cohort["talk_seconds"]) == (1, 2, 30)
    next_week = {"start": END, "end": END + timedelta(days=7), "as_of": LATER}
    assert run(calls, **next_week)["leads_dialed"] == 0
    activity = run(calls, mode="activity", **next_week)
    assert (activity["leads_dialed"], activity["dials"]) == (1, 1)


def test_inbound_only_lead_is_not_a_cold_lead() -> None:
    calls = [call("L9", "11-17T10:00", talk=300, direction="inbound")]
    apps = [application("a9", "L9", "11-17T11:00")]
    for mode in ("cohort", "activity"):
        result = run(calls, apps, mode=mode)
        assert counts(result) == [0, 0, 0, 0, 0, 0]
        assert (result["dials"], result["talk_seconds"]) == (0, 0)
        assert result["economics"]["cost"] == "0.00"
        assert result["economics"]["applications"] == 0


def test_internal_call_counts_nowhere() -> None:
    calls = [call("L1", "11-17T10:00", talk=100)]
    internal = [
        call(None, "11-17T11:00", talk=300, direction="internal"),
        call("L1", "11-17T12:00", talk=300, direction="internal", call_id="x"),
    ]
    for mode in ("cohort", "activity"):
        assert run(calls + internal, mode=mode) == run(calls, mode=mode)


def test_activity_counts_stage_times_in_the_period_and_may_exceed_one() -> None:
    calls = [
        call("L1", "11-17T10:00"),  # dialled in the period, never reached
        call("L2", "11-10T10:00"),  # dialled before; calls back in the period
        call("L2", "11-18T10:00", talk=30, direction="inbound"),
        call("L3", "11-10T10:00"),
        call("L3", "11-19T10:00", talk=30, direction="inbound"),
    ]
    result = run(calls, mode="activity")
    assert counts(result) == [1, 2, 0, 0, 0, 0]
    assert result["stages"][0]["conversion"] == 2.0
    assert result["stages"][0]["conversion_ci95"] is None
    assert result["stages"][2]["conversion"] is None  # N2 = 0
    assert result["dials"] == 1
    assert result["economics"]["forecast"] is None


def test_activity_applications_and_contracts_are_those_of_the_period() -> None:
    calls = [call("L1", "11-01T10:00", talk=300)]
    apps = [
        application("a1", "L1", "11-02T10:00", signed="11-18T10:00", amount=1000_00, margin=300_00),
        application("a2", "L1", "11-19T10:00"),
    ]
    result = run(calls, apps, mode="activity")
    economics = result["economics"]
    assert (economics["applications"], economics["contracts"]) == (1, 1)
    assert (economics["revenue"], economics["margin"]) == ("1000.00", "300.00")
    # Stage 5 reached in the period; stage 4 was reached (a1) before it.
    assert counts(result) == [0, 0, 0, 0, 0, 1]


# --------------------------------------------------------------------------- money


def test_unanswered_call_costs_ring_time_and_no_wrapup() -> None:
    # 36 s of ringing at 600.00/h = 6.00; an answered 6 s call: (6 + 30 wrap-up) s + 1 min.
    assert run([call("L1", "11-17T10:00", duration=36)])["economics"]["cost"] == "6.00"
    answered = run([call("L1", "11-17T10:00", talk=6, duration=6)])
    assert answered["economics"]["cost"] == "8.00"


def test_inbound_calls_cost_labour_but_no_telephony() -> None:
    calls = [
        call("L1", "11-17T10:00", duration=6),
        call("L1", "11-17T11:00", talk=60, duration=60, direction="inbound"),
    ]
    # (6 + 60 + 30) s at 600.00/h = 16.00; no telephony for the inbound minute.
    assert run(calls)["economics"]["cost"] == "16.00"


def test_employee_rate_is_used_where_set() -> None:
    calls = [call("L1", "11-17T10:00", duration=36, employee="e2")]
    assert run(calls, hourly={"e2": 1200_00})["economics"]["cost"] == "12.00"


def test_money_is_rounded_half_up_only_at_output() -> None:
    # 1.80/h for 10 s of ringing = 0.005 exactly: half up gives 0.01 (half-even would give 0.00).
    one = run([call("L1", "11-17T10:00", duration=10)], hourly={"e1": 180})
    assert one["economics"]["cost"] == "0.01"
    assert one["economics"]["profit_per_call"] == "-0.01"  # half away from zero
    # Two such calls: 0.005 + 0.005 = 0.01, not 0.01 + 0.01.
    two = [call("L1", "11-17T10:00", duration=10), call("L1", "11-17T12:00", duration=10)]
    result = run(two, hourly={"e1": 180})
    assert result["economics"]["cost"] == "0.01"
    assert result["economics"]["cost_per_dial"] == "0.01"  # 0.005


def test_contract_margin_defaults_to_amount_times_default_rate() -> None:
    calls = [call("L1", "11-17T10:00", talk=300)]
    apps = [
        application("a1", "L1", "11-18T10:00", status="won", signed="11-20T10:00", amount=1000_00)
    ]
    economics = run(calls, apps)["economics"]
    assert (economics["revenue"], economics["margin"]) == ("1000.00", "250.00")
    assert economics["avg_margin_per_contract"] == "250.00"


def test_zero_denominators_are_null() -> None:
    empty = run([])
    assert counts(empty) == [0, 0, 0, 0, 0, 0]
    for stage in empty["stages"]:
        assert (stage["conversion"], stage["conversion_ci95"], stage["cumulative"]) == (None,) * 3
    economics = empty["economics"]
    assert economics["cost"] == "0.00"
    for name in (
        "cost_per_dial",
        "avg_margin_per_contract",
        "margin_per_dial",
        "profit_per_call",
        "profit_per_application",
        "cost_per_application",
        "dials_per_application",
        "break_even_cost_per_dial",
        "roi",
    ):
        assert economics[name] is None, name
    assert economics["forecast"] == {
        "source": "prior",
        "open_applications": 0,
        "reference_win_rate": 0.3,
        "reference_margin": "50000.00",
        "expected_margin": "0.00",
        "expected_profit_per_call": None,
        "expected_profit_per_application": None,
    }
    unreached = run([call("L1", "11-17T10:00", duration=36)])
    assert unreached["stages"][1]["conversion"] is None  # N1 = 0
    assert unreached["stages"][1]["conversion_ci95"] is None
    assert unreached["economics"]["cost_per_application"] is None
    assert unreached["economics"]["roi"] == -1.0


# --------------------------------------------------------------------------- forecast


def closed_history(won: int, lost: int) -> tuple[list[Call], list[ApplicationRow]]:
    """Old cold leads with closed applications in the reference window (won ones 200 000, 25%)."""
    calls, apps = [], []
    for index in range(won + lost):
        lead = f"H{index}"
        calls.append(call(lead, "10-01T10:00", talk=300))
        if index < won:
            apps.append(
                application(
                    f"h{index}",
                    lead,
                    "10-02T10:00",
                    status="won",
                    closed="10-20T10:00",
                    signed="10-20T10:00",
                    amount=200_000_00,
                )
            )
        else:
            apps.append(
                application(f"h{index}", lead, "10-02T10:00", status="lost", closed="10-20T10:00")
            )
    return calls, apps


COHORT_CALLS = [call("L1", "11-17T10:00", talk=300)]
COHORT_APPS = [application("a1", "L1", "11-18T10:00")]


def test_forecast_uses_history_from_min_closed_applications() -> None:
    calls, apps = closed_history(won=3, lost=2)
    # One more won application with its own margin: mean margin (3 × 50 000 + 90 000) / 4.
    calls.append(call("H9", "10-01T10:00"))
    apps.append(
        application(
            "h9",
            "H9",
            "10-03T10:00",
            status="won",
            signed="10-21T10:00",
            amount=300_000_00,
            margin=90_000_00,
        )
    )
    forecast = run(COHORT_CALLS + calls, COHORT_APPS + apps)["economics"]["forecast"]
    assert forecast["source"] == "history"
    assert forecast["open_applications"] == 1
    assert math.isclose(forecast["reference_win_rate"], 4 / 6, rel_tol=RELATIVE)
    assert forecast["reference_margin"] == "60000.00"
    assert forecast["expected_margin"] == "40000.00"  # 0 + 1 × 2/3 × 60 000


def test_forecast_below_min_closed_applications_uses_the_prior() -> None:
    calls, apps = closed_history(won=3, lost=1)
    forecast = run(COHORT_CALLS + calls, COHORT_APPS + apps)["economics"]["forecast"]
    assert forecast["source"] == "prior"
    assert (forecast["reference_win_rate"], forecast["reference_margin"]) == (0.3, "50000.00")
    assert forecast["expected_margin"] == "15000.00"


def test_forecast_reference_ignores_grouping_and_is_taken_at_as_of() -> None:
    calls, apps = closed_history(won=5, lost=0)
    # Outside the 180-day window, not closed by as_of, or of a lead never dialled: no reference.
    late_close = [
        application("x1", "H0", "11-01T10:00", status="lost", closed="11-30T10:00"),
        application("x2", "H0", "05-01T10:00", status="lost", closed="05-02T10:00"),
        application("x3", "I1", "11-01T10:00", status="lost", closed="11-02T10:00"),
    ]
    inbound = [call("I1", "10-01T10:00", talk=60, direction="inbound")]
    result = run(
        COHORT_CALLS + calls + inbound,
        COHORT_APPS + apps + late_close,
        group_by="employee",
    )
    forecasts = [result["economics"]["forecast"]] + [
        g["economics"]["forecast"] for g in result["groups"]
    ]
    for forecast in forecasts:
        assert forecast["source"] == "history"
        assert forecast["reference_win_rate"] == 1.0
        assert forecast["reference_margin"] == "50000.00"


def test_history_with_no_won_application_expects_nothing_more() -> None:
    calls, apps = closed_history(won=0, lost=5)
    forecast = run(COHORT_CALLS + calls, COHORT_APPS + apps)["economics"]["forecast"]
    assert forecast["source"] == "history"
    assert forecast["reference_win_rate"] == 0.0
    assert forecast["reference_margin"] is None
    assert forecast["expected_margin"] == "0.00"


def test_application_lost_after_as_of_is_still_open() -> None:
    apps = [application("a1", "L1", "11-18T10:00", status="lost", closed="11-27T10:00")]
    assert run(COHORT_CALLS, apps)["economics"]["forecast"]["open_applications"] == 1
    assert run(COHORT_CALLS, apps, as_of=LATER)["economics"]["forecast"]["open_applications"] == 0


def test_application_signed_after_as_of_is_still_open() -> None:
    apps = [application("a1", "L1", "11-18T10:00", status="won", signed="11-25T10:00", amount=1)]
    assert run(COHORT_CALLS, apps)["economics"]["forecast"]["open_applications"] == 1
    assert run(COHORT_CALLS, apps, as_of=LATER)["economics"]["forecast"]["open_applications"] == 0


@pytest.mark.parametrize(
    "forecast",
    [{"prior_win_rate": None}, {"prior_margin_per_contract": None}],
    ids=["no-rate", "no-margin"],
)
def test_unset_prior_leaves_only_source_and_open_applications(forecast: dict[str, Any]) -> None:
    economics = EconomicsSettings.model_validate({"forecast": forecast})
    result = run(COHORT_CALLS, COHORT_APPS, economics=economics)
    assert result["economics"]["forecast"] == {
        "source": "prior",
        "open_applications": 1,
        "reference_win_rate": None,
        "reference_margin": None,
        "expected_margin": None,
        "expected_profit_per_call": None,
        "expected_profit_per_application": None,
    }


# --------------------------------------------------------------------------- Wilson


def test_wilson_interval_against_a_hand_computation() -> None:
    # 3 of 10, z = 1.959964: p = 0.3, z² = 3.841459, denominator 1 + z²/10 = 1.3841459;
    # centre (0.3 + 0.1920729) / 1.3841459 = 0.3555066; half-width
    # z · √(0.021 + 0.0096036) / 1.3841459 = 0.2477153 → (0.1077913, 0.6032219),
    # the textbook (0.108, 0.603).
    lower, upper = wilson_interval(3, 10) or (math.nan, math.nan)
    assert math.isclose(lower, 0.1077913, rel_tol=1e-5)
    assert math.isclose(upper, 0.6032219, rel_tol=1e-5)
    # 0 of n and n of n: the exact bounds 0 and 1, not a rounding error away from them.
    assert wilson_interval(0, 2) == (0.0, pytest.approx(0.6576197724933469, rel=RELATIVE))
    assert wilson_interval(2, 2) == (pytest.approx(0.34238022750665303, rel=RELATIVE), 1.0)
    assert wilson_interval(0, 0) is None
    with pytest.raises(ValueError, match="successes"):
        wilson_interval(3, 2)


# --------------------------------------------------------------------------- grouping


def group_sums(result: FunnelResult) -> dict[str, Any]:
    assert result.groups is not None
    return {
        "stages": [sum(g.figures.stages[k].count for g in result.groups) for k in range(5)],
        "leads_dialed": sum(g.figures.leads_dialed for g in result.groups),
        "dials": sum(g.figures.dials for g in result.groups),
        "talk_seconds": sum(g.figures.talk_seconds for g in result.groups),
        "cost": sum((g.figures.economics.cost for g in result.groups), Decimal(0)),
        "applications": sum(g.figures.economics.applications for g in result.groups),
        "contracts": sum(g.figures.economics.contracts for g in result.groups),
    }


def assert_groups_add_up(result: FunnelResult, *, leads_dialed: bool = True) -> None:
    total, parts = result.total, group_sums(result)
    assert parts["stages"] == [stage.count for stage in total.stages]
    assert parts["dials"] == total.dials
    assert parts["talk_seconds"] == total.talk_seconds
    # Each group's cost is a quotient of its own; the sums agree far below the cent.
    assert abs(parts["cost"] - total.economics.cost) < Decimal("1e-20")
    assert parts["applications"] == total.economics.applications
    assert parts["contracts"] == total.economics.contracts
    if leads_dialed:  # not for activity weeks: a lead dialled in two weeks counts in both
        assert parts["leads_dialed"] == total.leads_dialed


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{c['query']['mode']}-{c['query']['as_of'][:10]}" for c in CASES]
)
@pytest.mark.parametrize("group_by", ["employee", "campaign", "script", "week"])
def test_worked_example_groups_add_up_to_the_total(case: dict[str, Any], group_by: GroupBy) -> None:
    leads = {"L2": LeadInfo(owner_id="e2", campaign="spring"), "L4": LeadInfo(campaign="spring")}
    result = worked_result(worked_query(case, group_by), leads=leads)
    assert_same(result.to_json() | {"groups": None}, case["result"] | {"groups": None})
    assert_groups_add_up(result)


def test_worked_example_employee_groups() -> None:
    leads = {"L2": LeadInfo(owner_id="e2")}  # the owner wins over the first dial's employee
    body = worked_result(worked_query(CASES[0], "employee"), leads=leads).to_json()
    groups = {g["key"]: g for g in body["groups"]}
    assert [(g["key"], g["label"]) for g in body["groups"]] == [("e1", "Anna"), ("e2", "Boris")]
    assert counts(groups["e1"]) == [2, 2, 1, 1, 1, 0]  # L1, L6
    assert counts(groups["e2"]) == [3, 2, 2, 1, 1, 0]  # L2 (owned), L3, L4
    assert groups["e1"]["economics"]["forecast"]["open_applications"] == 1


def test_campaign_and_script_without_a_value_group_under_null_last() -> None:
    calls = [
        call("L1", "11-17T10:00", talk=30, script="s2"),
        call("L2", "11-17T10:00", talk=30, script="s1"),
        call("L3", "11-17T10:00"),
        call("L3", "11-17T11:00", talk=30, script="s1"),  # the first *reached* call's script
    ]
    by_script = run(calls, group_by="script", labels={"s1": "Script one"})
    assert [(g["key"], g["label"], g["leads_dialed"]) for g in by_script["groups"]] == [
        ("s1", "Script one", 2),
        ("s2", "s2", 1),
    ]
    by_campaign = run(calls, group_by="campaign", leads={"L1": LeadInfo(campaign="autumn")})
    assert [(g["key"], g["leads_dialed"]) for g in by_campaign["groups"]] == [
        ("autumn", 1),
        (None, 2),
    ]


TWO_WEEKS = {"start": START, "end": END + timedelta(days=7), "as_of": LATER}


def test_activity_weeks_are_each_computed_on_their_own() -> None:
    query = worked_query(CASES[3], "week")
    query = replace(query, end=query.end + timedelta(days=7))
    result = worked_result(query)
    assert result.groups is not None
    first, second = result.groups
    assert (first.key, first.label) == ("2026-W47", "2026-11-16..2026-11-22")
    assert (second.key, second.label) == ("2026-W48", "2026-11-23..2026-11-29")
    assert_same(first.figures.to_json(), CASES[3]["result"])  # the one-week activity query
    week2 = second.figures.to_json()
    assert counts(week2) == [1, 0, 0, 0, 0, 1]  # c18 dials L1; k1 signed on 11-25
    assert (week2["economics"]["applications"], week2["economics"]["contracts"]) == (0, 1)
    assert_groups_add_up(result, leads_dialed=False)


def test_cohort_weeks_group_by_the_local_week_of_the_first_dial() -> None:
    calls = [
        call("L1", "11-15T21:30"),  # Monday 00:30 in Moscow: week 47
        call("L2", "11-22T20:59"),  # Sunday 23:59 in Moscow: still week 47
        call("L3", "11-22T21:00"),  # Monday 00:00: week 48
    ]
    result = compute(calls, group_by="week", **TWO_WEEKS)
    assert result.groups is not None
    assert [(g.key, g.figures.leads_dialed) for g in result.groups] == [
        ("2026-W47", 2),
        ("2026-W48", 1),
    ]
    assert_groups_add_up(result)


def test_cohort_week_of_the_worked_example_is_its_one_week_query() -> None:
    query = replace(worked_query(CASES[1], "week"), end=END + timedelta(days=7))
    result = worked_result(query)
    assert result.groups is not None
    assert_same(result.groups[0].figures.to_json(), CASES[1]["result"])
    assert counts(result.groups[1].figures.to_json()) == [0, 0, 0, 0, 0, 0]


def test_week_slices_cut_a_partial_period_at_local_mondays() -> None:
    slices = week_slices(
        datetime(2026, 11, 18, tzinfo=ZONE), datetime(2026, 12, 2, tzinfo=ZONE), ZONE
    )
    assert [(s.key, s.label) for s in slices] == [
        ("2026-W47", "2026-11-18..2026-11-22"),
        ("2026-W48", "2026-11-23..2026-11-29"),
        ("2026-W49", "2026-11-30..2026-12-01"),
    ]
    assert slices[1].start == datetime(2026, 11, 22, 21, tzinfo=UTC)


def test_activity_weeks_refuse_rows_without_week_sums() -> None:
    query = FunnelQuery("activity", START, END, AS_OF, ZONE, "week")
    rows = lead_rows([call("L1", "11-17T10:00")], {}, DEFAULTS, query)
    bare = [replace(row, weeks=()) for row in rows]
    with pytest.raises(ValueError, match="weeks"):
        compute_funnel(query, DEFAULTS, bare, [], [])


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        FunnelQuery("cohort", datetime(2026, 11, 16), END, AS_OF, ZONE)


# --------------------------------------------------------------------------- properties

OUTCOMES = [
    None,
    "no_answer",
    "voicemail",
    "secretary",
    "wrong_number",
    "refused",
    "callback_requested",
    "presented",
    "need_identified",
    "application",
]
BASE = datetime(2026, 11, 9, tzinfo=UTC)
# Three weeks around the two-week period, spread evenly (hypothesis favours small integers, which
# would put nearly everything on the first day, before the cohort).
moments = st.builds(
    lambda day, minute: BASE + timedelta(days=day, minutes=minute),
    st.sampled_from(range(22)),
    st.integers(0, 24 * 60 - 1),
)


@st.composite
def datasets(draw: st.DrawFn) -> tuple[list[Call], list[ApplicationRow]]:
    calls = []
    for index in range(draw(st.integers(0, 25))):
        talk = draw(st.sampled_from([0, 5, 10, 45, 60, 90, 130, 400]))
        calls.append(
            Call(
                id=f"c{index}",
                lead_id=f"L{draw(st.integers(0, 5))}",
                employee_id=draw(st.sampled_from(["e1", "e2", None])),
                direction=draw(st.sampled_from(["outbound", "outbound", "inbound"])),
                started_at=draw(moments),
                answered=talk > 0,
                talk_seconds=talk,
                duration_seconds=talk + draw(st.integers(0, 30)),
                outcome=draw(st.sampled_from(OUTCOMES)),
            )
        )
    apps = []
    for index in range(draw(st.integers(0, 4))):
        created = draw(moments)
        signed_after = draw(st.none() | st.integers(0, 14 * 24))
        signed = None if signed_after is None else created + timedelta(hours=signed_after)
        lost = signed is None and draw(st.booleans())
        apps.append(
            ApplicationRow(
                application_id=f"a{index}",
                lead_id=f"L{draw(st.integers(0, 5))}",
                created_at=created,
                status="won" if signed else "lost" if lost else "open",
                closed_at=signed or (created + timedelta(days=3) if lost else None),
                contract_signed_at=signed,
                contract_amount_minor=None if signed is None else draw(st.integers(1, 10**9)),
                contract_margin_minor=None
                if signed is None
                else draw(st.none() | st.integers(0, 10**8)),
            )
        )
    return calls, apps


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=datasets(),
    mode=st.sampled_from(["cohort", "activity"]),
    group_by=st.sampled_from(["employee", "script", "week"]),
    as_of=moments,
)
def test_property_counts_are_monotonic_and_groups_add_up(
    data: tuple[list[Call], list[ApplicationRow]], mode: Mode, group_by: GroupBy, as_of: datetime
) -> None:
    calls, apps = data
    result = compute(
        calls,
        apps,
        mode=mode,
        group_by=group_by,
        as_of=as_of,
        start=START,
        end=END + timedelta(days=7),
    )
    stage_counts = [result.total.leads_dialed] + [s.count for s in result.total.stages]
    if mode == "cohort":
        assert stage_counts == sorted(stage_counts, reverse=True)
    # Activity weeks count a lead dialled in two weeks in both; everything else adds up.
    assert_groups_add_up(result, leads_dialed=not (mode == "activity" and group_by == "week"))
    body = result.to_json()
    for stage in body["stages"]:
        assert (
            stage["conversion_ci95"] is None
            or 0 <= stage["conversion_ci95"][0] <= stage["conversion_ci95"][1] <= 1
        )


def test_two_rows_of_one_lead_are_refused() -> None:
    query = FunnelQuery("cohort", START, END, AS_OF, ZONE)
    rows = lead_rows([call("L1", "11-17T10:00")], {}, DEFAULTS, query)
    with pytest.raises(ValueError, match="more than one"):
        compute_funnel(query, DEFAULTS, rows * 2, [], [])
