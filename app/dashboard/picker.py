"""The period picker's query (``period``, ``mode``, ``from``, ``until``) as a dependency, shared by
the Overview and the Managers pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.service import Principal
from app.callbacks.cases import GroupBy as CallbackGroupBy
from app.callbacks.schemas import CallbackMetricsResponse
from app.callbacks.service import callbacks_service
from app.dashboard.periods import PERIOD_CHOICES, DayRange, PeriodChoice, day_range
from app.db import utcnow
from app.metrics.funnel import GroupBy, Mode
from app.metrics.service import FunnelParams
from app.settings.dependencies import EconomicsDep
from app.settings.schemas import EconomicsSettings


@dataclass(frozen=True, slots=True)
class Pick:
    period: PeriodChoice
    mode: Mode
    days: DayRange
    zone: ZoneInfo
    now: datetime
    choices: tuple[PeriodChoice, ...] = PERIOD_CHOICES

    def funnel(
        self,
        days: DayRange | None = None,
        group_by: GroupBy | None = None,
        employee_id: str | None = None,
    ) -> FunnelParams:
        """The API's funnel query for ``days`` (default: the period picked)."""
        days = days or self.days
        return FunnelParams(
            days.first.isoformat(),
            days.end.isoformat(),
            self.mode,
            None,
            group_by,
            employee_id,
            None,
        )

    async def callbacks(
        self,
        session: AsyncSession,
        economics: EconomicsSettings,
        principal: Principal,
        group_by: CallbackGroupBy | None = None,
        employee_id: str | None = None,
    ) -> CallbackMetricsResponse:
        """The API's callback figures (``/api/v1/metrics/callbacks``) of the period picked."""
        return await callbacks_service.metrics(
            session,
            economics,
            start=self.days.first.isoformat(),
            end=self.days.end.isoformat(),
            as_of=None,
            group_by=group_by,
            employee_id=employee_id,
            scope=principal.scope,
            now=self.now,
        )

    @property
    def api_query(self) -> str:
        """``/api/v1/metrics/funnel``'s query string for the same figures."""
        return urlencode(
            {
                "from": self.days.first.isoformat(),
                "to": self.days.end.isoformat(),
                "mode": self.mode,
            }
        )


async def pick_period(
    economics: EconomicsDep,
    period: PeriodChoice = "last_week",
    mode: Mode = "cohort",
    from_: Annotated[date | None, Query(alias="from")] = None,
    until: date | None = None,
) -> Pick:
    assert economics.timezone is not None  # current_economics fills it in
    zone, now = ZoneInfo(economics.timezone), utcnow()
    days = day_range(period, now.astimezone(zone).date(), from_, until)
    return Pick(period, mode, days, zone, now)


PickDep = Annotated[Pick, Depends(pick_period)]
