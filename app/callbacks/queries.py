"""The SQL half of the callback cases: which leads, which of their calls, and a few facts per lead.

Only leads *touched* in the period (an unanswered inbound call started in it) take part, and of
their calls only those the cases of the period can depend on: from the period's start (reaching
further back only for the leads whose case could still be open at the start) to the end of the
window after the period. Classification and the walk are Python's (``app.callbacks.cases``): the
rows come back as plain tuples, one per call, in no particular order. Time zones never enter SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    DateTime,
    Select,
    String,
    Subquery,
    and_,
    func,
    select,
    text,
    type_coerce,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.callbacks.cases import NO_RING_TIME_PROVIDERS, CallRow, LeadFacts
from app.calls.events import Direction
from app.calls.models import UNANSWERED_INBOUND_SQL, Call
from app.employees.models import Employee
from app.integrations.models import Integration
from app.leads.models import Application, Contract, Lead, LeadPhone
from app.metrics.models import LeadEvidence

# IN lists of ids are sent in chunks: asyncpg takes at most 32,767 parameters a statement.
_CHUNK = 5_000
# A lead whose missed calls keep one case open after another reaches back this many windows at
# most before its whole earlier history is read (only a lead called every day for weeks does).
_MAX_LOOKBACK_WINDOWS = 8


def _unanswered_inbound() -> Any:
    """``cases.UNANSWERED`` inbound calls, in the partial index's own words so that both
    databases use it (SQLite matches the terms literally, bound parameters never match)."""
    return text(UNANSWERED_INBOUND_SQL)


def _taking_part() -> Any:
    """Calls with a lead, not internal, with a known start."""
    return and_(
        Call.lead_id.is_not(None),
        Call.direction != Direction.INTERNAL.value,
        Call.started_at.is_not(None),
    )


def touched_leads(start: datetime, end: datetime, as_of: datetime) -> Select[Any]:
    """Leads with an unanswered inbound call started in ``[start, end)`` and by ``as_of``."""
    return (
        select(Call.lead_id)
        .where(
            _unanswered_inbound(),
            Call.lead_id.is_not(None),
            Call.started_at >= start,
            Call.started_at < end,
            Call.started_at <= as_of,
        )
        .distinct()
    )


def _first_unanswered(
    start: datetime, end: datetime, as_of: datetime, window: timedelta
) -> Subquery:
    """Per touched lead, its first unanswered inbound call from one window before ``start``.

    Before that call no case of the lead can be open: its calls then are irrelevant to its
    cases. A lead with such a call in the window before ``start`` gets a bound before ``start``,
    so a case still open at ``start`` is walked from the period's first call on.
    """
    return (
        select(Call.lead_id.label("lead_id"), func.min(Call.started_at).label("first"))
        .where(
            _unanswered_inbound(),
            Call.lead_id.is_not(None),
            Call.started_at >= start - window,
            Call.started_at < end,
            Call.started_at <= as_of,
        )
        .group_by(Call.lead_id)
        # Touched: one of them started in the period itself.
        .having(func.max(Call.started_at) >= start)
        .subquery("first_unanswered")
    )


def _call_rows(
    leads: Select[Any] | Sequence[str] | Subquery, since: datetime | None, before: datetime
) -> Select[*tuple[Any, ...]]:
    """The leads' calls taking part, started in ``[since, before)``; with a ``_first_unanswered``
    subquery as ``leads``, only from each lead's bound on."""
    statement: Select[*tuple[Any, ...]] = (
        select(
            Call.id,
            Call.lead_id,
            Call.employee_id,
            # Plain strings and timestamps: the columns' own types turn every value into an enum
            # member or re-tag its zone, which took 0.5 s of the 0.8 s that 32k rows cost.
            type_coerce(Call.direction, String),
            type_coerce(Call.status, String),
            type_coerce(Call.started_at, DateTime(timezone=True)),
            func.coalesce(Call.talk_seconds, 0),
            func.coalesce(Call.duration_seconds, 0),
            type_coerce(Call.outcome, String),
            Integration.provider,
        )
        .join(Integration, Integration.id == Call.integration_id)
        .where(_taking_part(), Call.started_at < before)
    )
    if isinstance(leads, Subquery):
        statement = statement.join(
            leads, and_(leads.c.lead_id == Call.lead_id, Call.started_at >= leads.c.first)
        )
    else:
        statement = statement.where(Call.lead_id.in_(leads))
    if since is not None:
        statement = statement.where(Call.started_at >= since)
    return statement


