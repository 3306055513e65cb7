from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from app.auth.dependencies import require_role
from app.auth.roles import Role
from app.auth.service import Principal
from app.config import SettingsDep
from app.db import SessionDep, utcnow
from app.reports.formats import RENDERINGS, FileFormat, ReportFormat, file_name
from app.reports.i18n import Lang
from app.reports.schemas import WeeklyReport
from app.reports.service import report_service

router = APIRouter(prefix="/reports", tags=["reports"])

ReportReader = Annotated[Principal, Depends(require_role(Role.ADMIN, Role.HEAD))]

_FILES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "json: the report below; csv: the per-manager table with its totals row; "
        "xlsx: a workbook with one sheet per section and charts; html: a self-contained page.",
        "content": {
            rendering.media_type.split(";")[0]: {"schema": {"type": "string", "format": "binary"}}
            for rendering in RENDERINGS.values()
        },
    }
}


@router.get("/weekly", response_model=WeeklyReport, responses=_FILES)
async def weekly(
    session: SessionDep,
    config: SettingsDep,
    principal: ReportReader,
    week: Annotated[
        str | None, Query(description="ISO week, e.g. 2026-W47; default: the last complete one.")
    ] = None,
    format_: Annotated[ReportFormat, Query(alias="format")] = "json",
    lang: Annotated[Lang, Query(description="Headings and number formats.")] = "en",
    as_of: Annotated[str | None, Query(description="Timestamp; default now.")] = None,
) -> WeeklyReport | Response:
    """The sales head's weekly report: funnel and money against the week before, managers,
    the last eight cohorts, answer rate by hour and weekday, and why leads are lost."""
    report = await report_service.weekly(
        session,
        week=week,
        as_of=as_of,
        principal=principal,
        default_timezone=config.timezone,
        now=utcnow(),
    )
    if format_ == "json":
        return report
    return file_response(report, format_, lang)


def file_response(report: WeeklyReport, format_: FileFormat, lang: Lang) -> Response:
    """The report as a file (the API's and the dashboard's downloads)."""
    rendering = RENDERINGS[format_]
    return Response(
        rendering.render(report, lang),
        media_type=rendering.media_type,
        headers={
            "Content-Disposition": (
                f'{rendering.disposition}; filename="{file_name(report, format_)}"'
            )
        },
    )
