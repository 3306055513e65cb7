from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.settings.repository import setting_repository
from app.settings.schemas import EconomicsSettings, OperationsSettings

ECONOMICS = "economics"
OPERATIONS = "operations"


class SettingsService:
    async def economics(self, session: AsyncSession, *, default_timezone: str) -> EconomicsSettings:
        """The stored economics settings (or the defaults), with the reporting zone filled in."""
        stored = await setting_repository.get(session, ECONOMICS)
        settings = EconomicsSettings.model_validate(stored or {})
        if settings.timezone is None:
            settings = settings.model_copy(update={"timezone": default_timezone})
        return settings

    async def reporting_zone(self, session: AsyncSession, *, default_timezone: str) -> ZoneInfo:
        settings = await self.economics(session, default_timezone=default_timezone)
        return ZoneInfo(settings.timezone or default_timezone)

    async def put_economics(
        self, session: AsyncSession, value: EconomicsSettings, *, default_timezone: str
    ) -> EconomicsSettings:
        await setting_repository.put(session, ECONOMICS, value.model_dump(mode="json"))
        return await self.economics(session, default_timezone=default_timezone)

    async def operations(self, session: AsyncSession) -> OperationsSettings:
        return OperationsSettings.model_validate(
            await setting_repository.get(session, OPERATIONS) or {}
        )

    async def put_operations(
        self, session: AsyncSession, value: OperationsSettings
    ) -> OperationsSettings:
        await setting_repository.put(session, OPERATIONS, value.model_dump(mode="json"))
        return value


settings_service = SettingsService()
