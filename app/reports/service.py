"""The weekly report, gathered from the metrics service and the leads' loss reasons."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.service import Principal
from app.callbacks.service import callbacks_service
from app.errors import NotFound
from app.leads.repository import lead_repository
from app.metrics.funnel import GroupBy, Mode
from app.metrics.schemas import CallStatsResponse
from app.metrics.service import (
    CallGrouping,
    FunnelAnswer,
    FunnelParams,
    FunnelSource,
    metrics_service,
)
from app.quality import views as quality_views
from app.quality.service import script_quality_service
from app.reports.schemas import WeeklyReport
from app.reports.weekly import COHORT_WEEKS, WeeklyInputs, weekly_report
from app.reports.weeks import IsoWeek, week_param
from app.settings.service import settings_service
from app.telemetry.instruments import REPORT_SECONDS, observe_seconds


class ReportService:
    @observe_seconds(REPORT_SECONDS.labels(report="weekly"))
    async def weekly(
        self,
        session: AsyncSession,
        *,
        week: str | None,
        as_of: str | None,
        principal: Principal,
        default_timezone: str,
        now: datetime,
        source: FunnelSource = "kept",
    ) -> WeeklyReport:
        """The report of ``week`` (default: the last complete one) with evidence by ``as_of``;
        ``source`` as in ``MetricsService.funnel_results``."""
        settings = await settings_service.economics(session, default_timezone=default_timezone)
        assert settings.timezone is not None
        zone = ZoneInfo(settings.timezone)
        this = week_param(week, zone, now)

        def funnel(
            first: IsoWeek, last: IsoWeek, mode: Mode, group_by: GroupBy | None
        ) -> FunnelParams:
            return FunnelParams(
                start=first.monday.isoformat(),
                end=last.next_monday.isoformat(),
                mode=mode,
                as_of=as_of,
                group_by=group_by,
                employee_id=None,
                campaign=None,
            )

        async def funnels(*params: FunnelParams) -> list[FunnelAnswer]:
            return await metrics_service.funnel_results(
                session, params, principal, settings, now=now, source=source
            )

        async def call_stats(group_by: CallGrouping) -> CallStatsResponse:
            return await metrics_service.call_stats(
                session,
                start=this.monday.isoformat(),
                end=this.next_monday.isoformat(),
                group_by=group_by,
                principal=principal,
                zone=zone,
                now=now,
            )

        # This week's and the last one's activity share one evidence pass.
        current, previous = await funnels(
            funnel(this, this, "activity", "employee"),
            funnel(this.shifted(-1), this.shifted(-1), "activity", None),
        )
        (cohorts,) = await funnels(funnel(this.shifted(1 - COHORT_WEEKS), this, "cohort", "week"))
        start, end = current.period.from_, current.period.to
        report = weekly_report(
            WeeklyInputs(
                week=this,
                zone=zone,
                currency=settings.currency,
                period=current.period,
                this_week=current.result,
                previous_week=previous.result.total,
                cohorts=cohorts.result,
                calls_by_employee=await call_stats("employee"),
                calls_by_weekday_hour=await call_stats("weekday_hour"),
                refusals=await lead_repository.refusal_reasons(session, start, end),
                lost_applications=await lead_repository.lost_reasons(session, start, end),
            )
        )
        # The calls of the week a reviewer scored, and how far their leads got by as_of. A
        # database without the default checklist (emptied since its migration, and not started
        # since) gets no such section rather than no report.
        script_quality = None
        try:
            by_employee, by_script = await script_quality_service.figures_by(
                session,
                start=start,
                end=end,
                as_of=current.period.as_of,
                checklist_id=None,
                groupings=("employee", "script"),
                principal=principal,
                settings=settings,
            )
            script_quality = quality_views.report_section(by_employee, by_script)
        except NotFound:
            pass
        # Missed calls and callbacks: the cases opened this week and the week before.
        callbacks = await callbacks_service.weekly_section(
            session,
            settings,
            start=start,
            end=end,
            previous_start=previous.period.from_,
            as_of=current.period.as_of,
            scope=principal.scope,
        )
        return report.model_copy(
            update={
                "script_quality": script_quality,
                "callbacks": callbacks,
            }
        )


report_service = ReportService()
