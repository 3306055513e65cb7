from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, Request, Response, UploadFile, status
from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.dependencies import AdminPrincipal, CurrentPrincipal, WriterPrincipal, require_role
from app.auth.roles import Role
from app.auth.service import Principal
from app.calls.phones import normalise_phone
from app.config import Settings, SettingsDep
from app.db import SessionDep, get_database, utcnow
from app.errors import Unprocessable
from app.leads.csv_import import CsvImportError
from app.leads.importer import lead_importer
from app.leads.models import Application, ApplicationStatus, Contract, Lead, LeadStatus
from app.leads.repository import lead_repository
from app.leads.schemas import (
    ApplicationCreate,
    ApplicationPublic,
    ApplicationUpdate,
    ContractCreate,
    ContractPublic,
    ImportResult,
    LeadCreate,
    LeadMerge,
    LeadPublic,
    LeadUpdate,
    ScriptCreate,
    ScriptPublic,
    TimelineEntry,
)
from app.leads.service import application_service, lead_scope, lead_service, script_service
from app.metrics.queries import lead_stage_query
from app.money import from_minor
from app.pagination import Page, PageDep, paginate
from app.periods import period_filters
from app.settings.service import settings_service

leads_router = APIRouter(prefix="/leads", tags=["leads"])
applications_router = APIRouter(prefix="/applications", tags=["applications and contracts"])
contracts_router = APIRouter(prefix="/contracts", tags=["applications and contracts"])
scripts_router = APIRouter(prefix="/scripts", tags=["scripts"])

# Everyone who may work leads: admins, heads, and managers (within their own leads).
LeadWorker = Annotated[Principal, Depends(require_role(Role.ADMIN, Role.HEAD, Role.MANAGER))]


async def leads_public(
    session: AsyncSession, config: Settings, leads: Sequence[Lead]
) -> list[LeadPublic]:
    """The leads with their funnel stage, worked out for just these leads."""
    if not leads:
        return []
    economics = await settings_service.economics(session, default_timezone=config.timezone)
    stages = await lead_repository.stages(
        session, lead_stage_query(economics, utcnow(), [lead.id for lead in leads])
    )
    return [lead_public(lead, stages.get(lead.id, 0)) for lead in leads]


async def one_lead_public(session: AsyncSession, config: Settings, lead: Lead) -> LeadPublic:
    return (await leads_public(session, config, [lead]))[0]


def lead_public(lead: Lead, stage: int) -> LeadPublic:
    return LeadPublic(
        id=lead.id,
        company=lead.company,
        contact_name=lead.contact_name,
        phones=[phone.phone_e164 for phone in lead.phones],
        campaign=lead.campaign,
        segment=lead.segment,
        region=lead.region,
        industry=lead.industry,
        source=lead.source,
        owner_id=lead.owner_id,
        status=LeadStatus(lead.status),
        stage=stage,
        refusal_reason=lead.refusal_reason,
        refused_at_stage=lead.refused_at_stage,
        notes=lead.notes,
        created_at=lead.created_at,
        updated_at=lead.updated_at,
    )


def application_public(application: Application) -> ApplicationPublic:
    amount = application.estimated_amount
    return ApplicationPublic(
        id=application.id,
        lead_id=application.lead_id,
        source_call_id=application.source_call_id,
        created_at=application.created_at,
        estimated_amount=from_minor(amount) if amount is not None else None,
        status=ApplicationStatus(application.status),
        lost_reason=application.lost_reason,
        closed_at=application.closed_at,
        notes=application.notes,
    )


def contract_public(contract: Contract, lead_id: str) -> ContractPublic:
    return ContractPublic(
        id=contract.id,
        application_id=contract.application_id,
        lead_id=lead_id,
        signed_at=contract.signed_at,
        amount=from_minor(contract.amount),
        margin=from_minor(contract.margin) if contract.margin is not None else None,
    )


def _visible_leads(principal: Principal) -> list[ColumnElement[bool]]:
    scope = lead_scope(principal)
    return [] if scope is None else [scope]


def _of_visible_leads(principal: Principal) -> list[ColumnElement[bool]]:
    scope = lead_scope(principal)
    return [] if scope is None else [Application.lead_id.in_(select(Lead.id).where(scope))]


