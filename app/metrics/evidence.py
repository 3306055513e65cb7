"""Keeping ``lead_evidence`` current: the rows of touched leads recomputed from their calls.

Every write that changes what the funnel derives from a lead's calls — a call merged (webhooks,
CDR import, the simulator), its outcome or script changed, calls moved by a lead or employee
merge, an hourly cost changed — calls ``refresh_evidence`` with the leads it touched, in its own
transaction: the kept rows are never older than the calls they summarise. A change of the
settings the rows depend on (``evidence_inputs``) rebuilds them all. The rows come from the very
evidence pass the raw funnel runs (``app.metrics.queries.kept_evidence``): one copy of the rules.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager

from sqlalchemy import Insert, bindparam, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.calls.models import Call
from app.dialect import dialect_of
from app.leads.models import Lead
from app.metrics import queries
from app.metrics.models import LeadEvidence
from app.settings.repository import ECONOMICS, setting_repository
from app.settings.schemas import EconomicsSettings

# Where ``deferred_evidence`` collects the leads to recount (``Session.info``).
_PENDING = "metrics.evidence.pending"

# Leads per statement: SQLite binds at most 32,766 parameters, and a bulk import touches
# thousands of leads per batch.
_CHUNK = 1000


def evidence_inputs(settings: EconomicsSettings) -> tuple[object, ...]:
    """The settings the kept rows are computed under: a change of any of them rebuilds all."""
    return (settings.thresholds, settings.wrapup_seconds, settings.labor_cost_per_hour)


async def refresh_evidence(session: AsyncSession, lead_ids: Iterable[str | None]) -> None:
    """Recompute the kept rows of ``lead_ids`` (``None``s are skipped) from their calls.

    Flushes first: the calls the ORM still holds must be what the recount reads.
    """
    pending: set[str] | None = session.info.get(_PENDING)
    if pending is not None:
        pending.update(lead_id for lead_id in lead_ids if lead_id is not None)
        return
    wanted = sorted({lead_id for lead_id in lead_ids if lead_id is not None})
    if not wanted:
        return
    await session.flush()
    settings = await _settings(session)
    for begin in range(0, len(wanted), _CHUNK):
        chunk = wanted[begin : begin + _CHUNK]
        await _lock(session, chunk)
        await _replace(session, settings, chunk)


@asynccontextmanager
async def deferred_evidence(session: AsyncSession) -> AsyncIterator[None]:
    """Inside, ``refresh_evidence`` only collects its leads; on leaving, they are recounted once.

    For a request that merges many calls: per call, each recount would lock its lead until the
    commit, in the order of the calls, and two deliveries meeting two leads in opposite orders
    would deadlock; once, at the end, the locks are taken in id order. A lead collected by a
    merge that was then rolled back is recounted all the same, which is harmless.
    """
    session.info[_PENDING] = set()
    try:
        yield
    except BaseException:
        session.info.pop(_PENDING, None)
        raise
    await refresh_evidence(session, session.info.pop(_PENDING))


async def refresh_evidence_of_employee(session: AsyncSession, employee_id: str) -> None:
    """``refresh_evidence`` of every lead with a call of ``employee_id`` (the caller's rate and
    who dialled first are in the rows)."""
    await session.flush()
    leads = select(Call.lead_id).where(Call.employee_id == employee_id, Call.lead_id.is_not(None))
    await refresh_evidence(session, (await session.scalars(leads.distinct())).all())


async def rebuild_evidence(session: AsyncSession, settings: EconomicsSettings | None = None) -> int:
    """Every kept row recomputed (``settings``: those just stored, else the stored ones); returns
    the number of rows."""
    await session.flush()
    await session.execute(delete(LeadEvidence))
    await _insert(session, settings or await _settings(session), None)
    return int((await session.execute(select(func.count()).select_from(LeadEvidence))).scalar_one())


async def fill_evidence(session: AsyncSession) -> int | None:
    """Rebuild the kept rows if there are none while calls would give some — a database that
    held calls before it was upgraded to the table; the number of rows, or None if left alone.

    ``app.migrations.upgrade`` runs it after every upgrade: a migration cannot fill the table
    itself (it never imports the application), and an empty table would answer every funnel
    empty until someone remembered ``callfunnel evidence rebuild``.
    """
    if await session.scalar(select(LeadEvidence.lead_id).limit(1)) is not None:
        return None
    settings = await _settings(session)
    if await session.scalar(select(queries.known_calls(settings, None).exists())) is not True:
        return None
    return await rebuild_evidence(session, settings)


async def _lock(session: AsyncSession, lead_ids: Sequence[str]) -> None:
    """Concurrent recounts of one lead (two deliveries of its calls) queue on its row, in id
    order: else both would insert it, and the later one could count without the earlier one's
    call. NO KEY UPDATE, not UPDATE: writers of calls hold KEY SHARE locks on their leads (the
    foreign key), and waiting on those would deadlock with them. SQLite has a single writer."""
    if dialect_of(session) == "postgresql":
        query = select(Lead.id).where(Lead.id.in_(lead_ids)).order_by(Lead.id)
        await session.execute(query.with_for_update(key_share=True))


async def _replace(
    session: AsyncSession, settings: EconomicsSettings, lead_ids: Sequence[str]
) -> None:
    await session.execute(delete(LeadEvidence).where(LeadEvidence.lead_id.in_(lead_ids)))
    await _insert(session, settings, lead_ids)


async def _insert(
    session: AsyncSession, settings: EconomicsSettings, lead_ids: Sequence[str] | None
) -> None:
    if lead_ids is None:
        # The whole history costs enough to wake the JIT, which does not pay back here; a few
        # leads' recount stays below its threshold, and is spared the round trip.
        await queries.without_jit(session)
        await session.execute(_insert_statement(settings, None))
        return
    # On the connection: the ORM session would take a parameter dict with an INSERT for a bulk
    # insert of that row.
    connection = await session.connection()
    await connection.execute(_recount_statement(settings), {"lead_ids": list(lead_ids)})


def _insert_statement(settings: EconomicsSettings, lead_ids: queries.LeadSelection) -> Insert:
    statement = queries.kept_evidence(settings, lead_ids)
    columns = [column.name for column in statement.selected_columns]
    return insert(LeadEvidence).from_select(columns, statement)


# Every delivery recounts its leads: building the evidence pass (hundreds of expressions) took
# ~10 ms of the ~17 ms a webhook cost, so it is built once per settings, the lead ids bound at
# execution; SQLAlchemy's compiled cache then spares the compilation too. Keyed by the settings'
# JSON: the statement holds their values, and a few distinct settings ever occur in a process.
_RECOUNTS: dict[str, Insert] = {}


def _recount_statement(settings: EconomicsSettings) -> Insert:
    key = settings.model_dump_json()
    statement = _RECOUNTS.get(key)
    if statement is None:
        if len(_RECOUNTS) >= 16:
            _RECOUNTS.clear()
        statement = _insert_statement(settings, bindparam("lead_ids", expanding=True))
        _RECOUNTS[key] = statement
    return statement


async def _settings(session: AsyncSession) -> EconomicsSettings:
    # The stored economics, as the settings service reads them: that service imports this module
    # (a change rebuilds the rows), so this one reads the row itself. No time zone enters evidence.
    return EconomicsSettings.model_validate(await setting_repository.get(session, ECONOMICS) or {})
