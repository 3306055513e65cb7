"""Moments on pages: shown in the reporting time zone, as the page's language writes them."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from app.reports.i18n import DASH, Lang


def local_time(moment: datetime | None, zone: ZoneInfo, lang: Lang) -> str:
    """``06.12.2026 14:05`` in Russian, ``2026-12-06 14:05`` in English; a dash for none."""
    if moment is None:
        return DASH
    local = moment.astimezone(zone)
    return f"{local:%d.%m.%Y %H:%M}" if lang == "ru" else f"{local:%Y-%m-%d %H:%M}"
