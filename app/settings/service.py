from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.metrics.evidence import evidence_inputs, rebuild_evidence
from app.settings.repository import ECONOMICS, OPERATIONS, setting_repository
from app.settings.schemas import EconomicsSettings, OperationsSettings


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
        before = await self.economics(session, default_timezone=default_timezone)
        await setting_repository.put(session, ECONOMICS, value.model_dump(mode="json"))
        after = await self.economics(session, default_timezone=default_timezone)
        # In this transaction: no funnel ever reads rows kept under other thresholds
        # (docs/metrics.md → Kept evidence gives the cost at 1 M calls).
        if evidence_inputs(after) != evidence_inputs(before):
            await rebuild_evidence(session, after)
        return after

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
