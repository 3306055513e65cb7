"""Reports: the weekly report of any week, shown in the page and downloaded as xlsx, csv or html.

The page frames the report's own html rendering and links its files; every one of them is
``GET /api/v1/reports/weekly?format=…`` for the same week, from the same service and renderers.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response

from app.auth.dependencies import require_role
from app.auth.roles import Role
from app.auth.service import Principal
from app.config import SettingsDep
from app.dashboard.auth import page_principal
from app.dashboard.i18n import lang_of
from app.dashboard.rendering import render
from app.dashboard.routing import page_router
from app.db import SessionDep, utcnow
from app.reports.formats import RENDERINGS, FileFormat
from app.reports.i18n import Lang
from app.reports.router import file_response
from app.reports.service import report_service
from app.reports.weeks import week_param
from app.settings.dependencies import ReportingZoneDep

router = page_router()

# The roles of the API's report route (app.reports.router): the report reads every manager.
ReportReader = Annotated[Principal, Depends(require_role(Role.ADMIN, Role.HEAD, of=page_principal))]

# The framed report is a page of ours: it may be framed by our pages, and runs nothing.
_FRAMED_HEADERS = {
    "X-Frame-Options": "SAMEORIGIN",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"
    ),
}


@router.get("/reports")
async def reports_page(
    request: Request,
    _reader: ReportReader,
    zone: ReportingZoneDep,
    week: str | None = None,
    as_of: str | None = None,
) -> Response:
    shown = week_param(week, zone, utcnow())
    return render(
        request,
        "reports.html",
        week=shown,
        formats=list(RENDERINGS),
        as_of=as_of,
    )


@router.get("/reports/weekly.{format_}")
async def report_file(
    request: Request,
    format_: FileFormat,
    reader: ReportReader,
    session: SessionDep,
    config: SettingsDep,
    week: str | None = None,
    as_of: str | None = None,
    lang: Lang | None = None,
) -> Response:
    """The report as a file, in the page's language unless ``lang`` says otherwise."""
    report = await report_service.weekly(
        session,
        week=week,
        as_of=as_of,
        principal=reader,
        default_timezone=config.timezone,
        now=utcnow(),
    )
    answer = file_response(report, format_, lang or lang_of(request))
    if format_ == "html":
        answer.headers.update(_FRAMED_HEADERS)
    return answer
