"""A plain-Python reading of docs/metrics.md: from normalised calls to the rows SQL must produce.

Written from the rules, not from ``app.metrics.funnel``'s internals: it classifies every call's
stage evidence, picks the cold leads a query needs and sums their in-scope calls. The tests feed
its ``LeadRow``s to ``compute_funnel``; the SQL of ``app/metrics/queries.py`` is to be checked
against ``lead_rows``/``application_rows``/``reference_application_rows`` on the same data.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from app.metrics.funnel import ApplicationRow, FunnelQuery, LeadRow, WeekSums
from app.settings.schemas import EconomicsSettings

OUTBOUND = "outbound"
NOT_REACHED = frozenset({"no_answer", "voicemail", "wrong_number"})
NEGATIVE = frozenset({"no_answer", "voicemail", "secretary", "wrong_number"})
STAGE2_TAGS = frozenset({"presented", "need_identified", "application"})
STAGE2_IF_LONG = frozenset({"refused", "callback_requested"})  # and no outcome at all
STAGE3_TAGS = frozenset({"need_identified", "application"})


@dataclass(frozen=True, slots=True)
class Call:
    """A normalised call (the fields the funnel reads)."""

    id: str
    lead_id: str | None
    employee_id: str | None
    direction: str  # outbound / inbound / internal
    started_at: datetime
    answered: bool
    talk_seconds: int
    duration_seconds: int
    outcome: str | None = None
    script_id: str | None = None

    @property
    def ended_at(self) -> datetime:
        return self.started_at + timedelta(seconds=self.duration_seconds)


@dataclass(frozen=True, slots=True)
class LeadInfo:
    owner_id: str | None = None
    campaign: str | None = None


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def minor(amount: str | None) -> int | None:
    return None if amount is None else int(Decimal(amount) * 100)


def calls_from_dataset(raw: Iterable[Mapping[str, Any]]) -> list[Call]:
    return [
        Call(
            id=c["id"],
            lead_id=c["lead_id"],
            employee_id=c["employee_id"],
            direction=c["direction"],
            started_at=parse_time(c["started_at"]),
            answered=c["answered"],
            talk_seconds=c["talk_seconds"],
            duration_seconds=c["duration_seconds"],
            outcome=c["outcome"],
            script_id=c.get("script_id"),
        )
        for c in raw
    ]


def application_rows(
    applications: Iterable[Mapping[str, Any]], contracts: Iterable[Mapping[str, Any]]
) -> list[ApplicationRow]:
    """Applications joined with their contract (at most one), money in minor units."""
    contract_of = {k["application_id"]: k for k in contracts}
    rows = []
    for a in applications:
        contract = contract_of.get(a["id"])
        closed = a.get("closed_at")
        rows.append(
            ApplicationRow(
                application_id=a["id"],
                lead_id=a["lead_id"],
                created_at=parse_time(a["created_at"]),
                status=a["status"],
                closed_at=None if closed is None else parse_time(closed),
                contract_signed_at=None if contract is None else parse_time(contract["signed_at"]),
                contract_amount_minor=None if contract is None else minor(contract["amount"]),
                contract_margin_minor=None if contract is None else minor(contract.get("margin")),
            )
        )
    return rows


# --------------------------------------------------------------------------- the rules


def is_reached(call: Call, settings: EconomicsSettings) -> bool:
    return (
        call.answered
        and call.talk_seconds >= settings.thresholds.reached_s
        and call.outcome not in NOT_REACHED
    )


def is_stage2(call: Call, settings: EconomicsSettings) -> bool:
    if call.outcome in STAGE2_TAGS:
        return True
    if call.outcome is None or call.outcome in STAGE2_IF_LONG:
        return (
            is_reached(call, settings) and call.talk_seconds >= settings.thresholds.conversation_s
        )
    return False


def is_stage3(call: Call, first_conversation: Call | None, settings: EconomicsSettings) -> bool:
    if call.outcome in STAGE3_TAGS:
        return True
    if first_conversation is None or call.id == first_conversation.id:
        return False
    gap = timedelta(minutes=settings.thresholds.second_call_gap_minutes)
    return (
        call.started_at >= first_conversation.ended_at + gap
        and call.outcome not in NEGATIVE
        and is_reached(call, settings)
        and call.talk_seconds >= settings.thresholds.second_call_s
    )


def evidence_times(
    calls: Sequence[Call], settings: EconomicsSettings, as_of: datetime
) -> tuple[datetime | None, datetime | None, datetime | None]:
    """Earliest stage-1/2/3 evidence among one lead's calls (both directions) by as_of."""
    known = sorted((c for c in calls if c.started_at <= as_of), key=lambda c: (c.started_at, c.id))
    reached = [c for c in known if is_reached(c, settings)]
    conversations = [c for c in known if is_stage2(c, settings)]
    first_conversation = conversations[0] if conversations else None
    second = [c for c in known if is_stage3(c, first_conversation, settings)]
    return (
        reached[0].started_at if reached else None,
        first_conversation.started_at if first_conversation else None,
        second[0].started_at if second else None,
    )


def lead_calls(calls: Iterable[Call]) -> dict[str, list[Call]]:
    """Calls that take part at all: linked to a lead and not internal."""
    by_lead: defaultdict[str, list[Call]] = defaultdict(list)
    for call in calls:
        if call.lead_id is not None and call.direction != "internal":
            by_lead[call.lead_id].append(call)
    return dict(by_lead)


def first_dial(calls: Sequence[Call], as_of: datetime) -> Call | None:
    dials = [c for c in calls if c.direction == OUTBOUND and c.started_at <= as_of]
    return min(dials, key=lambda c: (c.started_at, c.id)) if dials else None


