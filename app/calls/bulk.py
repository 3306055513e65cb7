"""Folding a whole batch of calls' events at once: ``CallService.merge_call_events`` in bulk.

Bulk imports (Asterisk CDR) bring thousands of calls per batch, each complete or nearly so; written
one call at a time that is several statements per call. Here the batch costs a handful: one SELECT
of the calls that exist (locked on PostgreSQL), the fold in memory with the same merge, one SELECT
of the extensions' employees and of the numbers' leads, multi-row INSERTs for the new leads and
calls, one executemany UPDATE for the calls that existed. The call rows come out exactly as the
event-by-event path writes them (same merge, same columns, same links); the tests compare both.

A concurrent writer creating one of the batch's calls first makes the INSERT fail
(``IntegrityError``): the caller then redoes the batch call by call, which handles that race.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.calls.events import CallEvent, CallSource, Direction, RecordingRef
from app.calls.merge import CallState, call_fields, merge_call_event
from app.calls.models import Call
from app.calls.repository import call_repository
from app.calls.service import _LEAD_SOURCE, _columns, call_service
from app.db import utcnow
from app.dialect import dialect_insert, dialect_of, table_of
from app.employees.models import EmployeeExtension
from app.ids import new_id
from app.leads.models import Lead, LeadPhone, LeadStatus
from app.metrics.evidence import refresh_evidence

_CHUNK = 500


@dataclass(frozen=True, slots=True)
class BulkResult:
    created: list[str]  # provider_call_ids of the calls made now
    updated: list[str]  # provider_call_ids of the calls that existed


@dataclass(slots=True)
class _Folded:
    provider_call_id: str
    call_id: str | None  # None: a new call
    columns: dict[str, Any]
    phone: str | None
    employee_id: str | None
    lead_id: str | None
    recordings: list[RecordingRef]


async def merge_batch(
    session: AsyncSession,
    integration_id: str,
    config: CallSource,
    events_by_call: Mapping[str, Sequence[CallEvent]],
) -> BulkResult:
    """Fold each call's events (by ``provider_call_id``; no leg ids) into its call, in bulk."""
    now = utcnow()
    ids = sorted(events_by_call)
    existing = await _existing(session, integration_id, ids)
    folded: list[_Folded] = []
    for provider_call_id in ids:
        row = existing.get(provider_call_id)
        before = CallState.from_json(row[1]) if row is not None and row[1] else None
        state = before
        for event in events_by_call[provider_call_id]:
            state = merge_call_event(state, replace(event, provider_call_id=provider_call_id))
        assert state is not None
        fields = call_fields(state)
        columns, phone = _columns(fields, config)
        columns |= {"merge_state": state.to_json(), "updated_at": now}
        old = set(before.recordings) if before else set()
        folded.append(
            _Folded(
                provider_call_id=provider_call_id,
                call_id=None if row is None else row[0],
                columns=columns,
                phone=phone,
                employee_id=None if row is None else row[2],
                lead_id=None if row is None else row[3],
                recordings=[ref for ref in fields.recordings if ref not in old],
            )
        )
    leads_before = [item.lead_id for item in folded]
    await _link_employees(session, folded)
    await _link_leads(session, folded)
    created = [item for item in folded if item.call_id is None]
    changed = [item for item in folded if item.call_id is not None]
    for item in created:
        item.call_id = new_id("call")
    call = table_of(Call)
    if created:
        await session.execute(
            insert(call),
            [
                {
                    **item.columns,
                    "id": item.call_id,
                    "integration_id": integration_id,
                    "provider_call_id": item.provider_call_id,
                    "employee_id": item.employee_id,
                    "lead_id": item.lead_id,
                    "created_at": now,
                }
                for item in created
            ],
        )
    if changed:
        names = [*changed[0].columns, "employee_id", "lead_id"]
        statement = (
            update(call)
            .where(call.c.id == bindparam("b_call_id"))
            .values({name: bindparam(f"b_{name}", type_=call.c[name].type) for name in names})
        )
        await session.execute(
            statement,
            [
                {
                    "b_call_id": item.call_id,
                    **{f"b_{name}": value for name, value in item.columns.items()},
                    "b_employee_id": item.employee_id,
                    "b_lead_id": item.lead_id,
                }
                for item in changed
            ],
        )
    for item in folded:
        if item.recordings:
            assert item.call_id is not None
            await call_repository.save_recordings(
                session, call_id=item.call_id, recordings=item.recordings, now=now
            )
    # One recount of the batch's leads, those its calls left included.
    await refresh_evidence(session, [*leads_before, *(item.lead_id for item in folded)])
    return BulkResult(
        created=[item.provider_call_id for item in created],
        updated=[item.provider_call_id for item in changed],
    )


