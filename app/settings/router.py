from __future__ import annotations

from fastapi import APIRouter

from app.auth.dependencies import AdminPrincipal, CurrentPrincipal
from app.config import SettingsDep
from app.db import SessionDep
from app.settings.schemas import EconomicsSettings
from app.settings.service import settings_service

router = APIRouter(prefix="/settings", tags=["settings"])


@router.get("/economics")
async def get_economics(
    session: SessionDep, config: SettingsDep, _principal: CurrentPrincipal
) -> EconomicsSettings:
    return await settings_service.economics(session, default_timezone=config.timezone)


@router.put("/economics")
async def put_economics(
    body: EconomicsSettings, session: SessionDep, config: SettingsDep, _admin: AdminPrincipal
) -> EconomicsSettings:
    return await settings_service.put_economics(session, body, default_timezone=config.timezone)