def _to_call(row: Any) -> CallRow:
    started_at = row[5]
    if started_at.tzinfo is None:  # SQLite keeps no offset; stored times are UTC
        started_at = started_at.replace(tzinfo=UTC)
    return CallRow(
        id=row[0],
        lead_id=row[1],
        employee_id=row[2],
        direction=row[3],
        status=row[4],
        started_at=started_at,
        talk_seconds=int(row[6]),
        duration_seconds=int(row[7]),
        outcome=row[8],
        rings_reported=row[9] not in NO_RING_TIME_PROVIDERS,
    )


def _chunks(ids: Sequence[str]) -> Iterable[Sequence[str]]:
    for n in range(0, len(ids), _CHUNK):
        yield ids[n : n + _CHUNK]


async def calls_for_cases(
    session: AsyncSession,
    start: datetime,
    end: datetime,
    as_of: datetime,
    window: timedelta,
) -> dict[str, list[CallRow]]:
    """The calls of the touched leads the cases opened in ``[start, end)`` depend on, by lead.

    From ``start`` to ``min(end + window, as_of)``: a case opened before ``end`` is decided
    before its deadline. A case opened before ``start`` and still open at it would swallow a
    missed call of the period, and only a missed call in the window before ``start`` can have
    opened one; so for the leads with an unanswered inbound call there, that window's calls are
    read too, and so on back while that keeps being true (rarely more than once).
    """
    by_lead: dict[str, list[CallRow]] = {}
    touched = touched_leads(start, end, as_of)
    # Inclusive of as_of: calls started at or before it exist.
    bounded = _first_unanswered(start, end, as_of, window)
    await _add_calls(session, by_lead, bounded, start, min(end + window, as_of + _TICK))
    reach: Select[Any] | Sequence[str] = touched
    edge = start
    for _ in range(_MAX_LOOKBACK_WINDOWS):
        earlier = edge - window
        leads = await _unanswered_between(session, reach, earlier, edge)
        if not leads:
            return by_lead
        await _add_calls(session, by_lead, leads, earlier, edge)
        reach, edge = leads, earlier
    # Still reaching back after that many windows: read the rest of those few leads' history.
    await _add_calls(session, by_lead, reach, None, edge)
    return by_lead


async def _add_calls(
    session: AsyncSession,
    by_lead: dict[str, list[CallRow]],
    leads: Select[Any] | Sequence[str] | Subquery,
    since: datetime | None,
    before: datetime,
) -> None:
    selections = [leads] if isinstance(leads, Select | Subquery) else list(_chunks(leads))
    # On the connection, not the ORM session: these are plain rows, and the ORM's result
    # machinery costs as much again as the rows themselves.
    connection = await session.connection()
    for selection in selections:
        # fetchall in one go: row by row through the async adapter cost 8 µs a row.
        for row in (await connection.execute(_call_rows(selection, since, before))).all():
            call = _to_call(row)
            by_lead.setdefault(call.lead_id, []).append(call)


async def _unanswered_between(
    session: AsyncSession, leads: Select[Any] | Sequence[str], since: datetime, before: datetime
) -> list[str]:
    """Which of ``leads`` had an unanswered inbound call in ``[since, before)``."""
    selections = [leads] if isinstance(leads, Select) else list(_chunks(leads))
    found: set[str] = set()
    for selection in selections:
        statement = select(Call.lead_id).where(
            _unanswered_inbound(),
            Call.lead_id.in_(selection),
            Call.started_at >= since,
            Call.started_at < before,
        )
        found.update(await session.scalars(statement.distinct()))
    return sorted(found)


