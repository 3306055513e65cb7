"""``/applications`` and ``/contracts``: the sales that calls lead to."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from app.auth.dependencies import CurrentPrincipal, WriterPrincipal
from app.db import SessionDep
from app.leads.dependencies import LeadWorker
from app.leads.models import ApplicationStatus
from app.leads.schemas import (
    ApplicationCreate,
    ApplicationFilters,
    ApplicationPublic,
    ApplicationUpdate,
    ContractCreate,
    ContractFilters,
    ContractPublic,
)
from app.leads.service import application_service
from app.pagination import Page, PageDep, paginate
from app.periods import query_instant
from app.settings.dependencies import ReportingZoneDep

applications_router = APIRouter(prefix="/applications", tags=["applications and contracts"])
contracts_router = APIRouter(prefix="/contracts", tags=["applications and contracts"])


def application_filters(
    zone: ReportingZoneDep,
    application_status: Annotated[ApplicationStatus | None, Query(alias="status")] = None,
    lead_id: str | None = None,
    from_: Annotated[str | None, Query(alias="from")] = None,
    to: str | None = None,
) -> ApplicationFilters:
    return ApplicationFilters(
        status=application_status,
        lead_id=lead_id,
        created_from=None if from_ is None else query_instant("from", from_, zone),
        created_to=None if to is None else query_instant("to", to, zone),
    )


def contract_filters(
    zone: ReportingZoneDep,
    lead_id: str | None = None,
    from_: Annotated[str | None, Query(alias="from")] = None,
    to: str | None = None,
) -> ContractFilters:
    return ContractFilters(
        lead_id=lead_id,
        signed_from=None if from_ is None else query_instant("from", from_, zone),
        signed_to=None if to is None else query_instant("to", to, zone),
    )


@applications_router.post("", status_code=status.HTTP_201_CREATED)
async def create_application(
    body: ApplicationCreate, principal: LeadWorker, session: SessionDep
) -> ApplicationPublic:
    return ApplicationPublic.of(await application_service.create(session, body, principal))


@applications_router.get("")
async def list_applications(
    principal: CurrentPrincipal,
    session: SessionDep,
    page: PageDep,
    filters: Annotated[ApplicationFilters, Depends(application_filters)],
) -> Page[ApplicationPublic]:
    rows = await application_service.list_readable(
        session, principal, filters, limit=page.limit + 1, after=page.after_moment()
    )
    return paginate(
        rows,
        page,
        to_item=ApplicationPublic.of,
        key=lambda row: [row.created_at.isoformat(), row.id],
    )


@applications_router.get("/{application_id}")
async def get_application(
    application_id: str, principal: CurrentPrincipal, session: SessionDep
) -> ApplicationPublic:
    application = await application_service.get_visible(session, application_id, principal)
    return ApplicationPublic.of(application)


@applications_router.patch("/{application_id}")
async def update_application(
    application_id: str, body: ApplicationUpdate, principal: LeadWorker, session: SessionDep
) -> ApplicationPublic:
    application = await application_service.update(session, application_id, body, principal)
    return ApplicationPublic.of(application)


@contracts_router.post("", status_code=status.HTTP_201_CREATED)
async def create_contract(
    body: ContractCreate, principal: WriterPrincipal, session: SessionDep
) -> ContractPublic:
    contract, lead_id = await application_service.sign_contract(session, body, principal)
    return ContractPublic.of(contract, lead_id)


@contracts_router.get("")
async def list_contracts(
    principal: CurrentPrincipal,
    session: SessionDep,
    page: PageDep,
    filters: Annotated[ContractFilters, Depends(contract_filters)],
) -> Page[ContractPublic]:
    rows = await application_service.contracts(
        session, principal, filters, limit=page.limit + 1, after=page.after_moment()
    )
    return paginate(
        rows,
        page,
        to_item=lambda row: ContractPublic.of(*row),
        key=lambda row: [row[0].signed_at.isoformat(), row[0].id],
    )