def cold_lead_ids(calls: Iterable[Call], as_of: datetime) -> set[str]:
    return {lead for lead, own in lead_calls(calls).items() if first_dial(own, as_of) is not None}


@dataclass(frozen=True, slots=True)
class _Sums:
    dialled: bool
    dials: int
    talk_seconds: int
    billable_minutes: int
    labour_minor_seconds: int


def sums(
    calls: Iterable[Call],
    hourly_minor: Mapping[str, int | None],
    settings: EconomicsSettings,
) -> _Sums:
    calls = list(calls)
    default_hourly = int(settings.labor_cost_per_hour * 100)
    labour = 0
    for c in calls:
        own_rate = None if c.employee_id is None else hourly_minor.get(c.employee_id)
        rate = default_hourly if own_rate is None else own_rate
        labour += rate * (c.duration_seconds + (settings.wrapup_seconds if c.answered else 0))
    outbound = [c for c in calls if c.direction == OUTBOUND]
    return _Sums(
        dialled=bool(outbound),
        dials=len(outbound),
        talk_seconds=sum(c.talk_seconds for c in calls),
        billable_minutes=sum(math.ceil(c.talk_seconds / 60) for c in outbound),
        labour_minor_seconds=labour,
    )


def group_of(
    query: FunnelQuery,
    settings: EconomicsSettings,
    calls: Sequence[Call],
    info: LeadInfo,
    labels: Mapping[str, str],
) -> tuple[str | None, str | None]:
    """The lead's group key and label for employee/campaign/script (week is funnel.py's)."""
    if query.group_by == "employee":
        dial = first_dial(calls, query.as_of)
        key = info.owner_id or (dial.employee_id if dial else None)
    elif query.group_by == "campaign":
        return info.campaign, info.campaign
    elif query.group_by == "script":
        reached = sorted(
            (c for c in calls if c.started_at <= query.as_of and is_reached(c, settings)),
            key=lambda c: (c.started_at, c.id),
        )
        key = reached[0].script_id if reached else None
    else:
        return None, None
    return key, None if key is None else labels.get(key, key)


def lead_rows(
    calls: Iterable[Call],
    employees_hourly_minor: Mapping[str, int | None],
    settings: EconomicsSettings,
    query: FunnelQuery,
    *,
    applications: Iterable[ApplicationRow] = (),
    leads: Mapping[str, LeadInfo] | None = None,
    labels: Mapping[str, str] | None = None,
) -> list[LeadRow]:
    """The rows the SQL must return for ``query``, one per relevant cold lead, by lead id.

    cohort: cold leads first dialled in ``[start, end)``; sums over all their calls <= as_of.
    activity: cold leads with a call in the period, or an application created or a contract
    signed in the period (all by as_of); sums over their calls started in the period; with
    ``group_by="week"`` also the sums per local ISO week.
    """
    as_of = query.as_of
    active_apps = {
        a.lead_id
        for a in applications
        if any(
            moment is not None and query.start <= moment < query.end and moment <= as_of
            for moment in (a.created_at, a.contract_signed_at)
        )
    }
    rows = []
    for lead_id, own in sorted(lead_calls(calls).items()):
        dial = first_dial(own, as_of)
        if dial is None:
            continue  # not a cold lead (inbound only, or first dialled after as_of)
        known = [c for c in own if c.started_at <= as_of]
        in_period = [c for c in known if query.start <= c.started_at < query.end]
        if query.mode == "cohort":
            if not query.start <= dial.started_at < query.end:
                continue
            scope = known
        else:
            if not in_period and lead_id not in active_apps:
                continue
            scope = in_period
        total = sums(scope, employees_hourly_minor, settings)
        key, label = group_of(
            query, settings, known, (leads or {}).get(lead_id, LeadInfo()), labels or {}
        )
        rows.append(
            LeadRow(
                lead_id=lead_id,
                group_key=key,
                group_label=label,
                first_dial_at=dial.started_at,
                evidence_at=evidence_times(own, settings, as_of),
                dialled_in_period=any(c.direction == OUTBOUND for c in in_period),
                dials=total.dials,
                talk_seconds=total.talk_seconds,
                billable_minutes=total.billable_minutes,
                labour_minor_seconds=total.labour_minor_seconds,
                weeks=_weeks(query, scope, employees_hourly_minor, settings),
            )
        )
    return rows


def _weeks(
    query: FunnelQuery,
    scope: Sequence[Call],
    hourly_minor: Mapping[str, int | None],
    settings: EconomicsSettings,
) -> tuple[WeekSums, ...]:
    if query.mode != "activity" or query.group_by != "week":
        return ()
    by_week: defaultdict[str, list[Call]] = defaultdict(list)
    for call in scope:
        year, week, _ = call.started_at.astimezone(query.zone).isocalendar()
        by_week[f"{year}-W{week:02d}"].append(call)
    weeks = []
    for key, calls in sorted(by_week.items()):
        s = sums(calls, hourly_minor, settings)
        weeks.append(
            WeekSums(
                key, s.dialled, s.dials, s.talk_seconds, s.billable_minutes, s.labour_minor_seconds
            )
        )
    return tuple(weeks)


def reference_application_rows(
    applications: Iterable[ApplicationRow],
    calls: Iterable[Call],
    settings: EconomicsSettings,
    as_of: datetime,
) -> list[ApplicationRow]:
    """Applications of all cold leads created in ``[as_of − reference_days, as_of)``."""
    cold = cold_lead_ids(calls, as_of)
    since = as_of - timedelta(days=settings.forecast.reference_days)
    return [a for a in applications if a.lead_id in cold and since <= a.created_at < as_of]