# ---- leads ----------------------------------------------------------------------------------


@leads_router.post("", status_code=status.HTTP_201_CREATED)
async def create_lead(
    body: LeadCreate, session: SessionDep, config: SettingsDep, principal: LeadWorker
) -> LeadPublic:
    lead = await lead_service.create(session, body, principal, region=config.default_region)
    return await one_lead_public(session, config, lead)


@leads_router.get("")
async def list_leads(
    session: SessionDep,
    config: SettingsDep,
    page: PageDep,
    principal: CurrentPrincipal,
    phone: Annotated[str | None, Query(description="In any format.")] = None,
    campaign: str | None = None,
    owner_id: str | None = None,
    lead_status: Annotated[LeadStatus | None, Query(alias="status")] = None,
    q: Annotated[str | None, Query(description="Words in the company or contact name.")] = None,
    stage: Annotated[
        int | None, Query(ge=0, le=5, description="Leads whose funnel stage is exactly this.")
    ] = None,
) -> Page[LeadPublic]:
    filters = _visible_leads(principal)
    if phone is not None:
        e164 = normalise_phone(phone, config.default_region)
        if e164 is None:
            raise Unprocessable(
                f"not a phone number: {phone!r}",
                errors=[{"loc": ["query", "phone"], "msg": "not a phone number"}],
            )
        filters.append(Lead.phones.any(phone_e164=e164))
    if campaign is not None:
        filters.append(Lead.campaign == campaign)
    if owner_id is not None:
        filters.append(Lead.owner_id == owner_id)
    if lead_status is not None:
        filters.append(Lead.status == lead_status.value)
    if q:
        filters += [
            Lead.search_text.contains(word, autoescape=True) for word in q.casefold().split()
        ]
    if stage is not None:
        economics = await settings_service.economics(session, default_timezone=config.timezone)
        staged = lead_stage_query(economics, utcnow())
        if stage == 0:
            filters.append(Lead.id.not_in(select(staged.c.lead_id)))
        else:
            filters.append(Lead.id.in_(select(staged.c.lead_id).where(staged.c.stage == stage)))
    rows = await lead_repository.list(
        session, filters=filters, limit=page.limit + 1, after_id=page.after_id
    )
    shown = await leads_public(session, config, rows[: page.limit])
    return paginate(
        [*shown, *(lead_public(row, 0) for row in rows[page.limit :])],
        page,
        to_item=lambda item: item,
        key=lambda item: [item.id],
    )


@leads_router.post("/import")
async def import_leads(
    request: Request,
    file: Annotated[UploadFile, File(description="CSV: UTF-8 or cp1251, ',' or ';' separated.")],
    config: SettingsDep,
    _writer: WriterPrincipal,
) -> ImportResult:
    """Create or update leads from a spreadsheet export; a bad row never stops the others."""
    try:
        return await lead_importer.import_csv(
            get_database(request), file.file, default_region=config.default_region
        )
    except CsvImportError as exc:
        raise Unprocessable(str(exc), errors=[{"loc": ["body", "file"], "msg": str(exc)}]) from exc


@leads_router.get("/{lead_id}")
async def get_lead(
    lead_id: str, session: SessionDep, config: SettingsDep, principal: CurrentPrincipal
) -> LeadPublic:
    lead = await lead_service.get_visible(session, lead_id, principal)
    return await one_lead_public(session, config, lead)


@leads_router.patch("/{lead_id}")
async def update_lead(
    lead_id: str,
    body: LeadUpdate,
    session: SessionDep,
    config: SettingsDep,
    principal: LeadWorker,
) -> LeadPublic:
    lead = await lead_service.update(
        session, lead_id, body, principal, region=config.default_region
    )
    return await one_lead_public(session, config, lead)


