"""The stored settings as FastAPI dependencies: a route names what it needs and gets it, looked up
once per request on the request's own session."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends

from app.config import SettingsDep
from app.db import SessionDep
from app.settings.schemas import EconomicsSettings
from app.settings.service import settings_service


async def current_economics(session: SessionDep, config: SettingsDep) -> EconomicsSettings:
    """The economics settings, with the reporting zone filled in from the config if unset."""
    return await settings_service.economics(session, default_timezone=config.timezone)


async def reporting_zone(
    economics: Annotated[EconomicsSettings, Depends(current_economics)],
) -> ZoneInfo:
    assert economics.timezone is not None  # current_economics always fills it in
    return ZoneInfo(economics.timezone)


EconomicsDep = Annotated[EconomicsSettings, Depends(current_economics)]
ReportingZoneDep = Annotated[ZoneInfo, Depends(reporting_zone)]
