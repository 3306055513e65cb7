from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    bindparam,
    exists,
    func,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scope import Scope
from app.calls.events import RecordingRef
from app.calls.merge import LegFields
from app.calls.models import Call, CallLeg
from app.calls.schemas import CallFilters
from app.dialect import dialect_insert, dialect_of, table_of
from app.employees.models import EmployeeExtension
from app.ids import new_id
from app.leads.models import LeadPhone
from app.leads.repository import readable_lead_ids
from app.recordings.models import Recording


@dataclass(frozen=True, slots=True)
class LockedCall:
    """The part of a locked call row that the merge reads."""

    id: str
    provider_call_id: str
    merge_state: dict[str, Any]
    lead_id: str | None  # before this event: the kept evidence of a lead it leaves is redone


class LeadLink(Enum):
    """What a merged event does to the call's lead."""

    KEEP = "keep"
    BY_PHONE = "by_phone"
    CLEAR = "clear"


def readable_calls(scope: Scope) -> ColumnElement[bool] | None:
    """The calls ``scope`` may read (None: all): a manager reads the calls it made, and every call
    of the leads that belong to it (the whole contact history of its leads).

    The one statement of that rule for calls: the call list and page, a lead's timeline, the
    recordings and the call statistics all start from it (``app.auth.scope``). Reading is not
    writing: ``writable_call`` says which of these calls the key may change.
    """
    own = scope.clause(Call.employee_id)
    if own is None:
        return None
    leads = readable_lead_ids(scope)
    return own if leads is None else or_(own, Call.lead_id.in_(leads))


def writable_call(scope: Scope, call: Call) -> bool:
    """Whether ``scope`` may change (tag, annotate) ``call``: only the calls it made itself; a
    colleague's call on one of its leads is readable history, not its to edit."""
    return scope.admits(call.employee_id)


def _call_clauses(filters: CallFilters) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if filters.started_from is not None:
        clauses.append(Call.started_at >= filters.started_from)
    if filters.started_to is not None:
        clauses.append(Call.started_at < filters.started_to)
    for column, wanted in (
        (Call.direction, filters.direction),
        (Call.status, filters.status),
        (Call.outcome, filters.outcome),
        (Call.employee_id, filters.employee_id),
        (Call.lead_id, filters.lead_id),
        (Call.integration_id, filters.integration_id),
        (Call.provider_call_id, filters.provider_call_id),
    ):
        if wanted is not None:
            clauses.append(column == wanted)
    if filters.has_recording is not None:
        recorded = exists().where(Recording.call_id == Call.id)
        clauses.append(recorded if filters.has_recording else ~recorded)
    return clauses