# An inclusive bound as an exclusive one: stored instants have microsecond resolution.
_TICK = timedelta(microseconds=1)


async def lead_facts(
    session: AsyncSession,
    lead_ids: Select[Any] | Sequence[str],
    as_of: datetime,
) -> dict[str, LeadFacts]:
    """Owner, first dialler, first stage-2 evidence and latest application of the leads.

    The first dialler and the first stage-2 call are the lead's kept evidence (``lead_evidence``,
    current with its calls: docs/metrics.md → Kept evidence), instants that "by ``as_of``"
    compares here. Reading them from the calls scanned every call of the touched leads' history
    (5.8 s of a month's 6-13 s at 1 M calls on a loaded machine).
    """
    selections = [lead_ids] if isinstance(lead_ids, Select) else list(_chunks(lead_ids))
    facts: dict[str, LeadFacts] = {}
    connection = await session.connection()
    for selection in selections:
        applied = (
            select(
                Application.lead_id,
                func.min(Application.created_at).label("first"),
                func.max(Application.created_at).label("last"),
            )
            .where(Application.lead_id.in_(selection), Application.created_at <= as_of)
            .group_by(Application.lead_id)
            .subquery("applied")
        )
        signed = (
            select(Application.lead_id, func.min(Contract.signed_at).label("first"))
            .join(Contract, Contract.application_id == Application.id)
            .where(Application.lead_id.in_(selection), Contract.signed_at <= as_of)
            .group_by(Application.lead_id)
            .subquery("signed")
        )
        statement = (
            select(
                Lead.id,
                Lead.owner_id,
                LeadEvidence.first_dial_at,
                LeadEvidence.first_dialler,
                LeadEvidence.conversation_at,
                applied.c.first,
                applied.c.last,
                signed.c.first,
            )
            .outerjoin(LeadEvidence, LeadEvidence.lead_id == Lead.id)
            .outerjoin(applied, applied.c.lead_id == Lead.id)
            .outerjoin(signed, signed.c.lead_id == Lead.id)
            .where(Lead.id.in_(selection))
        )
        for lead, owner, first_dial_at, dialler, conversation_at, *documents in (
            await connection.execute(statement)
        ).all():
            applied_first, applied_last, signed_first = documents
            evidence_at = [
                moment
                for moment in (_by(conversation_at, as_of), applied_first, signed_first)
                if moment is not None
            ]
            facts[lead] = LeadFacts(
                lead_id=lead,
                owner_id=owner,
                first_dialler_id=dialler if _by(first_dial_at, as_of) else None,
                stage2_at=min(evidence_at, default=None),
                last_application_at=applied_last,
            )
    return facts


def _by(moment: datetime | None, as_of: datetime) -> datetime | None:
    """``moment`` if it came at or before ``as_of``: the kept evidence counts every call."""
    return moment if moment is not None and moment <= as_of else None


async def lead_cards(
    session: AsyncSession, lead_ids: Sequence[str]
) -> dict[str, tuple[str | None, str | None]]:
    """(company, first phone) of the leads a page of cases shows."""
    first_phone = (
        select(LeadPhone.phone_e164)
        .where(LeadPhone.lead_id == Lead.id)
        .order_by(LeadPhone.id)
        .limit(1)
        .scalar_subquery()
    )
    cards: dict[str, tuple[str | None, str | None]] = {}
    for chunk in _chunks(lead_ids):
        statement = select(Lead.id, Lead.company, first_phone).where(Lead.id.in_(chunk))
        for row in await session.execute(statement):
            cards[row[0]] = (row[1], row[2])
    return cards


async def employee_names(session: AsyncSession) -> dict[str, str]:
    return {row[0]: row[1] for row in await session.execute(select(Employee.id, Employee.name))}
