"""``/scripts``: the call scripts managers follow, each version under its own name."""

from __future__ import annotations

from fastapi import APIRouter, status

from app.auth.dependencies import CurrentPrincipal, WriterPrincipal
from app.db import SessionDep
from app.leads.schemas import ScriptCreate, ScriptPublic
from app.leads.service import script_service
from app.pagination import Page, PageDep, paginate

router = APIRouter(prefix="/scripts", tags=["scripts"])


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_script(
    body: ScriptCreate, _writer: WriterPrincipal, session: SessionDep
) -> ScriptPublic:
    return ScriptPublic.model_validate(await script_service.create(session, body))


@router.get("")
async def list_scripts(
    _principal: CurrentPrincipal, session: SessionDep, page: PageDep
) -> Page[ScriptPublic]:
    rows = await script_service.list(session, limit=page.limit + 1, after_id=page.after_id)
    return paginate(rows, page, to_item=ScriptPublic.model_validate, key=lambda row: [row.id])


@router.get("/{script_id}")
async def get_script(
    script_id: str, _principal: CurrentPrincipal, session: SessionDep
) -> ScriptPublic:
    return ScriptPublic.model_validate(await script_service.get(session, script_id))
