"""Managers: the leaderboard of the period and a manager's own page (a manager sees only its own).

The funnel columns are the API's funnel grouped by employee, the SLA the callback figures grouped
by owner, the score the script-quality figures by employee.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, time
from typing import Literal

from fastapi import Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.roles import Role
from app.auth.service import Principal
from app.dashboard.auth import PagePrincipal
from app.dashboard.picker import Pick, PickDep
from app.dashboard.rendering import render
from app.dashboard.routing import page_router
from app.db import SessionDep
from app.employees.service import employee_service
from app.errors import NotFound
from app.leads.schemas import LeadFilters
from app.leads.service import lead_service
from app.metrics.figures import STAGES
from app.metrics.schemas import FunnelFigures
from app.metrics.service import metrics_service
from app.quality.figures import ScoreGroup
from app.quality.service import script_quality_service
from app.settings.dependencies import EconomicsDep
from app.settings.schemas import EconomicsSettings

router = page_router()

# The leaderboard's columns, by figure key (labels from the figures table) and how each shows.
FUNNEL_COLUMNS: tuple[tuple[str, Literal["count", "money"]], ...] = (
    ("dials", "count"),
    *((stage.key, "count") for stage in STAGES),
    ("cost", "money"),
    ("profit_per_call", "money"),
    ("expected_profit_per_call", "money"),
)
SORTS = (*(key for key, _ in FUNNEL_COLUMNS), "within_sla_rate", "score")
# Leads of a manager's page listed by their stage now: waiting for a second call (stage 2),
# open applications (stage 4); the first of each list only, the counts say how many in all.
WAITING_STAGES = (2, 4)
LEADS_SHOWN = 10


@dataclass(frozen=True, slots=True)
class ManagerRow:
    employee_id: str | None
    name: str | None
    figures: FunnelFigures
    within_sla_rate: float | None
    score: float | None

    def value(self, key: str) -> object:
        if key == "within_sla_rate":
            return self.within_sla_rate
        if key == "score":
            return self.score
        return self.figures.figure(key)


def sorted_rows(rows: list[ManagerRow], key: str, descending: bool) -> list[ManagerRow]:
    """By ``key``; rows without the figure last, whichever the order."""
    known = [row for row in rows if row.value(key) is not None]
    unknown = [row for row in rows if row.value(key) is None]
    known.sort(key=lambda row: row.value(key), reverse=descending)  # type: ignore[arg-type, return-value]
    return known + unknown


async def manager_rows(
    session: AsyncSession,
    pick: Pick,
    principal: Principal,
    economics: EconomicsSettings,
    employee_id: str | None = None,
) -> list[ManagerRow]:
    (answer,) = await metrics_service.funnel_results(
        session,
        [pick.funnel(group_by="employee", employee_id=employee_id)],
        principal,
        economics,
        now=pick.now,
    )
    callbacks = await pick.callbacks(session, economics, principal, "employee", employee_id)
    sla = {group.key: group.within_sla_rate for group in callbacks.groups or ()}
    scores = await _scores(session, pick, principal, economics)
    return [
        ManagerRow(group.key, group.label, group.figures, sla.get(group.key), scores.get(group.key))
        for group in answer.result.groups or ()
    ]


async def _scores(
    session: AsyncSession, pick: Pick, principal: Principal, economics: EconomicsSettings
) -> dict[str | None, float | None]:
    def instant(day_end: bool) -> datetime:
        day = pick.days.end if day_end else pick.days.first
        return datetime.combine(day, time(), tzinfo=pick.zone).astimezone(UTC)

    try:
        (answer,) = await script_quality_service.figures_by(
            session,
            start=instant(False),
            end=instant(True),
            as_of=pick.now,
            checklist_id=None,
            groupings=("employee",),
            principal=principal,
            settings=economics,
        )
    except NotFound:  # no checklist: nothing was scored
        return {}
    return {
        group.key: group.score
        for group in answer.figures.groups or ()
        if isinstance(group, ScoreGroup)
    }


@router.get("/managers")
async def managers(
    request: Request,
    principal: PagePrincipal,
    session: SessionDep,
    economics: EconomicsDep,
    pick: PickDep,
    sort: str = "profit_per_call",
    order: Literal["asc", "desc"] = "desc",
) -> Response:
    if sort not in SORTS:
        sort = "profit_per_call"
    rows = await manager_rows(session, pick, principal, economics)
    return render(
        request,
        "managers.html",
        currency=economics.currency,
        pick=pick,
        rows=sorted_rows(rows, sort, order == "desc"),
        columns=FUNNEL_COLUMNS,
        sort=sort,
        descending=order == "desc",
    )


@router.get("/managers/{employee_id}")
async def manager(
    request: Request,
    employee_id: str,
    principal: PagePrincipal,
    session: SessionDep,
    economics: EconomicsDep,
    pick: PickDep,
) -> Response:
    # A manager's key reads its own employee only: any other is "not found", as in the API.
    if not principal.scope.admits(employee_id):
        raise NotFound(f"employee {employee_id} not found")
    employee = await employee_service.get(session, employee_id)
    rows = await manager_rows(session, pick, principal, economics, employee_id)
    # Its leads are those its own key reads (app.auth.scope: owned, else first dialled by it),
    # whoever looks: the head sees the manager's list as the manager does.
    as_manager = replace(principal, role=Role.MANAGER, employee_id=employee_id)
    waiting = {
        stage: await lead_service.list_readable(
            session, as_manager, LeadFilters(stage=stage), limit=LEADS_SHOWN, after_id=None
        )
        for stage in WAITING_STAGES
    }
    return render(
        request,
        "manager.html",
        currency=economics.currency,
        pick=pick,
        employee=employee,
        row=rows[0] if rows else None,
        columns=FUNNEL_COLUMNS,
        sort=None,
        descending=True,
        stages=STAGES,
        at_stage=await lead_service.stage_counts(session, as_manager),
        waiting=waiting,
    )