async def _existing(
    session: AsyncSession, integration_id: str, ids: Sequence[str]
) -> dict[str, tuple[str, dict[str, Any], str | None, str | None]]:
    """provider_call_id → (id, merge_state, employee_id, lead_id) of the batch's existing calls,
    locked until the transaction ends (PostgreSQL; SQLite has one writer anyway)."""
    found: dict[str, tuple[str, dict[str, Any], str | None, str | None]] = {}
    postgres = dialect_of(session) == "postgresql"
    for offset in range(0, len(ids), _CHUNK):
        query = select(
            Call.provider_call_id, Call.id, Call.merge_state, Call.employee_id, Call.lead_id
        ).where(
            Call.integration_id == integration_id,
            Call.provider_call_id.in_(ids[offset : offset + _CHUNK]),
        )
        if postgres:
            query = query.order_by(Call.provider_call_id).with_for_update()
        for provider_call_id, call_id, state, employee_id, lead_id in await session.execute(query):
            found[provider_call_id] = (call_id, state, employee_id, lead_id)
    return found


async def _link_employees(session: AsyncSession, folded: Sequence[_Folded]) -> None:
    """The employee of each call's extension, as ``_save_and_link`` links it (an unknown
    extension gets its placeholder employee); a call with no extension keeps its employee."""
    extensions = sorted({item.columns["extension"] for item in folded if item.columns["extension"]})
    known: dict[str, str] = {}
    for offset in range(0, len(extensions), _CHUNK):
        query = select(EmployeeExtension.extension, EmployeeExtension.employee_id).where(
            EmployeeExtension.extension.in_(extensions[offset : offset + _CHUNK])
        )
        known.update(dict((await session.execute(query)).all()))
    for extension in extensions:
        if extension not in known:
            # Few per import (a PBX has tens of extensions), so one at a time, race-safe.
            known[extension] = await call_service.employee_for_extension(session, extension)
    for item in folded:
        extension = item.columns["extension"]
        if extension:
            item.employee_id = known[extension]


async def _link_leads(session: AsyncSession, folded: Sequence[_Folded]) -> None:
    """The lead of each customer's number (a new lead for a new number), as the webhooks link it:
    by number for inbound and outbound calls, none for internal ones, else kept."""
    sources: dict[str, str] = {}
    for item in folded:
        direction = item.columns["direction"]
        source = _LEAD_SOURCE.get(Direction(direction)) if direction else None
        if source and item.phone:
            sources.setdefault(item.phone, source)
    phones = sorted(sources)
    known: dict[str, str] = {}
    phone_table = table_of(LeadPhone)
    for offset in range(0, len(phones), _CHUNK):
        query = select(phone_table.c.phone_e164, phone_table.c.lead_id).where(
            phone_table.c.phone_e164.in_(phones[offset : offset + _CHUNK])
        )
        known.update(dict((await session.execute(query)).all()))
    missing = [phone for phone in phones if phone not in known]
    if missing:
        now = utcnow()
        proposed = {phone: new_id("lead") for phone in missing}
        await session.execute(
            insert(table_of(Lead)),
            [
                {
                    "id": lead_id,
                    "source": sources[phone],
                    "status": LeadStatus.ACTIVE.value,
                    "created_at": now,
                    "updated_at": now,
                }
                for phone, lead_id in proposed.items()
            ],
        )
        claim = (
            dialect_insert(dialect_of(session), phone_table)
            .on_conflict_do_nothing(index_elements=["phone_e164"])
            .returning(phone_table.c.phone_e164)
        )
        claimed = {
            phone
            for (phone,) in await session.execute(
                claim,
                [{"lead_id": proposed[phone], "phone_e164": phone} for phone in missing],
            )
        }
        lost = [phone for phone in missing if phone not in claimed]
        if lost:
            # Another transaction gave these numbers their leads first: keep theirs, drop ours.
            await session.execute(
                delete(table_of(Lead)).where(
                    table_of(Lead).c.id.in_([proposed[phone] for phone in lost])
                )
            )
            query = select(phone_table.c.phone_e164, phone_table.c.lead_id).where(
                phone_table.c.phone_e164.in_(lost)
            )
            known.update(dict((await session.execute(query)).all()))
        known.update({phone: proposed[phone] for phone in claimed})
    for item in folded:
        direction = item.columns["direction"]
        if direction and Direction(direction) in _LEAD_SOURCE and item.phone:
            item.lead_id = known[item.phone]
        elif direction == Direction.INTERNAL.value:
            item.lead_id = None
