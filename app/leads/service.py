"""Leads, applications, contracts and scripts: the sales process around the calls."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.service import Principal
from app.calls.repository import call_repository
from app.db import utcnow
from app.employees.repository import employee_repository
from app.errors import Conflict, NotFound, Unprocessable
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
from app.leads.repository import lead_repository
from app.leads.schemas import (
    ApplicationCreate,
    ApplicationFilters,
    ApplicationUpdate,
    ContractCreate,
    ContractFilters,
    LeadCreate,
    LeadFilters,
    LeadPublic,
    LeadUpdate,
    ScriptCreate,
    TimelineEntry,
)
from app.metrics.evidence import refresh_evidence
from app.metrics.queries import lead_stage, lead_stage_query, without_jit
from app.money import to_minor
from app.pagination import Page, PageParams, paginate
from app.phones import normalise_phone

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


def _not_in_future(value: datetime | None, field: str) -> None:
    if value is not None and value > utcnow() + CLOCK_SKEW:
        raise Unprocessable.at(
            "body", field, msg="must not be in the future", detail=f"{field} is in the future"
        )


def _normalised_phones(raw: Sequence[str], region: str) -> list[str]:
    phones = []
    for index, value in enumerate(raw):
        phone = normalise_phone(value, region)
        if phone is None:
            raise Unprocessable.at(
                "body",
                "phones",
                str(index),
                msg="not a phone number",
                detail=f"not a phone number: {value!r}",
            )
        phones.append(phone)
    return list(dict.fromkeys(phones))


class LeadService:
    async def get_visible(self, session: AsyncSession, lead_id: str, principal: Principal) -> Lead:
        """The lead if the key may read it (``app.auth.scope``), else 404 as if it did not exist."""
        lead = await lead_repository.get_readable(session, lead_id, principal.scope)
        if lead is None:
            raise NotFound(f"lead {lead_id} not found")
        return lead

    async def list_readable(
        self,
        session: AsyncSession,
        principal: Principal,
        filters: LeadFilters,
        *,
        limit: int,
        after_id: str | None,
    ) -> Sequence[Lead]:
        if filters.stage is not None:
            # The plan reads one kept row per lead: too cheap for the JIT's compile to pay back.
            await without_jit(session)
        return await lead_repository.list(
            session,
            principal.scope,
            filters,
            stage=lead_stage(utcnow()),
            limit=limit,
            after_id=after_id,
        )

    async def stage_counts(self, session: AsyncSession, principal: Principal) -> dict[int, int]:
        """How many readable leads are at each funnel stage (by now) — those a list filtered by
        that stage would give; stages with none left out."""
        await without_jit(session)
        return await lead_repository.stage_counts(session, principal.scope, lead_stage(utcnow()))

    async def stages(self, session: AsyncSession, leads: Sequence[Lead]) -> dict[str, int]:
        """The funnel stage (by now) of each of ``leads`` that has one, worked out for just them."""
        if not leads:
            return {}
        return await lead_repository.stages(
            session, lead_stage_query(utcnow(), [lead.id for lead in leads])
        )

    async def page_of_readable(
        self,
        session: AsyncSession,
        principal: Principal,
        filters: LeadFilters,
        page: PageParams,
    ) -> Page[LeadPublic]:
        """A page of the readable leads with their stages: the API's list, the dashboard's."""
        rows = await self.list_readable(
            session,
            principal,
            filters,
            limit=page.limit + 1,
            after_id=page.after_id,
        )
        # The stage is worked out for the page only, not for the row that says there is more.
        stages = await self.stages(session, rows[: page.limit])
        return paginate(
            rows,
            page,
            to_item=lambda lead: LeadPublic.of(lead, stages.get(lead.id, 0)),
            key=lambda lead: [lead.id],
        )

    async def create(
        self, session: AsyncSession, body: LeadCreate, principal: Principal, *, region: str
    ) -> Lead:
        phones = _normalised_phones(body.phones, region)
        await self._check_phones_free(session, phones, lead_id=None, principal=principal)
        owner_id = await self._owner_for(session, body.owner_id, principal)
        fields = body.model_dump(exclude={"phones", "owner_id"})
        lead = Lead(
            id=new_id("lead"),
            **fields,
            owner_id=owner_id,
            status=LeadStatus.ACTIVE,
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
            await self._check_phones_free(session, phones, lead_id=lead.id, principal=principal)
            kept = {phone.phone_e164: phone for phone in lead.phones}
            lead.phones = [kept.get(p) or LeadPhone(phone_e164=p) for p in phones]
        if body.status is not None:
            self._change_status(lead, body)
        elif "refusal_reason" in changes or "refused_at_stage" in changes:
            if lead.status != LeadStatus.REFUSED:
                raise Unprocessable.at(
                    "body",
                    "status",
                    msg="set status to refused",
                    detail="refusal_reason and refused_at_stage go with status 'refused'",
                )
            lead.refusal_reason = body.refusal_reason or lead.refusal_reason
            lead.refused_at_stage = changes.get("refused_at_stage", lead.refused_at_stage)
        lead.updated_at = utcnow()
        await self._flush(session)
        return lead

    def _change_status(self, lead: Lead, body: LeadUpdate) -> None:
        if lead.status == LeadStatus.WON:
            raise Conflict("the lead has a signed contract: its status follows its contracts")
        if body.status is LeadStatus.REFUSED:
            lead.status = LeadStatus.REFUSED
            lead.refusal_reason = body.refusal_reason
            lead.refused_at_stage = body.refused_at_stage
        else:
            lead.status = LeadStatus.ACTIVE
            lead.refusal_reason = None
            lead.refused_at_stage = None

    async def merge(
        self, session: AsyncSession, lead_id: str, into_id: str, principal: Principal
    ) -> Lead:
        """Fold a duplicate lead into another: phones, calls and applications move."""
        if lead_id == into_id:
            raise Unprocessable.at(
                "body",
                "into",
                msg="must differ from the merged lead",
                detail="a lead cannot be merged into itself",
            )
        # Both rows locked, in id order, before anything is read: crossed merges (A into B and B
        # into A at once) then run one after the other, and the second finds its source gone
        # (404) instead of deadlocking or moving phones to a deleted lead.
        await lead_repository.lock(session, [lead_id, into_id])
        source = await self.get_visible(session, lead_id, principal)
        target = await self.get_visible(session, into_id, principal)
        if (
            await lead_repository.first_open_application(session, source.id) is not None
            and await lead_repository.first_open_application(session, target.id) is not None
        ):
            raise Conflict(
                "both leads have an open application and a lead has at most one: "
                "close one of them (lost) before merging"
            )
        await lead_repository.move_children(session, source.id, target.id)
        for field in _COPIED_ON_MERGE:
            if getattr(target, field) is None:
                setattr(target, field, getattr(source, field))
        target.owner_id = target.owner_id or source.owner_id
        if source.notes:
            target.notes = f"{target.notes}\n{source.notes}" if target.notes else source.notes
        if source.status == LeadStatus.WON:
            target.status = LeadStatus.WON
        target.search_text = lead_search_text(target.company, target.contact_name)
        target.updated_at = utcnow()
        # The bulk update moved the phones behind the ORM's back: reload before deleting.
        await session.refresh(source, ["phones"])
        await session.delete(source)
        await session.flush()
        # The source's kept row went with it (ON DELETE CASCADE); its calls are the target's now.
        await refresh_evidence(session, [target.id])
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
        calls = await lead_repository.calls_with_recordings(session, lead.id)
        entries = [TimelineEntry.of_call(call, recording) for call, recording in calls]
        for application, contract in await lead_repository.applications_with_contracts(
            session, lead.id
        ):
            entries.append(TimelineEntry.of_application(application))
            if contract is not None:
                entries.append(TimelineEntry.of_contract(contract))
        # Unknown times (a call that only ever sent its recording) go last.
        far = datetime.max.replace(tzinfo=utcnow().tzinfo)
        return sorted(entries, key=lambda entry: (entry.at or far, entry.kind, entry.id))

    async def _owner_for(
        self, session: AsyncSession, owner_id: str | None, principal: Principal
    ) -> str | None:
        scope = principal.scope
        if not scope.reads_all:
            # A manager's leads are its own: it may not hand them to someone else.
            return scope.owner_of_new(owner_id)
        if owner_id is not None and await employee_repository.get(session, owner_id) is None:
            raise Unprocessable.at(
                "body",
                "owner_id",
                msg="no such employee",
                detail=f"employee {owner_id} does not exist",
            )
        return owner_id

    async def _check_phones_free(
        self,
        session: AsyncSession,
        phones: Sequence[str],
        *,
        lead_id: str | None,
        principal: Principal,
    ) -> None:
        owners = await lead_repository.leads_of_phones(session, phones)
        for phone, other in sorted(owners.items()):
            if other == lead_id:
                continue
            # The other lead is named only to a key that may read it: to a manager, a colleague's
            # lead is not its business (the phone is taken, and that is all it learns).
            scope = principal.scope
            if scope.reads_all or await lead_repository.get_readable(session, other, scope):
                raise Conflict(f"phone {phone} already belongs to lead {other}")
            raise Conflict(f"phone {phone} already belongs to another lead")

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
        application = await lead_repository.get_readable_application(
            session, application_id, principal.scope
        )
        if application is None:
            raise NotFound(f"application {application_id} not found")
        return application

    async def list_readable(
        self,
        session: AsyncSession,
        principal: Principal,
        filters: ApplicationFilters,
        *,
        limit: int,
        after: tuple[datetime, str] | None,
    ) -> Sequence[Application]:
        return await lead_repository.applications(
            session, principal.scope, filters, limit=limit, after=after
        )

    async def contracts(
        self,
        session: AsyncSession,
        principal: Principal,
        filters: ContractFilters,
        *,
        limit: int,
        after: tuple[datetime, str] | None,
    ) -> Sequence[tuple[Contract, str]]:
        """Readable contracts, each with the id of its lead."""
        return await lead_repository.contracts(
            session, principal.scope, filters, limit=limit, after=after
        )

    async def create(
        self, session: AsyncSession, body: ApplicationCreate, principal: Principal
    ) -> Application:
        lead = await lead_service.get_visible(session, body.lead_id, principal)
        _not_in_future(body.created_at, "created_at")
        if body.source_call_id is not None:
            call = await call_repository.get(session, body.source_call_id)
            if call is None or call.lead_id != lead.id:
                raise Unprocessable.at(
                    "body",
                    "source_call_id",
                    msg="not a call of this lead",
                    detail=f"call {body.source_call_id} is not a call of lead {lead.id}",
                )
        await _no_other_open_application(session, lead.id)
        amount = body.estimated_amount
        application = Application(
            id=new_id("app"),
            lead_id=lead.id,
            source_call_id=body.source_call_id,
            created_at=body.created_at or utcnow(),
            estimated_amount=to_minor(amount) if amount is not None else None,
            status=ApplicationStatus.OPEN,
            notes=body.notes,
        )
        lead_repository.add_application(session, application)
        await _flush_open_application(session, lead.id)
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
            if application.status == ApplicationStatus.WON:
                raise Conflict("the application has a signed contract: it stays won")
            if body.status is ApplicationStatus.LOST:
                closed_at = body.closed_at or utcnow()
                _not_in_future(closed_at, "closed_at")
                if closed_at < application.created_at:
                    raise Unprocessable.at(
                        "body",
                        "closed_at",
                        msg="before created_at",
                        detail="closed_at is before the application was created",
                    )
                application.status = ApplicationStatus.LOST
                application.lost_reason = body.lost_reason
                application.closed_at = closed_at
            elif application.status != ApplicationStatus.OPEN:
                await _no_other_open_application(session, application.lead_id)
                application.status = ApplicationStatus.OPEN
                application.lost_reason = None
                application.closed_at = None
        await _flush_open_application(session, application.lead_id)
        return application

    async def sign_contract(
        self, session: AsyncSession, body: ContractCreate, principal: Principal
    ) -> tuple[Contract, str]:
        """A contract marks its application won and its lead won; the contract and the lead id."""
        application = await self.get_visible(session, body.application_id, principal)
        _not_in_future(body.signed_at, "signed_at")
        if await lead_repository.contract_of(session, application.id) is not None:
            raise Conflict(f"application {application.id} already has a contract")
        if application.status == ApplicationStatus.LOST:
            raise Conflict(f"application {application.id} is lost; reopen it first")
        if body.signed_at < application.created_at:
            raise Unprocessable.at(
                "body",
                "signed_at",
                msg="before the application",
                detail="signed_at is before the application was created",
            )
        contract = Contract(
            id=new_id("ctr"),
            application_id=application.id,
            signed_at=body.signed_at,
            amount=to_minor(body.amount),
            margin=to_minor(body.margin) if body.margin is not None else None,
        )
        application_id, lead_id = application.id, application.lead_id
        lead_repository.add_contract(session, contract)
        application.status = ApplicationStatus.WON
        application.closed_at = body.signed_at
        try:
            # Flushed here, not by the autoflush of the lead's lookup: a concurrent contract for
            # the same application loses on the unique constraint, inside this try.
            await session.flush()
        except IntegrityError as exc:
            # The failed flush expired the rows: their ids were taken before it.
            raise Conflict(f"application {application_id} already has a contract") from exc
        lead = await lead_repository.get(session, lead_id)
        assert lead is not None
        lead.status = LeadStatus.WON
        await session.flush()
        return contract, lead_id


async def _no_other_open_application(session: AsyncSession, lead_id: str) -> None:
    other = await lead_repository.first_open_application(session, lead_id)
    if other is not None:
        raise Conflict(
            f"lead {lead_id} already has an open application ({other.id}): a lead has at most "
            "one open application at a time; close that one first"
        )


async def _flush_open_application(session: AsyncSession, lead_id: str) -> None:
    """Flush, answering 409 when a concurrent request opened the lead's one open application."""
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(
            f"lead {lead_id} already has an open application: a lead has at most one at a time"
        ) from exc


class ScriptService:
    async def create(self, session: AsyncSession, body: ScriptCreate) -> Script:
        if await lead_repository.script_named(session, body.name) is not None:
            raise Conflict(
                f"a script named {body.name!r} exists; a new version is a new name, "
                "e.g. 'First call v2'"
            )
        script = Script(id=new_id("scr"), name=body.name, kind=body.kind, text=body.text)
        lead_repository.add_script(session, script)
        try:
            await session.flush()
        except IntegrityError as exc:
            raise Conflict(f"a script named {body.name!r} exists") from exc
        return script

    async def list(
        self, session: AsyncSession, *, limit: int, after_id: str | None
    ) -> Sequence[Script]:
        return await lead_repository.list_scripts(session, limit=limit, after_id=after_id)

    async def get(self, session: AsyncSession, script_id: str) -> Script:
        script = await lead_repository.get_script(session, script_id)
        if script is None:
            raise NotFound(f"script {script_id} not found")
        return script


lead_service = LeadService()
application_service = ApplicationService()
script_service = ScriptService()
