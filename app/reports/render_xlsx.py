"""xlsx: one sheet per section, real numbers with number formats, native charts.

Money is a number formatted with the currency (negative in red), ratios are fractions formatted as
percentages, talk time a duration (days, as Excel counts time) formatted ``[h]:mm:ss``. Headings
stay in view (frozen panes) and each sheet prints on pages one wide.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.chart.axis import ChartLines
from openpyxl.chart.legend import Legend
from openpyxl.chart.series import SeriesLabel
from openpyxl.formatting.rule import ColorScaleRule, Rule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from app.metrics.figures import STAGE_NAMES
from app.reports import charts
from app.reports.i18n import Formatter, Lang
from app.reports.schemas import WeeklyReport
from app.reports.tables import MANAGER_LEAD_COLUMNS, SECTIONS, TREND_PROFIT, Column, Kind, Table
from app.reports.weekly import MANAGERS_SORTED_BY

# The manager table's column the bar chart plots: the figure managers are ranked by.
_MANAGER_BARS = next(name for name, key in MANAGER_LEAD_COLUMNS if key == MANAGERS_SORTED_BY)
_SECONDS_PER_DAY = 86400
_DURATION = "[h]:mm:ss"
_LINE_WIDTH = 28575  # EMU: 2.25 pt
# Kept for lookups, hidden from reading and printing (the names say who it is).
_HIDDEN_COLUMNS = frozenset({"employee_id"})
_FONT = "Calibri"  # the workbook's own; LibreOffice substitutes a metric twin
_TITLE = Font(name=_FONT, bold=True, size=14)
_SUBTITLE = Font(name=_FONT, color="666666")
_NOTE = Font(name=_FONT, italic=True, color="666666")
_HEADER = Font(name=_FONT, bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="E8EEF7")
_GROUP_FILL = PatternFill("solid", fgColor="D4DEEE")
_TOTAL_BORDER = Border(top=Side(style="thin"))
_MIN_WIDTH, _MAX_WIDTH, _MAX_HEADER_WIDTH = 8, 40, 14
_LINE_HEIGHT = 15  # points, at the default font size
_CHART_WIDTH_CM, _CHART_HEIGHT_CM = 18, 9


def _number_formats(fmt: Formatter, *, signed: bool = False) -> dict[Kind, str]:
    """Excel number formats by kind; ``signed`` for changes, which show their plus."""
    money = f'#,##0.00" {fmt.currency_sign}"'
    formats: dict[Kind, str] = {
        "text": "General",
        "int": "#,##0",
        "number": "#,##0.00",
        "money": f"{money};[Red]-{money}",
        "percent": "0.0%",
        "duration": _DURATION,
        "date": "dd.mm.yyyy" if fmt.lang == "ru" else "yyyy-mm-dd",
    }
    if signed:
        formats["int"] = "+#,##0;-#,##0;0"
        formats["number"] = "+#,##0.00;-#,##0.00;0.00"
        formats["money"] = f"+{money};[Red]-{money};{money}"
        formats["percent"] = "+0.0%;-0.0%;0.0%"
    return formats


@dataclass(frozen=True, slots=True)
class _Placed:
    """Where a table landed: its heading row, and its first and last data rows."""

    header_row: int
    first_row: int
    last_row: int

    def column_ref(self, sheet: Worksheet, column: int, *, with_header: bool = True) -> Reference:
        first = self.header_row if with_header else self.first_row
        return Reference(sheet, min_col=column, min_row=first, max_row=self.last_row)


class _SheetWriter:
    def __init__(self, book: Workbook, name: str, fmt: Formatter, subtitle: str) -> None:
        self.sheet: Worksheet = book.create_sheet(_sheet_name(name))
        self.fmt = fmt
        self.formats = _number_formats(fmt)
        self.change_formats = _number_formats(fmt, signed=True)
        self.widths: dict[int, int] = {}
        self.sheet["A1"] = name
        self.sheet["A1"].font = _TITLE
        self.sheet["A2"] = subtitle
        self.sheet["A2"].font = _SUBTITLE
        self.row = 4
        self.sheet.page_setup.orientation = "landscape"
        self.sheet.page_setup.fitToWidth = 1
        self.sheet.page_setup.fitToHeight = 0
        self.sheet.sheet_properties.pageSetUpPr.fitToPage = True

    def table(self, table: Table, *, title: bool = False, freeze: bool = True) -> _Placed:
        sheet = self.sheet
        if title:
            sheet.cell(self.row, 1, table.title).font = _HEADER
            self.row += 1
        if table.note:
            sheet.cell(self.row, 1, table.note).font = _NOTE
            self.row += 1
        if any(column.group for column in table.columns):
            self._groups(table.columns)
        header_row = self.row
        for index, column in enumerate(table.columns, start=1):
            cell = sheet.cell(header_row, index, column.label)
            cell.font, cell.fill = _HEADER, _HEADER_FILL
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            self._fit(index, min(len(column.label), _MAX_HEADER_WIDTH))
        rows = table.rows()
        first_total = len(rows) - table.totals
        for offset, values in enumerate(rows):
            row = header_row + 1 + offset
            for index, (column, value) in enumerate(zip(table.columns, values, strict=True), 1):
                formats = self.change_formats if column.key.startswith("change") else self.formats
                self._cell(row, index, formats[table.kind(offset, column)], value)
                if offset >= first_total:
                    sheet.cell(row, index).font = _HEADER
                    sheet.cell(row, index).border = _TOTAL_BORDER
        for index, column in enumerate(table.columns, start=1):
            if column.key in _HIDDEN_COLUMNS:
                sheet.column_dimensions[get_column_letter(index)].hidden = True
        # Spreadsheets do not grow a row for wrapped text written by a program: say how high.
        lines = max(
            _wrapped_lines(column.label, self.widths[index] - 2)
            for index, column in enumerate(table.columns, start=1)
        )
        sheet.row_dimensions[header_row].height = _LINE_HEIGHT * lines
        last_row = header_row + max(len(rows), 1)
        if freeze:
            sheet.freeze_panes = f"B{header_row + 1}"
        self.row = last_row + 3
        return _Placed(header_row, header_row + 1, last_row)

    def _groups(self, columns: Sequence[Column]) -> None:
        start = 1
        for index in range(1, len(columns) + 1):
            group = columns[index - 1].group
            following = columns[index].group if index < len(columns) else None
            if group is not None and group == following:
                continue
            if group is not None:
                cell = self.sheet.cell(self.row, start, group)
                cell.font, cell.fill = _HEADER, _GROUP_FILL
                cell.alignment = Alignment(horizontal="center")
                if index > start:
                    self.sheet.merge_cells(
                        start_row=self.row, start_column=start, end_row=self.row, end_column=index
                    )
            start = index + 1
        self.row += 1

    def _cell(self, row: int, column: int, number_format: str, value: object) -> None:
        if value is None:
            return
        cell = self.sheet.cell(row, column)
        if number_format == _DURATION and isinstance(value, int):
            cell.value = value / _SECONDS_PER_DAY
            shown = self.fmt.duration(value)
        elif isinstance(value, str):
            cell.value = value
            shown = value
        else:
            cell.value = value  # type: ignore[assignment]  # int, float, Decimal or date
            shown = self._shown(value)
        cell.number_format = number_format
        self._fit(column, len(shown))

    def _shown(self, value: object) -> str:
        """Roughly what the spreadsheet will show, to size the column."""
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, Decimal):
            return self.fmt.money(value)
        if isinstance(value, float):
            return self.fmt.percent(value)
        if isinstance(value, int):
            return self.fmt.number(value)
        return str(value)

    def _fit(self, column: int, length: int) -> None:
        width = max(_MIN_WIDTH, min(_MAX_WIDTH, length + 2))
        if width > self.widths.get(column, 0):
            self.widths[column] = width
            self.sheet.column_dimensions[get_column_letter(column)].width = width

    def chart(self, chart: BarChart | LineChart, column: int = 1) -> None:
        chart.width, chart.height = _CHART_WIDTH_CM, _CHART_HEIGHT_CM
        self.sheet.add_chart(chart, f"{get_column_letter(column)}{self.row}")


def _wrapped_lines(text: str, width: int) -> int:
    """Lines that ``text`` takes when wrapped at spaces to ``width`` characters."""
    lines, used = 1, 0
    for word in text.split():
        if used and used + 1 + len(word) > width:
            lines, used = lines + 1, 0
        used += (1 if used else 0) + len(word)
    return lines


def _sheet_name(name: str) -> str:
    # Excel refuses these characters and names over 31 characters.
    cleaned = "".join(" " if char in "[]:*?/\\" else char for char in name)
    return cleaned[:31]


def render_xlsx(report: WeeklyReport, lang: Lang) -> bytes:
    fmt = Formatter(lang, report.currency)
    period = report.period
    subtitle = (
        f"{fmt.label('week')} {period.week}: {fmt.day_range(period.first_day, period.last_day)}"
        f" ({period.timezone}); {fmt.label('as_of')} {period.as_of:%Y-%m-%d %H:%M} UTC"
    )
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]

    for section in SECTIONS:
        sheet = _SheetWriter(book, fmt.label(section.key), fmt, subtitle)
        tables = section.tables(report, fmt)
        # Several tables on one sheet take their titles; the headings of the first stay in view.
        several = len(tables) > 1
        placed = [
            sheet.table(table, title=several, freeze=index == 0)
            for index, table in enumerate(tables)
        ]
        extra = _EXTRAS.get(section.key)
        if extra is not None:
            extra(sheet, tables, placed, report)

    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --------------------------------------------------------------------------- charts by section

_Extra = Callable[[_SheetWriter, Sequence[Table], Sequence[_Placed], WeeklyReport], None]


def _funnel_extra(
    sheet: _SheetWriter, tables: Sequence[Table], placed: Sequence[_Placed], report: WeeklyReport
) -> None:
    sheet.chart(_funnel_chart(sheet.sheet, placed[0], sheet.fmt))


def _managers_extra(
    sheet: _SheetWriter, tables: Sequence[Table], placed: Sequence[_Placed], report: WeeklyReport
) -> None:
    if report.managers:
        sheet.chart(_manager_chart(sheet.sheet, placed[0], tables[0], sheet.fmt))


def _cohorts_extra(
    sheet: _SheetWriter, tables: Sequence[Table], placed: Sequence[_Placed], report: WeeklyReport
) -> None:
    sheet.chart(_volume_chart(sheet.sheet, placed[0], tables[0], sheet.fmt))
    sheet.chart(_profit_chart(sheet.sheet, placed[0], tables[0], sheet.fmt), column=10)


def _call_times_extra(
    sheet: _SheetWriter, tables: Sequence[Table], placed: Sequence[_Placed], report: WeeklyReport
) -> None:
    rates, where = tables[0], placed[0]  # the answer rates: coloured as the html heat map
    sheet.sheet.conditional_formatting.add(
        f"B{where.first_row}:{get_column_letter(len(rates.columns))}{where.last_row}",
        _heat_scale(),
    )


_EXTRAS: dict[str, _Extra] = {
    "funnel": _funnel_extra,
    "managers": _managers_extra,
    "cohorts": _cohorts_extra,
    "call_times": _call_times_extra,
}
"""Charts of the built-in sections, after their tables; a section not listed has none."""


def _heat_scale() -> Rule:
    """The html heat map's colours, as a three-colour scale over answer rates."""
    (low, low_colour), (mid, mid_colour), (high, high_colour) = charts.HEAT_STOPS
    rule: Rule = ColorScaleRule(  # type: ignore[no-untyped-call]  # untyped stub
        start_type="num", start_value=low, start_color=_rgb(low_colour),
        mid_type="num", mid_value=mid, mid_color=_rgb(mid_colour),
        end_type="num", end_value=high, end_color=_rgb(high_colour),
    )  # fmt: skip
    return rule


