from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from app.auth.dependencies import AdminPrincipal
from app.db import SessionDep, get_database
from app.integrations.cache import integration_cache
from app.integrations.repository import integration_repository
from app.integrations.schemas import IntegrationCreate, IntegrationPublic, IntegrationUpdate
from app.integrations.service import integration_service, to_public
from app.pagination import Page, PageDep, paginate

router = APIRouter(prefix="/integrations", tags=["integrations"])


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_integration(
    body: IntegrationCreate, session: SessionDep, _admin: AdminPrincipal
) -> IntegrationPublic:
    return to_public(await integration_service.create(session, body))


@router.get("")
async def list_integrations(
    session: SessionDep, page: PageDep, _admin: AdminPrincipal
) -> Page[IntegrationPublic]:
    rows = await integration_repository.list_live(
        session, limit=page.limit + 1, after=page.after_moment()
    )
    return paginate(
        rows, page, to_item=to_public, key=lambda row: [row.created_at.isoformat(), row.id]
    )


@router.get("/{integration_id}")
async def get_integration(
    integration_id: str, session: SessionDep, _admin: AdminPrincipal
) -> IntegrationPublic:
    return to_public(await integration_service.get(session, integration_id))


@router.patch("/{integration_id}")
async def update_integration(
    integration_id: str, body: IntegrationUpdate, request: Request, _admin: AdminPrincipal
) -> IntegrationPublic:
    database = get_database(request)
    async with database.unit_of_work() as session:
        row = await integration_service.update(session, integration_id, body)
    integration_cache(database).forget(integration_id)
    return to_public(row)


@router.delete("/{integration_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_integration(
    integration_id: str, request: Request, _admin: AdminPrincipal
) -> Response:
    database = get_database(request)
    async with database.unit_of_work() as session:
        await integration_service.delete(session, integration_id)
    integration_cache(database).forget(integration_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
