"""The report's file formats: how each is rendered, its media type and its file name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeAlias

from app.reports.i18n import Lang
from app.reports.render_csv import render_csv
from app.reports.render_html import render_html
from app.reports.render_xlsx import render_xlsx
from app.reports.schemas import WeeklyReport

ReportFormat: TypeAlias = Literal["json", "csv", "xlsx", "html"]
FileFormat: TypeAlias = Literal["csv", "xlsx", "html"]


@dataclass(frozen=True, slots=True)
class Rendering:
    render: Callable[[WeeklyReport, Lang], bytes]
    media_type: str
    # html opens in the browser; the others download.
    disposition: Literal["attachment", "inline"]


RENDERINGS: dict[FileFormat, Rendering] = {
    "csv": Rendering(render_csv, "text/csv; charset=utf-8", "attachment"),
    "xlsx": Rendering(
        render_xlsx,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "attachment",
    ),
    "html": Rendering(render_html, "text/html; charset=utf-8", "inline"),
}


def file_name(report: WeeklyReport, extension: ReportFormat) -> str:
    return f"callfunnel-{report.period.week}.{extension}"


def render_json(report: WeeklyReport) -> bytes:
    return report.model_dump_json(by_alias=True, indent=2).encode()