class CallRepository:
    """Webhook merges run the statements below for every event, so they are Core statements
    built once per dialect (composing one cost more than running it) and few: a leg lookup, one
    upsert that finds or creates the call and locks it, the changed legs and recordings, and one
    UPDATE that also links the employee and the lead by subqueries."""

    async def lock_for_event(
        self,
        session: AsyncSession,
        *,
        integration_id: str,
        leg_id: str | None,
        provider_call_id: str,
        now: datetime,
    ) -> LockedCall:
        """The event's call, created if new, locked until the transaction ends.

        An event may name only a leg (a Twilio recording callback for a child CallSid): the leg
        table leads to the call that leg already belongs to; else the provider's call id does.
        One SELECT … FOR UPDATE looks both up. A new call is created by INSERT … ON CONFLICT DO
        UPDATE … RETURNING, which on PostgreSQL also locks the row, so concurrent first events of
        one call queue instead of creating it twice. SQLite serialises writers anyway.
        """
        statements = _statements(dialect_of(session))
        key = {"integration_id": integration_id, "provider_call_id": provider_call_id}
        found = (
            await session.execute(statements.find, {**key, "leg_id": leg_id or provider_call_id})
        ).one_or_none()
        if found is None:
            new = {"id": new_id("call"), "merge_state": {}, "created_at": now, "updated_at": now}
            found = (await session.execute(statements.find_or_create, {**key, **new})).one()
        return LockedCall(*found)

    async def save_legs(
        self,
        session: AsyncSession,
        *,
        call_id: str,
        integration_id: str,
        legs: Sequence[LegFields],
    ) -> None:
        if not legs:
            return
        await session.execute(
            _statements(dialect_of(session)).save_leg,
            [
                {
                    "call_id": call_id,
                    "integration_id": integration_id,
                    "provider_leg_id": leg.leg_id,
                    "last_seq": leg.last_seq,
                    "extension": leg.extension,
                    "answered": leg.answered,
                }
                for leg in legs
            ],
        )

    async def save_recordings(
        self,
        session: AsyncSession,
        *,
        call_id: str,
        recordings: Sequence[RecordingRef],
        now: datetime,
    ) -> None:
        if not recordings:
            return
        await session.execute(
            _statements(dialect_of(session)).save_recording,
            [
                {
                    "id": new_id("rec"),
                    "call_id": call_id,
                    "provider_ref": recording.provider_ref,
                    "source_url": recording.url,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
                for recording in recordings
            ],
        )

    async def save_merged(
        self,
        session: AsyncSession,
        call_id: str,
        columns: Mapping[str, Any],
        *,
        extension: str | None,
        lead: LeadLink,
        phone: str | None,
    ) -> tuple[str | None, str | None]:
        """Write the merged columns; link the employee who has ``extension`` (if given) and the
        lead as ``lead`` says. Returns the call's (employee_id, lead_id) afterwards."""
        statement = _save_merged(extension is not None, lead)
        params = {**columns, "call_id": call_id, "link_extension": extension, "link_phone": phone}
        employee_id, lead_id = (await session.execute(statement, params)).one()
        return employee_id, lead_id

    async def link(self, session: AsyncSession, call_id: str, **links: str) -> None:
        """Point the call at an employee or a lead just created for it."""
        call = table_of(Call)
        await session.execute(update(call).where(call.c.id == call_id).values(links))

    async def get(self, session: AsyncSession, call_id: str) -> Call | None:
        """Any call, whoever asks: for writers and the ingestion, never for a reader's answer."""
        return await session.get(Call, call_id)

    def get_readable_statement(self, scope: Scope) -> Select[Call]:
        """Every list and get of calls starts here, so what a key reads has one home."""
        readable = readable_calls(scope)
        statement = select(Call)
        return statement if readable is None else statement.where(readable)

    async def get_readable(self, session: AsyncSession, call_id: str, scope: Scope) -> Call | None:
        query = self.get_readable_statement(scope).where(Call.id == call_id)
        return (await session.execute(query)).scalar_one_or_none()

    async def recordings_of(
        self, session: AsyncSession, call_ids: Sequence[str]
    ) -> dict[str, Recording]:
        """The most recent recording of each call (a call rarely has more than one)."""
        if not call_ids:
            return {}
        query = (
            select(Recording).where(Recording.call_id.in_(call_ids)).order_by(Recording.created_at)
        )
        return {row.call_id: row for row in (await session.execute(query)).scalars()}

    async def list(
        self,
        session: AsyncSession,
        scope: Scope,
        filters: CallFilters,
        *,
        limit: int,
        before: tuple[datetime, str] | None,
    ) -> Sequence[Call]:
        """Newest first by start (or, for a call whose start is not known yet, its creation)."""
        moment = func.coalesce(Call.started_at, Call.created_at)
        query = (
            self.get_readable_statement(scope)
            .where(*_call_clauses(filters))
            .order_by(moment.desc(), Call.id.desc())
            .limit(limit)
        )
        if before is not None:
            query = query.where(tuple_(moment, Call.id) < before)
        return (await session.execute(query)).scalars().all()


def list_position(call: Call) -> list[str]:
    """A call's place in ``CallRepository.list``'s order: the cursor of a page it ends."""
    return [(call.started_at or call.created_at).isoformat(), call.id]


# The columns a merge writes (app.calls.service builds them from the merged state).
MERGED_COLUMNS = (
    "direction",
    "status",
    "extension",
    "external_number",
    "started_at",
    "answered_at",
    "ended_at",
    "ring_seconds",
    "talk_seconds",
    "duration_seconds",
    "disconnect_reason",
    "merge_state",
    "updated_at",
)


@dataclass(frozen=True, slots=True)
class _Statements:
    find: Any
    find_or_create: Any
    save_leg: Any
    save_recording: Any


@cache
def _statements(dialect: str) -> _Statements:
    call, leg, recording = table_of(Call), table_of(CallLeg), table_of(Recording)
    locked = (call.c.id, call.c.provider_call_id, call.c.merge_state, call.c.lead_id)

    def call_of_leg(leg_id: str) -> Any:
        return (
            select(leg.c.call_id)
            .where(
                leg.c.integration_id == bindparam("integration_id"),
                leg.c.provider_leg_id == bindparam(leg_id),
            )
            .scalar_subquery()
        )

    other = call.alias("by_provider_id")
    by_provider_id = (
        select(other.c.id)
        .where(
            other.c.integration_id == bindparam("integration_id"),
            other.c.provider_call_id == bindparam("provider_call_id"),
        )
        .scalar_subquery()
    )
    find_or_create = dialect_insert(dialect, call)
    save_leg = dialect_insert(dialect, leg)
    save_recording = dialect_insert(dialect, recording)
    return _Statements(
        find=select(*locked)
        .where(
            call.c.id
            == func.coalesce(call_of_leg("leg_id"), call_of_leg("provider_call_id"), by_provider_id)
        )
        .with_for_update(),
        # DO UPDATE (not DO NOTHING) so that RETURNING gives the row, and locks it, either way.
        find_or_create=find_or_create.on_conflict_do_update(
            index_elements=["integration_id", "provider_call_id"],
            set_={"updated_at": find_or_create.excluded.updated_at},
        ).returning(*locked),
        save_leg=save_leg.on_conflict_do_update(
            index_elements=["integration_id", "provider_leg_id"],
            set_={
                name: getattr(save_leg.excluded, name)
                for name in ("last_seq", "extension", "answered")
            },
        ),
        # A later event may be the first to say where the file is; nothing else ever changes here.
        save_recording=save_recording.on_conflict_do_update(
            index_elements=["call_id", "provider_ref"],
            set_={
                "source_url": func.coalesce(
                    recording.c.source_url, save_recording.excluded.source_url
                )
            },
        ),
    )


@cache
def _save_merged(link_employee: bool, lead: LeadLink) -> Any:
    """One UPDATE per shape of linking."""
    call = table_of(Call)
    values: dict[str, Any] = {
        name: bindparam(name, type_=call.c[name].type) for name in MERGED_COLUMNS
    }
    if link_employee:
        extensions = table_of(EmployeeExtension)
        values["employee_id"] = (
            select(extensions.c.employee_id)
            .where(extensions.c.extension == bindparam("link_extension"))
            .scalar_subquery()
        )
    if lead is LeadLink.BY_PHONE:
        phones = table_of(LeadPhone)
        values["lead_id"] = (
            select(phones.c.lead_id)
            .where(phones.c.phone_e164 == bindparam("link_phone"))
            .scalar_subquery()
        )
    elif lead is LeadLink.CLEAR:
        values["lead_id"] = None
    return (
        update(call)
        .where(call.c.id == bindparam("call_id"))
        .values(values)
        .returning(call.c.employee_id, call.c.lead_id)
    )


call_repository = CallRepository()
