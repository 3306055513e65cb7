from __future__ import annotations

from fastapi import APIRouter

from app.auth.dependencies import AdminPrincipal, CurrentPrincipal
from app.config import SettingsDep
from app.db import SessionDep
from app.settings.dependencies import EconomicsDep
from app.settings.schemas import EconomicsSettings, OperationsSettings
from app.settings.service import settings_service

router = APIRouter(prefix="/settings", tags=["settings"])


@router.get("/economics")
async def get_economics(_principal: CurrentPrincipal, economics: EconomicsDep) -> EconomicsSettings:
    return economics


@router.put("/economics")
async def put_economics(
    body: EconomicsSettings, session: SessionDep, config: SettingsDep, _admin: AdminPrincipal
) -> EconomicsSettings:
    return await settings_service.put_economics(session, body, default_timezone=config.timezone)


@router.get("/operations")
async def get_operations(session: SessionDep, _admin: AdminPrincipal) -> OperationsSettings:
    """Recording download attempts and retention (raw events, recordings)."""
    return await settings_service.operations(session)


@router.put("/operations")
async def put_operations(
    body: OperationsSettings, session: SessionDep, _admin: AdminPrincipal
) -> OperationsSettings:
    return await settings_service.put_operations(session, body)
