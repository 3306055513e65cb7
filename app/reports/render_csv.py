"""csv: the per-manager table with its totals row, for spreadsheets and scripts.

Headers are stable keys whatever the language; numbers are plain (``1234.50``, ``0.4375``,
seconds as integers), so a spreadsheet or pandas reads them as numbers. UTF-8 with a byte-order
mark: Excel otherwise takes Cyrillic names for its local code page.
"""

from __future__ import annotations

from app.reports.i18n import Formatter, Lang
from app.reports.schemas import WeeklyReport
from app.reports.tables import manager_table


def render_csv(report: WeeklyReport, lang: Lang) -> bytes:
    table = manager_table(report, Formatter(lang, report.currency))
    text: str = table.frame.to_csv(index=False, lineterminator="\r\n")
    return text.encode("utf-8-sig")