@leads_router.delete("/{lead_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_lead(lead_id: str, session: SessionDep, _admin: AdminPrincipal) -> Response:
    await lead_service.delete(session, lead_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@leads_router.post("/{lead_id}/merge")
async def merge_lead(
    lead_id: str, body: LeadMerge, session: SessionDep, config: SettingsDep, principal: LeadWorker
) -> LeadPublic:
    lead = await lead_service.merge(session, lead_id, body.into, principal)
    return await one_lead_public(session, config, lead)


@leads_router.get("/{lead_id}/timeline")
async def lead_timeline(
    lead_id: str, session: SessionDep, principal: CurrentPrincipal
) -> list[TimelineEntry]:
    return await lead_service.timeline(session, lead_id, principal)


# ---- applications and contracts ----------------------------------------------------------------


@applications_router.post("", status_code=status.HTTP_201_CREATED)
async def create_application(
    body: ApplicationCreate, session: SessionDep, principal: LeadWorker
) -> ApplicationPublic:
    return application_public(await application_service.create(session, body, principal))


@applications_router.get("")
async def list_applications(
    session: SessionDep,
    config: SettingsDep,
    page: PageDep,
    principal: CurrentPrincipal,
    application_status: Annotated[ApplicationStatus | None, Query(alias="status")] = None,
    lead_id: str | None = None,
    from_: Annotated[str | None, Query(alias="from")] = None,
    to: str | None = None,
) -> Page[ApplicationPublic]:
    zone = await settings_service.reporting_zone(session, default_timezone=config.timezone)
    filters = _of_visible_leads(principal) + period_filters(Application.created_at, from_, to, zone)
    if application_status is not None:
        filters.append(Application.status == application_status.value)
    if lead_id is not None:
        filters.append(Application.lead_id == lead_id)
    rows = await lead_repository.applications(
        session, filters, limit=page.limit + 1, after=page.after_moment()
    )
    return paginate(
        rows,
        page,
        to_item=application_public,
        key=lambda row: [row.created_at.isoformat(), row.id],
    )


@applications_router.get("/{application_id}")
async def get_application(
    application_id: str, session: SessionDep, principal: CurrentPrincipal
) -> ApplicationPublic:
    application = await application_service.get_visible(session, application_id, principal)
    return application_public(application)


@applications_router.patch("/{application_id}")
async def update_application(
    application_id: str, body: ApplicationUpdate, session: SessionDep, principal: LeadWorker
) -> ApplicationPublic:
    application = await application_service.update(session, application_id, body, principal)
    return application_public(application)


@contracts_router.post("", status_code=status.HTTP_201_CREATED)
async def create_contract(
    body: ContractCreate, session: SessionDep, principal: WriterPrincipal
) -> ContractPublic:
    contract = await application_service.sign_contract(session, body, principal)
    application = await application_service.get_visible(session, body.application_id, principal)
    return contract_public(contract, application.lead_id)


@contracts_router.get("")
async def list_contracts(
    session: SessionDep,
    config: SettingsDep,
    page: PageDep,
    principal: CurrentPrincipal,
    lead_id: str | None = None,
    from_: Annotated[str | None, Query(alias="from")] = None,
    to: str | None = None,
) -> Page[ContractPublic]:
    zone = await settings_service.reporting_zone(session, default_timezone=config.timezone)
    filters = _of_visible_leads(principal) + period_filters(Contract.signed_at, from_, to, zone)
    if lead_id is not None:
        filters.append(Application.lead_id == lead_id)
    rows = await lead_repository.contracts(
        session, filters, limit=page.limit + 1, after=page.after_moment()
    )
    return paginate(
        rows,
        page,
        to_item=lambda row: contract_public(*row),
        key=lambda row: [row[0].signed_at.isoformat(), row[0].id],
    )


# ---- scripts -------------------------------------------------------------------------------------


@scripts_router.post("", status_code=status.HTTP_201_CREATED)
async def create_script(
    body: ScriptCreate, session: SessionDep, _writer: WriterPrincipal
) -> ScriptPublic:
    return ScriptPublic.model_validate(await script_service.create(session, body))


@scripts_router.get("")
async def list_scripts(
    session: SessionDep, page: PageDep, _principal: CurrentPrincipal
) -> Page[ScriptPublic]:
    rows = await lead_repository.list_scripts(session, limit=page.limit + 1, after_id=page.after_id)
    return paginate(rows, page, to_item=ScriptPublic.model_validate, key=lambda row: [row.id])


@scripts_router.get("/{script_id}")
async def get_script(
    script_id: str, session: SessionDep, _principal: CurrentPrincipal
) -> ScriptPublic:
    return ScriptPublic.model_validate(await script_service.get(session, script_id))
