"""Calls: folding normalised events into call rows, linking them, and tagging them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.service import Principal
from app.calls.events import TERMINAL_STATUSES, CallEvent, CallSource, Direction
from app.calls.merge import CallFields, CallState, call_fields, merge_call_event
from app.calls.models import Call
from app.calls.outcomes import Outcome
from app.calls.repository import LeadLink, call_repository, writable_call
from app.calls.schemas import CallFilters, CallUpdate
from app.db import utcnow
from app.employees.models import Employee
from app.employees.repository import employee_repository
from app.errors import Forbidden, NotFound, Unprocessable
from app.ids import new_id
from app.leads.models import Application, ApplicationStatus, Lead, LeadStatus
from app.leads.repository import lead_repository
from app.metrics.evidence import refresh_evidence
from app.phones import normalise_phone
from app.recordings.models import Recording

_LEAD_SOURCE = {Direction.OUTBOUND: "pbx_outbound", Direction.INBOUND: "pbx_inbound"}

# Every event of a call carries its number again, and parsing one is a good part of a merge.
_e164 = lru_cache(maxsize=4096)(normalise_phone)


class CallService:
    async def merge_call_events(
        self,
        session: AsyncSession,
        integration_id: str,
        config: CallSource,
        events: Sequence[CallEvent],
    ) -> None:
        for event in events:
            await self._merge_group(session, integration_id, config, (event,))

    async def merge_events_of_one_call(
        self,
        session: AsyncSession,
        integration_id: str,
        config: CallSource,
        events: Sequence[CallEvent],
    ) -> bool:
        """Fold many events of one call (same ``provider_call_id``, no leg lookups) and write the
        call once; ``True`` when the call is new. Bulk CDR imports use it: a call's legs come in one
        batch, and one write per call instead of per leg is most of an import's speed. The result
        is the one event-by-event merging gives, the merge being order-independent."""
        return await self._merge_group(session, integration_id, config, events)

    async def _merge_group(
        self,
        session: AsyncSession,
        integration_id: str,
        config: CallSource,
        events: Sequence[CallEvent],
    ) -> bool:
        now = utcnow()
        first = events[0]
        call = await call_repository.lock_for_event(
            session,
            integration_id=integration_id,
            leg_id=first.leg_id,
            provider_call_id=first.provider_call_id,
            now=now,
        )
        before = CallState.from_json(call.merge_state) if call.merge_state else None
        state = before
        for event in events:
            state = merge_call_event(state, replace(event, provider_call_id=call.provider_call_id))
        assert state is not None
        fields = call_fields(state)
        # Legs and recordings already stored with the state they had are not written again.
        old_legs = set(before.legs) if before else set()
        changed_legs = {leg.leg_id for leg in state.legs if leg not in old_legs}
        await call_repository.save_legs(
            session,
            call_id=call.id,
            integration_id=integration_id,
            legs=[leg for leg in fields.legs if leg.leg_id in changed_legs],
        )
        old_recordings = set(before.recordings) if before else set()
        await call_repository.save_recordings(
            session,
            call_id=call.id,
            recordings=[ref for ref in fields.recordings if ref not in old_recordings],
            now=now,
        )
        columns, phone = _columns(fields, config)
        columns |= {"merge_state": state.to_json(), "updated_at": now}
        lead_id = await self._save_and_link(session, call.id, columns, phone)
        await refresh_evidence(session, (call.lead_id, lead_id))
        return before is None

    async def _save_and_link(
        self, session: AsyncSession, call_id: str, columns: dict[str, Any], phone: str | None
    ) -> str | None:
        """Write the merged call and point it at its employee (by extension) and lead (by E.164
        number); an unknown extension or number gets a new employee or lead. Returns the lead.

        Both links are worked out again on every event: a later event may reveal the answering
        leg (another employee) or the direction.
        """
        extension = columns["extension"]
        direction = Direction(columns["direction"]) if columns["direction"] else None
        source = _LEAD_SOURCE.get(direction) if direction else None
        lead_phone = phone if source else None
        lead = LeadLink.KEEP
        if lead_phone is not None:
            lead = LeadLink.BY_PHONE
        elif direction is Direction.INTERNAL:
            lead = LeadLink.CLEAR
        employee_id, lead_id = await call_repository.save_merged(
            session, call_id, columns, extension=extension or None, lead=lead, phone=lead_phone
        )
        if extension and employee_id is None:
            employee_id = await self._employee_for_extension(session, extension)
            await call_repository.link(session, call_id, employee_id=employee_id)
        if source and lead_phone is not None and lead_id is None:
            lead_id = await self._lead_for_phone(session, lead_phone, source)
            await call_repository.link(session, call_id, lead_id=lead_id)
        return lead_id

    async def employee_for_extension(self, session: AsyncSession, extension: str) -> str:
        """The employee of ``extension``, a placeholder one created if none has it (race-safe)."""
        return await self._employee_for_extension(session, extension)

    async def _employee_for_extension(self, session: AsyncSession, extension: str) -> str:
        found = await employee_repository.employee_id_by_extension(session, extension)
        if found is not None:
            return found
        # Unknown extensions get a placeholder employee an admin can rename or merge later.
        employee = Employee(id=new_id("emp"), name=f"Extension {extension}", created_at=utcnow())
        employee_repository.add(session, employee)
        await session.flush()
        if await employee_repository.claim_extension(session, employee.id, extension):
            return employee.id
        # Another transaction created it first: keep theirs, drop ours.
        await employee_repository.delete(session, employee.id)
        winner = await employee_repository.employee_id_by_extension(session, extension)
        assert winner is not None
        return winner

    async def _lead_for_phone(self, session: AsyncSession, phone: str, source: str) -> str:
        found = await lead_repository.lead_id_by_phone(session, phone)
        if found is not None:
            return found
        lead = Lead(id=new_id("lead"), source=source, status=LeadStatus.ACTIVE)
        lead_repository.add(session, lead)
        await session.flush()
        if await lead_repository.claim_phone(session, lead.id, phone):
            return lead.id
        await lead_repository.delete(session, lead.id)
        winner = await lead_repository.lead_id_by_phone(session, phone)
        assert winner is not None
        return winner

    async def get_visible(self, session: AsyncSession, call_id: str, principal: Principal) -> Call:
        """The call if the key may read it (``app.auth.scope``), else 404 as if it did not exist."""
        call = await call_repository.get_readable(session, call_id, principal.scope)
        if call is None:
            raise NotFound(f"call {call_id} not found")
        return call

    async def list_readable(
        self,
        session: AsyncSession,
        principal: Principal,
        filters: CallFilters,
        *,
        limit: int,
        before: tuple[datetime, str] | None,
    ) -> Sequence[tuple[Call, Recording | None]]:
        """Readable calls, newest first, each with its latest recording."""
        if filters.integration_id is not None and not principal.scope.reads_integration_ids:
            # Integration ids are secrets of admins; a filter by one would confirm a guess.
            raise Forbidden("filtering by integration_id needs an admin key")
        calls = await call_repository.list(
            session, principal.scope, filters, limit=limit, before=before
        )
        recordings = await call_repository.recordings_of(session, [call.id for call in calls])
        return [(call, recordings.get(call.id)) for call in calls]

    async def with_recording(
        self, session: AsyncSession, call: Call
    ) -> tuple[Call, Recording | None]:
        recordings = await call_repository.recordings_of(session, [call.id])
        return call, recordings.get(call.id)

    async def update(
        self, session: AsyncSession, call_id: str, body: CallUpdate, principal: Principal
    ) -> Call:
        call = await self.get_visible(session, call_id, principal)
        if not writable_call(principal.scope, call):
            raise Forbidden(
                "this call was made by another employee: it is part of your lead's history, "
                "readable but not yours to change"
            )
        changes = body.model_dump(exclude_unset=True)
        script_id = changes.get("script_id")
        if script_id is not None and await lead_repository.get_script(session, script_id) is None:
            raise Unprocessable.at(
                "body",
                "script_id",
                msg="no such script",
                detail=f"script {script_id} does not exist",
            )
        if body.outcome is Outcome.APPLICATION and call.lead_id is None:
            raise Unprocessable.at(
                "body",
                "outcome",
                msg="the call has no lead",
                detail="this call is linked to no lead, so it cannot form an application",
            )
        if body.outcome is Outcome.APPLICATION:
            await self._check_may_form_application(session, call, principal)
        for field in ("outcome", "script_id", "notes"):
            if field in changes:
                setattr(call, field, changes[field])
        if body.outcome is Outcome.APPLICATION:
            await self._form_application(session, call)
        await session.flush()
        if {"outcome", "script_id"} & changes.keys():
            await refresh_evidence(session, [call.lead_id])
        return call

    async def _check_may_form_application(
        self, session: AsyncSession, call: Call, principal: Principal
    ) -> None:
        """A manager tags its own calls, but an application lands in the lead's funnel: on a lead
        that belongs to a colleague it would write into the colleague's stage 4, so it is refused
        (403) rather than silently formed where the manager could not even see it."""
        scope = principal.scope
        if scope.reads_all or call.lead_id is None:
            return
        if await lead_repository.get_readable(session, call.lead_id, scope) is None:
            raise Forbidden(
                "the call's lead belongs to another employee: only its owner (or a head) can "
                "form an application for it; tag the call with another outcome"
            )

    async def _form_application(self, session: AsyncSession, call: Call) -> Application | None:
        """The ``application`` outcome forms an application unless the lead has an open one.

        Removing or changing the tag later leaves the application alone: it is a record of its own.
        "Unless the lead has an open one" holds by a constraint (one open application per lead):
        the check answers the common case, and a concurrent tag that formed one between the check
        and the insert makes the insert fail inside its SAVEPOINT, which means the same thing.
        """
        assert call.lead_id is not None
        if await lead_repository.first_open_application(session, call.lead_id) is not None:
            return None
        application = Application(
            id=new_id("app"),
            lead_id=call.lead_id,
            source_call_id=call.id,
            created_at=_end_of(call),
            status=ApplicationStatus.OPEN,
        )
        try:
            async with session.begin_nested():
                lead_repository.add_application(session, application)
        except IntegrityError:
            return None
        return application


def _end_of(call: Call) -> datetime:
    """When the call ended: the merge gives every finished call an end (start + duration where the
    PBX reports none); a call tagged while it is still going on ends, as far as anyone knows, now.
    """
    if call.ended_at is not None:
        return call.ended_at
    if (
        call.started_at is not None
        and call.duration_seconds is not None
        and call.status in TERMINAL_STATUSES
    ):
        return call.started_at + timedelta(seconds=call.duration_seconds)
    return utcnow()


def _columns(fields: CallFields, config: CallSource) -> tuple[dict[str, Any], str | None]:
    """The merged view as call columns, and the customer's E.164 number if there is one."""
    raw = fields.external_number
    phone = _e164(raw, config.default_region) if raw else None
    columns = {
        "direction": fields.direction,
        "status": fields.status,
        "extension": fields.extension,
        # An unreadable number is kept as sent (it explains the call) but links to no lead.
        "external_number": phone or raw,
        "started_at": fields.started_at,
        "answered_at": fields.answered_at,
        "ended_at": fields.ended_at,
        "ring_seconds": fields.ring_seconds,
        "talk_seconds": fields.talk_seconds,
        "duration_seconds": fields.duration_seconds,
        "disconnect_reason": fields.disconnect_reason,
    }
    if config.duration_from_span and fields.started_at and fields.ended_at:
        span = (fields.ended_at - fields.started_at).total_seconds()
        columns["duration_seconds"] = max(0, round(span))
    return columns, phone


call_service = CallService()