def _column(table: Table, key: str) -> int:
    return next(index for index, column in enumerate(table.columns, 1) if column.key == key)


def _funnel_chart(sheet: Worksheet, placed: _Placed, fmt: Formatter) -> BarChart:
    """This week's and last week's leads at each stage (dials are not leads: left out)."""
    chart = BarChart()
    chart.type = "bar"
    chart.title = fmt.label("funnel")
    leads = _Placed(placed.header_row, placed.first_row + 1, placed.last_row)
    for column in (2, 5):  # this week, the previous week
        chart.add_data(leads.column_ref(sheet, column, with_header=False), titles_from_data=False)
    chart.set_categories(leads.column_ref(sheet, 1, with_header=False))
    _name_series(chart, (fmt.label("this_week"), fmt.label("previous_week")))
    for series, colour in zip(chart.series, (_rgb(charts.BLUE), _rgb(charts.GREY)), strict=True):
        series.graphicalProperties.solidFill = colour
        series.graphicalProperties.line.solidFill = colour
    chart.x_axis.scaling.orientation = "maxMin"  # the first stage on top
    chart.y_axis.majorGridlines = ChartLines()
    _show_axes(chart)
    chart.legend = Legend(legendPos="b")
    return chart


def _manager_chart(sheet: Worksheet, placed: _Placed, table: Table, fmt: Formatter) -> BarChart:
    chart = BarChart()
    chart.type = "bar"
    chart.title = fmt.label(MANAGERS_SORTED_BY)
    rows = _Placed(placed.header_row, placed.first_row, placed.last_row - table.totals)
    chart.add_data(rows.column_ref(sheet, _column(table, _MANAGER_BARS), with_header=False))
    chart.set_categories(rows.column_ref(sheet, _column(table, "manager"), with_header=False))
    chart.x_axis.scaling.orientation = "maxMin"
    chart.y_axis.number_format = _number_formats(fmt)["int"]
    chart.series[0].graphicalProperties.solidFill = _rgb(charts.BLUE)
    chart.legend = None
    _show_axes(chart)
    return chart


