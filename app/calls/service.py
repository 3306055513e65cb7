"""Calls: folding normalised events into call rows, linking them, and tagging them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import lru_cache
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.service import Principal
from app.calls.merge import CallFields, CallState, call_fields, merge_call_event
from app.calls.models import Call
from app.calls.outcomes import Outcome
from app.calls.phones import normalise_phone
from app.calls.repository import LeadLink, call_repository
from app.calls.schemas import CallUpdate
from app.db import utcnow
from app.employees.models import Employee
from app.employees.repository import employee_repository
from app.errors import NotFound, Unprocessable
from app.ids import new_id
from app.leads.models import Application, ApplicationStatus, Lead, LeadStatus
from app.leads.repository import lead_repository
from app.webhooks.providers.base import CallEvent, Direction, ProviderConfig

_LEAD_SOURCE = {Direction.OUTBOUND: "pbx_outbound", Direction.INBOUND: "pbx_inbound"}

# Every event of a call carries its number again, and parsing one is a good part of a merge.
_e164 = lru_cache(maxsize=4096)(normalise_phone)


class CallService:
    async def merge_call_events(
        self,
        session: AsyncSession,
        integration_id: str,
        config: ProviderConfig,
        events: Sequence[CallEvent],
    ) -> None:
        for event in events:
            await self._merge_one(session, integration_id, config, event)

    async def _merge_one(
        self,
        session: AsyncSession,
        integration_id: str,
        config: ProviderConfig,
        event: CallEvent,
    ) -> None:
        now = utcnow()
        call = await call_repository.lock_for_event(
            session,
            integration_id=integration_id,
            leg_id=event.leg_id,
            provider_call_id=event.provider_call_id,
            now=now,
        )
        event = replace(event, provider_call_id=call.provider_call_id)
        before = CallState.from_json(call.merge_state) if call.merge_state else None
        state = merge_call_event(before, event)
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
        await self._save_and_link(session, call.id, columns, phone)

    async def _save_and_link(
        self, session: AsyncSession, call_id: str, columns: dict[str, Any], phone: str | None
    ) -> None:
        """Write the merged call and point it at its employee (by extension) and lead (by E.164
        number); an unknown extension or number gets a new employee or lead.

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
        lead = Lead(id=new_id("lead"), source=source, status=LeadStatus.ACTIVE.value)
        lead_repository.add(session, lead)
        await session.flush()
        if await lead_repository.claim_phone(session, lead.id, phone):
            return lead.id
        await lead_repository.delete(session, lead.id)
        winner = await lead_repository.lead_id_by_phone(session, phone)
        assert winner is not None
        return winner

    async def get_visible(self, session: AsyncSession, call_id: str, principal: Principal) -> Call:
        """The call, if the caller may see it; a manager sees only the calls it made (else 404)."""
        call = await call_repository.get(session, call_id)
        if call is None or (principal.is_manager and call.employee_id != principal.employee_id):
            raise NotFound(f"call {call_id} not found")
        return call

    async def update(
        self, session: AsyncSession, call_id: str, body: CallUpdate, principal: Principal
    ) -> Call:
        call = await self.get_visible(session, call_id, principal)
        changes = body.model_dump(exclude_unset=True)
        script_id = changes.get("script_id")
        if script_id is not None and await lead_repository.get_script(session, script_id) is None:
            raise Unprocessable(
                f"script {script_id} does not exist",
                errors=[{"loc": ["body", "script_id"], "msg": "no such script"}],
            )
        if body.outcome is Outcome.APPLICATION and call.lead_id is None:
            raise Unprocessable(
                "this call is linked to no lead, so it cannot form an application",
                errors=[{"loc": ["body", "outcome"], "msg": "the call has no lead"}],
            )
        for field in ("outcome", "script_id", "notes"):
            if field in changes:
                setattr(call, field, changes[field])
        if body.outcome is Outcome.APPLICATION:
            await self._form_application(session, call)
        await session.flush()
        return call

    async def _form_application(self, session: AsyncSession, call: Call) -> Application | None:
        """The ``application`` outcome forms an application unless the lead has an open one.

        Removing or changing the tag later leaves the application alone: it is a record of its own.
        """
        assert call.lead_id is not None
        if await lead_repository.first_open_application(session, call.lead_id) is not None:
            return None
        application = Application(
            id=new_id("app"),
            lead_id=call.lead_id,
            source_call_id=call.id,
            created_at=call.ended_at or utcnow(),
            status=ApplicationStatus.OPEN.value,
        )
        lead_repository.add_application(session, application)
        await session.flush()
        return application


def _columns(fields: CallFields, config: ProviderConfig) -> tuple[dict[str, Any], str | None]:
    """The merged view as call columns, and the customer's E.164 number if there is one."""
    raw = fields.external_number
    phone = _e164(raw, config.default_region) if raw else None
    columns = {
        "direction": fields.direction.value if fields.direction else None,
        "status": fields.status.value if fields.status else None,
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
    return columns, phone


call_service = CallService()
