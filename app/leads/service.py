"""Leads, applications, contracts and scripts: the sales process around the calls."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.service import Principal
from app.calls.phones import normalise_phone
from app.calls.repository import call_repository
from app.db import utcnow
from app.employees.repository import employee_repository
from app.errors import Conflict, Forbidden, NotFound, Unprocessable
from app.ids import new_id
from app.leads.models import (
    Application,
    ApplicationStatus,
    Contract,
    Lead,
    LeadPhone,
    LeadStatus,
    Script,
    lead_search_text,
)
from app.leads.repository import belongs_to, lead_repository
from app.leads.schemas import (
    ApplicationCreate,
    ApplicationUpdate,
    ContractCreate,
    LeadCreate,
    LeadUpdate,
    ScriptCreate,
    TimelineEntry,
)
from app.money import format_money, from_minor, to_minor

# Clocks disagree a little; a timestamp this far ahead of ours is still "now", not the future.
CLOCK_SKEW = timedelta(minutes=2)
_COPIED_ON_MERGE = (
    "company",
    "contact_name",
    "campaign",
    "segment",
    "region",
    "industry",
    "source",
)


def lead_scope(principal: Principal) -> ColumnElement[bool] | None:
    """The leads a key may see: all of them, or for a manager those that belong to it."""
    if principal.is_manager:
        assert principal.employee_id is not None
        return belongs_to(principal.employee_id)
    return None


def _not_in_future(value: datetime | None, field: str) -> None:
    if value is not None and value > utcnow() + CLOCK_SKEW:
        raise Unprocessable(
            f"{field} is in the future",
            errors=[{"loc": ["body", field], "msg": "must not be in the future"}],
        )


def _normalised_phones(raw: Sequence[str], region: str) -> list[str]:
    phones = []
    for index, value in enumerate(raw):
        phone = normalise_phone(value, region)
        if phone is None:
            raise Unprocessable(
                f"not a phone number: {value!r}",
                errors=[{"loc": ["body", "phones", str(index)], "msg": "not a phone number"}],
            )
        phones.append(phone)
    return list(dict.fromkeys(phones))


class LeadService:
    async def get_visible(self, session: AsyncSession, lead_id: str, principal: Principal) -> Lead:
        lead = await lead_repository.get(session, lead_id)
        if lead is None or not await lead_repository.is_visible(
            session, lead_id, lead_scope(principal)
        ):
            raise NotFound(f"lead {lead_id} not found")
        return lead

    async def create(
        self, session: AsyncSession, body: LeadCreate, principal: Principal, *, region: str
    ) -> Lead:
        phones = _normalised_phones(body.phones, region)
        await self._check_phones_free(session, phones, lead_id=None)
        owner_id = await self._owner_for(session, body.owner_id, principal)
        fields = body.model_dump(exclude={"phones", "owner_id"})
        lead = Lead(
            id=new_id("lead"),
            **fields,
            owner_id=owner_id,
            status=LeadStatus.ACTIVE.value,
            search_text=lead_search_text(body.company, body.contact_name),
            phones=[LeadPhone(phone_e164=phone) for phone in phones],
        )
        lead_repository.add(session, lead)
        await self._flush(session)
        return lead

    async def update(
        self,
        session: AsyncSession,
        lead_id: str,
        body: LeadUpdate,
        principal: Principal,
        *,
        region: str,
    ) -> Lead:
        lead = await self.get_visible(session, lead_id, principal)
        changes = body.model_dump(exclude_unset=True)
        if "owner_id" in changes:
            lead.owner_id = await self._owner_for(session, body.owner_id, principal)
        for field in (*_COPIED_ON_MERGE, "notes"):
            if field in changes:
                setattr(lead, field, changes[field])
        lead.search_text = lead_search_text(lead.company, lead.contact_name)
        if body.phones is not None:
            phones = _normalised_phones(body.phones, region)
            await self._check_phones_free(session, phones, lead_id=lead.id)
            kept = {phone.phone_e164: phone for phone in lead.phones}
            lead.phones = [kept.get(p) or LeadPhone(phone_e164=p) for p in phones]
        if body.status is not None:
            self._change_status(lead, body)
        elif "refusal_reason" in changes or "refused_at_stage" in changes:
            if lead.status != LeadStatus.REFUSED.value:
                raise Unprocessable(
                    "refusal_reason and refused_at_stage go with status 'refused'",
                    errors=[{"loc": ["body", "status"], "msg": "set status to refused"}],
                )
            lead.refusal_reason = body.refusal_reason or lead.refusal_reason
            lead.refused_at_stage = changes.get("refused_at_stage", lead.refused_at_stage)
        lead.updated_at = utcnow()
        await self._flush(session)
        return lead

    def _change_status(self, lead: Lead, body: LeadUpdate) -> None:
        if lead.status == LeadStatus.WON.value:
            raise Conflict("the lead has a signed contract: its status follows its contracts")
        if body.status is LeadStatus.REFUSED:
            lead.status = LeadStatus.REFUSED.value
            lead.refusal_reason = body.refusal_reason
            lead.refused_at_stage = body.refused_at_stage
        else:
            lead.status = LeadStatus.ACTIVE.value
            lead.refusal_reason = None
            lead.refused_at_stage = None

    async def merge(
        self, session: AsyncSession, lead_id: str, into_id: str, principal: Principal
    ) -> Lead:
        """Fold a duplicate lead into another: phones, calls and applications move."""
        if lead_id == into_id:
            raise Unprocessable(
                "a lead cannot be merged into itself",
                errors=[{"loc": ["body", "into"], "msg": "must differ from the merged lead"}],
            )
        source = await self.get_visible(session, lead_id, principal)
        target = await self.get_visible(session, into_id, principal)
        await lead_repository.move_children(session, source.id, target.id)
        for field in _COPIED_ON_MERGE:
            if getattr(target, field) is None:
                setattr(target, field, getattr(source, field))
        target.owner_id = target.owner_id or source.owner_id
        if source.notes:
            target.notes = f"{target.notes}\n{source.notes}" if target.notes else source.notes
        if source.status == LeadStatus.WON.value:
            target.status = LeadStatus.WON.value
        target.search_text = lead_search_text(target.company, target.contact_name)
        target.updated_at = utcnow()
        # The bulk update moved the phones behind the ORM's back: reload before deleting.
        await session.refresh(source, ["phones"])
        await session.delete(source)
        await session.flush()
        await session.refresh(target, ["phones"])
        return target

    async def delete(self, session: AsyncSession, lead_id: str) -> None:
        lead = await lead_repository.get(session, lead_id)
        if lead is None:
            raise NotFound(f"lead {lead_id} not found")
        await session.delete(lead)
        await session.flush()

    async def timeline(
        self, session: AsyncSession, lead_id: str, principal: Principal
    ) -> list[TimelineEntry]:
        lead = await self.get_visible(session, lead_id, principal)
        entries = [
            TimelineEntry(
                kind="call",
                at=call.started_at,
                id=call.id,
                detail={
                    "direction": call.direction,
                    "status": call.status,
                    "employee_id": call.employee_id,
                    "talk_seconds": call.talk_seconds,
                    "outcome": call.outcome,
                    "script_id": call.script_id,
                    "recording_status": recording_status,
                },
            )
            for call, recording_status in await lead_repository.calls_with_recordings(
                session, lead.id
            )
        ]
        for application, contract in await lead_repository.applications_with_contracts(
            session, lead.id
        ):
            entries.append(
                TimelineEntry(
                    kind="application",
                    at=application.created_at,
                    id=application.id,
                    detail={
                        "status": application.status,
                        "lost_reason": application.lost_reason,
                        "closed_at": application.closed_at,
                    },
                )
            )
            if contract is not None:
                entries.append(
                    TimelineEntry(
                        kind="contract",
                        at=contract.signed_at,
                        id=contract.id,
                        detail={
                            "application_id": application.id,
                            "amount": format_money(from_minor(contract.amount)),
                        },
                    )
                )
        # Unknown times (a call that only ever sent its recording) go last.
        far = datetime.max.replace(tzinfo=utcnow().tzinfo)
        return sorted(entries, key=lambda entry: (entry.at or far, entry.kind, entry.id))

    async def _owner_for(
        self, session: AsyncSession, owner_id: str | None, principal: Principal
    ) -> str | None:
        if principal.is_manager:
            # A manager's leads are its own: it may not hand them to someone else.
            if owner_id not in (None, principal.employee_id):
                raise Forbidden("a manager key may only own leads itself")
            return principal.employee_id
        if owner_id is not None and await employee_repository.get(session, owner_id) is None:
            raise Unprocessable(
                f"employee {owner_id} does not exist",
                errors=[{"loc": ["body", "owner_id"], "msg": "no such employee"}],
            )
        return owner_id

    async def _check_phones_free(
        self, session: AsyncSession, phones: Sequence[str], *, lead_id: str | None
    ) -> None:
        owners = await lead_repository.leads_of_phones(session, phones)
        for phone, other in sorted(owners.items()):
            if other != lead_id:
                raise Conflict(f"phone {phone} already belongs to lead {other}")

    async def _flush(self, session: AsyncSession) -> None:
        try:
            await session.flush()
        except IntegrityError as exc:
            # Another request took the phone between our check and our insert.
            raise Conflict("a phone of this lead was just given to another lead") from exc


class ApplicationService:
    async def get_visible(
        self, session: AsyncSession, application_id: str, principal: Principal
    ) -> Application:
        application = await lead_repository.get_application(session, application_id)
        if application is None or not await lead_repository.is_visible(
            session, application.lead_id, lead_scope(principal)
        ):
            raise NotFound(f"application {application_id} not found")
        return application

    async def create(
        self, session: AsyncSession, body: ApplicationCreate, principal: Principal
    ) -> Application:
        lead = await lead_service.get_visible(session, body.lead_id, principal)
        _not_in_future(body.created_at, "created_at")
        if body.source_call_id is not None:
            call = await call_repository.get(session, body.source_call_id)
            if call is None or call.lead_id != lead.id:
                raise Unprocessable(
                    f"call {body.source_call_id} is not a call of lead {lead.id}",
                    errors=[{"loc": ["body", "source_call_id"], "msg": "not a call of this lead"}],
                )
        amount = body.estimated_amount
        application = Application(
            id=new_id("app"),
            lead_id=lead.id,
            source_call_id=body.source_call_id,
            created_at=body.created_at or utcnow(),
            estimated_amount=to_minor(amount) if amount is not None else None,
            status=ApplicationStatus.OPEN.value,
            notes=body.notes,
        )
        lead_repository.add_application(session, application)
        await session.flush()
        return application

    async def update(
        self,
        session: AsyncSession,
        application_id: str,
        body: ApplicationUpdate,
        principal: Principal,
    ) -> Application:
        application = await self.get_visible(session, application_id, principal)
        changes = body.model_dump(exclude_unset=True)
        if "notes" in changes:
            application.notes = body.notes
        if "estimated_amount" in changes:
            amount = body.estimated_amount
            application.estimated_amount = to_minor(amount) if amount is not None else None
        if body.status is not None:
            if application.status == ApplicationStatus.WON.value:
                raise Conflict("the application has a signed contract: it stays won")
            if body.status is ApplicationStatus.LOST:
                closed_at = body.closed_at or utcnow()
                _not_in_future(closed_at, "closed_at")
                if closed_at < application.created_at:
                    raise Unprocessable(
                        "closed_at is before the application was created",
                        errors=[{"loc": ["body", "closed_at"], "msg": "before created_at"}],
                    )
                application.status = ApplicationStatus.LOST.value
                application.lost_reason = body.lost_reason
                application.closed_at = closed_at
            else:
                application.status = ApplicationStatus.OPEN.value
                application.lost_reason = None
                application.closed_at = None
        await session.flush()
        return application

    async def sign_contract(
        self, session: AsyncSession, body: ContractCreate, principal: Principal
    ) -> Contract:
        """A contract marks its application won and its lead won."""
        application = await self.get_visible(session, body.application_id, principal)
        _not_in_future(body.signed_at, "signed_at")
        if await lead_repository.contract_of(session, application.id) is not None:
            raise Conflict(f"application {application.id} already has a contract")
        if application.status == ApplicationStatus.LOST.value:
            raise Conflict(f"application {application.id} is lost; reopen it first")
        if body.signed_at < application.created_at:
            raise Unprocessable(
                "signed_at is before the application was created",
                errors=[{"loc": ["body", "signed_at"], "msg": "before the application"}],
            )
        contract = Contract(
            id=new_id("ctr"),
            application_id=application.id,
            signed_at=body.signed_at,
            amount=to_minor(body.amount),
            margin=to_minor(body.margin) if body.margin is not None else None,
        )
        lead_repository.add_contract(session, contract)
        application.status = ApplicationStatus.WON.value
        application.closed_at = body.signed_at
        lead = await lead_repository.get(session, application.lead_id)
        assert lead is not None
        lead.status = LeadStatus.WON.value
        try:
            await session.flush()
        except IntegrityError as exc:
            raise Conflict(f"application {application.id} already has a contract") from exc
        return contract


class ScriptService:
    async def create(self, session: AsyncSession, body: ScriptCreate) -> Script:
        if await lead_repository.script_named(session, body.name) is not None:
            raise Conflict(
                f"a script named {body.name!r} exists; a new version is a new name, "
                "e.g. 'First call v2'"
            )
        script = Script(id=new_id("scr"), name=body.name, kind=body.kind.value, text=body.text)
        lead_repository.add_script(session, script)
        try:
            await session.flush()
        except IntegrityError as exc:
            raise Conflict(f"a script named {body.name!r} exists") from exc
        return script

    async def get(self, session: AsyncSession, script_id: str) -> Script:
        script = await lead_repository.get_script(session, script_id)
        if script is None:
            raise NotFound(f"script {script_id} not found")
        return script


lead_service = LeadService()
application_service = ApplicationService()
script_service = ScriptService()
