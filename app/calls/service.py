"""Calls: folding normalised events into call rows, linking them, and tagging them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.service import Principal
from app.calls.merge import CallFields, CallState, call_fields, merge_call_event
from app.calls.models import Call
from app.calls.outcomes import Outcome
from app.calls.phones import normalise_phone
from app.calls.repository import call_repository
from app.calls.schemas import CallUpdate
from app.db import utcnow
from app.employees.models import Employee
from app.employees.repository import employee_repository
from app.errors import NotFound, Unprocessable
from app.ids import new_id
from app.integrations.models import Integration
from app.leads.models import Application, ApplicationStatus, Lead, LeadStatus
from app.leads.repository import lead_repository
from app.webhooks.providers.base import CallEvent, Direction, ProviderConfig

_LEAD_SOURCE = {Direction.OUTBOUND: "pbx_outbound", Direction.INBOUND: "pbx_inbound"}


class CallService:
    async def merge_call_events(
        self,
        session: AsyncSession,
        integration: Integration,
        config: ProviderConfig,
        events: Sequence[CallEvent],
    ) -> None:
        for event in events:
            await self._merge_one(session, integration, config, event)

    async def _merge_one(
        self,
        session: AsyncSession,
        integration: Integration,
        config: ProviderConfig,
        event: CallEvent,
    ) -> None:
        now = utcnow()
        call = await self._call_for(session, integration.id, event)
        event = replace(event, provider_call_id=call.provider_call_id)
        stored = CallState.from_json(call.merge_state) if call.merge_state else None
        state = merge_call_event(stored, event)
        fields = call_fields(state)
        call.merge_state = state.to_json()
        phone = _copy_fields(call, fields, config)
        call.updated_at = now
        for leg in fields.legs:
            await call_repository.save_leg(
                session,
                call=call,
                leg_id=leg.leg_id,
                last_seq=leg.last_seq,
                extension=leg.extension,
                answered=leg.answered,
            )
        for recording in fields.recordings:
            await call_repository.save_recording(
                session,
                call_id=call.id,
                provider_ref=recording.provider_ref,
                source_url=recording.url,
                now=now,
            )
        await self._link(session, call, phone)

    async def _call_for(self, session: AsyncSession, integration_id: str, event: CallEvent) -> Call:
        # An event may name only a leg (a Twilio recording callback for a child CallSid): the leg
        # table leads to the call that leg already belongs to.
        for leg_id in (event.leg_id, event.provider_call_id):
            if leg_id is None:
                continue
            call_id = await call_repository.call_id_of_leg(session, integration_id, leg_id)
            if call_id is not None:
                return await call_repository.lock(session, call_id)
        return await call_repository.lock_or_create(
            session, integration_id, event.provider_call_id, utcnow()
        )

    async def _link(self, session: AsyncSession, call: Call, phone: str | None) -> None:
        """Point the call at its employee (by extension) and lead (by E.164 number).

        Both are worked out again on every event: a later event may reveal the answering leg
        (another employee) or the direction.
        """
        if call.extension:
            call.employee_id = await self._employee_for_extension(session, call.extension)
        direction = Direction(call.direction) if call.direction else None
        if direction in _LEAD_SOURCE and phone is not None:
            call.lead_id = await self._lead_for_phone(session, phone, _LEAD_SOURCE[direction])
        elif direction is Direction.INTERNAL:
            call.lead_id = None

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


def _copy_fields(call: Call, fields: CallFields, config: ProviderConfig) -> str | None:
    """Copy the merged view onto the row; returns the customer's E.164 number, if there is one."""
    call.direction = fields.direction.value if fields.direction else None
    call.status = fields.status.value if fields.status else None
    call.extension = fields.extension
    raw = fields.external_number
    phone = normalise_phone(raw, config.default_region) if raw else None
    # An unreadable number is kept as sent (it explains the call) but links to no lead.
    call.external_number = phone or raw
    call.started_at = fields.started_at
    call.answered_at = fields.answered_at
    call.ended_at = fields.ended_at
    call.ring_seconds = fields.ring_seconds
    call.talk_seconds = fields.talk_seconds
    call.duration_seconds = fields.duration_seconds
    call.disconnect_reason = fields.disconnect_reason
    return phone


call_service = CallService()
