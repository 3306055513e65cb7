"""Calls: the list with its filters, each call's recording and outcome tag, and the heat map.

Every figure comes from the API's own services with the API's own query parsing
(``app.calls.router.call_filters``): the list is ``GET /api/v1/calls`` for the same query, the
heat map is ``GET /api/v1/metrics/calls?group_by=weekday_hour`` drawn by the weekly report's
chart, tagging is ``PATCH /api/v1/calls/{id}`` and the player streams what
``GET /api/v1/calls/{id}/recording`` streams.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import Depends, Form, Header, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession

from app.calls.events import CallStatus, Direction
from app.calls.outcomes import Outcome
from app.calls.repository import list_position, writable_call
from app.calls.router import call_filters
from app.calls.schemas import CallFilters, CallPublic, CallUpdate
from app.calls.service import call_service
from app.config import SettingsDep
from app.dashboard.auth import PagePrincipal
from app.dashboard.clock import local_time
from app.dashboard.i18n import lang_of
from app.dashboard.rendering import render
from app.dashboard.routing import page_router, safe_next
from app.db import SessionDep, utcnow
from app.employees.service import employee_service
from app.leads.service import script_service
from app.metrics.service import metrics_service
from app.pagination import MAX_LIMIT, PageDep, paginate
from app.recordings.playback import recording_response
from app.reports.i18n import Formatter, weekday_name
from app.reports.render_html import call_times_chart
from app.reports.weekly import call_times
from app.settings.dependencies import EconomicsDep, ReportingZoneDep

router = page_router()

CallFiltersDep = Annotated[CallFilters, Depends(call_filters)]


async def _names(session: AsyncSession) -> tuple[dict[str, str], dict[str, str]]:
    """Employees' and scripts' names by id: the filter's choices and the list's labels."""
    employees = await employee_service.list(session, limit=MAX_LIMIT, after_id=None, active=None)
    scripts = await script_service.list(session, limit=MAX_LIMIT, after_id=None)
    return {e.id: e.name for e in employees}, {s.id: s.name for s in scripts}


@router.get("/calls")
async def calls_page(
    request: Request,
    principal: PagePrincipal,
    session: SessionDep,
    economics: EconomicsDep,
    zone: ReportingZoneDep,
    page: PageDep,
    filters: CallFiltersDep,
) -> Response:
    rows = await call_service.list_readable(
        session, principal, filters, limit=page.limit + 1, before=page.after_moment()
    )
    # The API's page of calls, each with whether this key may tag it (its own calls only).
    listed = paginate(
        rows,
        page,
        to_item=lambda row: (
            CallPublic.of(*row, principal.scope),
            writable_call(principal.scope, row[0]),
        ),
        key=lambda row: list_position(row[0]),
    )
    query = request.query_params
    stats = await metrics_service.call_stats(
        session,
        start=query.get("from"),
        end=query.get("to"),
        group_by="weekday_hour",
        principal=principal,
        zone=zone,
        now=utcnow(),
    )
    times = call_times(stats.groups or [])
    fmt = Formatter(lang_of(request), economics.currency)
    employees, scripts = await _names(session)
    return render(
        request,
        "calls.html",
        currency=economics.currency,
        calls=listed.items,
        next_cursor=listed.next_cursor,
        filters=filters,
        query=query,
        employees=employees,
        scripts=scripts,
        directions=list(Direction),
        statuses=list(CallStatus),
        outcomes=list(Outcome),
        stats=stats,
        times=times,
        heat_map=call_times_chart(times, fmt),
        here=_here(request),
        local=partial(local_time, zone=zone, lang=fmt.lang),
        weekday=partial(weekday_name, lang=fmt.lang),
    )


def _here(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


@router.post("/calls/{call_id}/tag")
async def tag_call(
    call_id: str,
    principal: PagePrincipal,
    session: SessionDep,
    outcome: Annotated[Outcome | None, Form()] = None,
    script_id: Annotated[str | None, Form()] = None,
    next: Annotated[str, Form(max_length=2000)] = "/calls",
) -> Response:
    """The tag form of one call: the API's ``PATCH /calls/{id}`` with outcome and script (a blank
    choice clears them); back to the list it was sent from."""
    await call_service.update(
        session, call_id, CallUpdate(outcome=outcome, script_id=script_id), principal
    )
    return RedirectResponse(safe_next(next) + f"#call-{call_id}", status_code=303)


@router.get("/calls/{call_id}/recording")
async def call_recording(
    call_id: str,
    principal: PagePrincipal,
    session: SessionDep,
    config: SettingsDep,
    range_: Annotated[str | None, Header(alias="range")] = None,
    if_range: Annotated[str | None, Header()] = None,
) -> Response:
    """The audio player's source: the API's playback, authenticated by the session cookie."""
    return await recording_response(
        session, config, call_id, principal, range_header=range_, if_range=if_range
    )