def _volume_chart(sheet: Worksheet, placed: _Placed, table: Table, fmt: Formatter) -> LineChart:
    # Leads dialled and the stages before the contract (contracts are too few to read).
    colours = (charts.BLUE, charts.TEAL, charts.ORANGE, charts.GREY, charts.PURPLE)
    lines = tuple(zip(("leads_dialed", *STAGE_NAMES[:-1]), colours, strict=True))
    return _line_chart(sheet, placed, table, fmt.label("trend"), lines)


def _profit_chart(sheet: Worksheet, placed: _Placed, table: Table, fmt: Formatter) -> LineChart:
    realised, expected = TREND_PROFIT
    lines = ((realised, charts.BLUE), (expected, charts.GREEN))
    chart = _line_chart(sheet, placed, table, fmt.label(realised), lines)
    chart.series[1].graphicalProperties.line.dashStyle = "dash"  # expected, as in the html
    chart.y_axis.number_format = _number_formats(fmt)["int"]
    return chart


def _line_chart(
    sheet: Worksheet,
    placed: _Placed,
    table: Table,
    title: str,
    lines: Sequence[tuple[str, str]],
) -> LineChart:
    """One line per (column key, colour), over the weeks in the first column."""
    chart = LineChart()
    chart.title = title
    for key, colour in lines:
        chart.add_data(placed.column_ref(sheet, _column(table, key)), titles_from_data=True)
        line = chart.series[-1].graphicalProperties.line
        line.solidFill = _rgb(colour)
        line.width = _LINE_WIDTH
    chart.set_categories(placed.column_ref(sheet, 1, with_header=False))
    _show_axes(chart)
    chart.legend = Legend(legendPos="b")
    return chart


def _rgb(colour: str) -> str:
    return colour.removeprefix("#").upper()


def _name_series(chart: BarChart, names: Sequence[str]) -> None:
    for series, name in zip(chart.series, names, strict=True):
        series.tx = SeriesLabel(v=name)


def _show_axes(chart: BarChart | LineChart) -> None:
    # openpyxl ≥ 3.1 hides both axes unless told otherwise; LibreOffice and Excel obey.
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.x_axis.tickLblPos = "low"  # categories below the plot, even under negative values
    if isinstance(chart, LineChart):
        for series in chart.series:
            series.smooth = False  # a curve would invent values between the weeks
