from __future__ import annotations

from fastapi import APIRouter, status

from app.auth.dependencies import AdminPrincipal
from app.auth.repository import api_key_repository
from app.auth.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyPublic
from app.auth.service import api_key_service
from app.db import SessionDep
from app.pagination import Page, PageDep, paginate

router = APIRouter(prefix="/api-keys", tags=["api keys"])


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_api_key(
    body: ApiKeyCreate, session: SessionDep, _admin: AdminPrincipal
) -> ApiKeyCreated:
    row, key = await api_key_service.create(
        session, name=body.name, role=body.role, employee_id=body.employee_id
    )
    return ApiKeyCreated.model_validate(
        {**ApiKeyPublic.model_validate(row).model_dump(), "key": key}
    )


@router.get("")
async def list_api_keys(
    session: SessionDep, page: PageDep, _admin: AdminPrincipal
) -> Page[ApiKeyPublic]:
    rows = await api_key_repository.list(session, limit=page.limit + 1, after_id=page.after_id)
    return paginate(rows, page, to_item=ApiKeyPublic.model_validate, key=lambda row: [row.id])


@router.delete("/{key_id}")
async def revoke_api_key(key_id: str, session: SessionDep, _admin: AdminPrincipal) -> ApiKeyPublic:
    return ApiKeyPublic.model_validate(await api_key_service.revoke(session, key_id))
