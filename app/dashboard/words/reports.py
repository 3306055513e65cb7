"""Words of the Reports page (the report's own are in ``app.reports.i18n``)."""

from __future__ import annotations

WORDS: dict[str, tuple[str, str]] = {
    "reports_pick_week": ("Choose the week", "Выбор недели"),
    "reports_download": ("Download", "Скачать"),
}
