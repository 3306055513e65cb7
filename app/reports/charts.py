"""Inline SVG charts for the html report: drawn here, so the page needs nothing from outside.

Each function returns one ``<svg>`` element sized by its ``viewBox`` (it scales to the page and
prints sharply), with a ``<title>`` for screen readers. Text is escaped; colours come from one
palette that also reads in greyscale print (the bars differ in shade, not only in hue).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

BLUE = "#2563eb"
LIGHT_BLUE = "#bfdbfe"
GREEN = "#16a34a"
RED = "#dc2626"
GREY = "#9ca3af"
ORANGE = "#ea580c"
PURPLE = "#7c3aed"
TEAL = "#0d9488"
EMPTY = "#f3f4f6"
INK = "#111827"
MUTED = "#6b7280"
GRID = "#e5e7eb"
WIDTH = 720
_LABEL_WIDTH = 170
_VALUE_WIDTH = 150
_LEGEND_LINE = 18


def _svg(width: int, height: float, title: str, body: Sequence[str]) -> Markup:
    svg = (
        # Natural size, shrunk by the page's CSS where it must: text keeps its size.
        f'<svg width="{width}" height="{height:.0f}" viewBox="0 0 {width} {height:.0f}" '
        f'class="chart" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )
    return Markup(svg)  # noqa: S704  # every piece of text in it went through escape()


def _text(x: float, y: float, text: str, *, anchor: str = "start", **style: str) -> str:
    extra = "".join(f' {name.replace("_", "-")}="{value}"' for name, value in style.items())
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{extra}>{escape(text)}</text>'


def _rect(x: float, y: float, width: float, height: float, fill: str, **style: str) -> str:
    extra = "".join(f' {name.replace("_", "-")}="{value}"' for name, value in style.items())
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(width, 0):.1f}" height="{height:.1f}" '
        f'fill="{fill}"{extra}/>'
    )


def _legend(
    x: float, y: float, items: Sequence[tuple[str, str]], right: float = WIDTH
) -> tuple[list[str], int]:
    """Coloured keys from (x, y), wrapping before ``right``; the parts and the lines used."""
    parts, start, lines = [], x, 1
    for name, color in items:
        width = 32 + 7.5 * len(name)  # about the width of 12px text
        if x > start and x + width > right:
            x, y, lines = start, y + _LEGEND_LINE, lines + 1
        parts.append(_rect(x, y - 9, 12, 12, color, rx="2"))
        parts.append(_text(x + 17, y + 1, name, font_size="12", fill=MUTED))
        x += width
    return parts, lines


# --------------------------------------------------------------------------- funnel


@dataclass(frozen=True, slots=True)
class FunnelBar:
    label: str
    count: int
    previous: int
    note: str  # the value as shown, with its conversion


def funnel_chart(
    bars: Sequence[FunnelBar], *, title: str, this_week: str, previous_week: str
) -> Markup:
    """This week's bar for each step, last week's as a thin bar beneath it."""
    row = 38
    top = 30
    plot = WIDTH - _LABEL_WIDTH - _VALUE_WIDTH
    scale = plot / max([1, *(b.count for b in bars), *(b.previous for b in bars)])
    body, _ = _legend(_LABEL_WIDTH, 14, ((this_week, BLUE), (previous_week, GREY)))
    for index, bar in enumerate(bars):
        y = top + index * row
        body += [
            _text(_LABEL_WIDTH - 10, y + 15, bar.label, anchor="end", font_size="13", fill=INK),
            _rect(_LABEL_WIDTH, y, plot, 20, EMPTY),
            _rect(_LABEL_WIDTH, y, bar.count * scale, 20, BLUE, rx="2"),
            _rect(_LABEL_WIDTH, y + 23, bar.previous * scale, 5, GREY, rx="1"),
            _text(_LABEL_WIDTH + plot + 10, y + 15, bar.note, font_size="13", fill=INK),
        ]
    return _svg(WIDTH, top + len(bars) * row + 4, title, body)


# --------------------------------------------------------------------------- diverging bars


def diverging_bars(bars: Sequence[tuple[str, float | None, str]], *, title: str) -> Markup:
    """One bar per (label, value, value as shown) from a zero line: green above, red below."""
    row = 30
    top = 8
    plot = WIDTH - _LABEL_WIDTH - _VALUE_WIDTH
    values = [value for _, value, _ in bars if value is not None]
    low, high = min([0.0, *values]), max([0.0, *values])
    span = (high - low) or 1.0
    zero = _LABEL_WIDTH + plot * (-low / span)
    body = []
    for index, (name, value, shown) in enumerate(bars):
        y = top + index * row
        body.append(_text(_LABEL_WIDTH - 10, y + 15, name, anchor="end", font_size="13", fill=INK))
        if value is not None:
            width = plot * abs(value) / span
            x = zero if value >= 0 else zero - width
            body.append(_rect(x, y + 2, width, 18, GREEN if value >= 0 else RED, rx="2"))
        body.append(_text(_LABEL_WIDTH + plot + 10, y + 15, shown, font_size="13", fill=INK))
    height = top + len(bars) * row
    body.append(f'<line x1="{zero:.1f}" y1="2" x2="{zero:.1f}" y2="{height:.1f}" stroke="{INK}"/>')
    return _svg(WIDTH, height + 6, title, body)


# --------------------------------------------------------------------------- lines


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    color: str
    values: Sequence[float | None]  # one per category; None leaves a gap
    dashed: bool = False


def nice_ticks(low: float, high: float, count: int = 5, *, whole: bool = False) -> list[float]:
    """Round axis values covering [low, high]: steps of 1, 2, 2.5 or 5 times a power of ten,
    and at least 1 when the values are ``whole`` numbers (counts)."""
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    if whole:
        step = max(step, 1)
    first, last = math.floor(low / step), math.ceil(high / step)
    return [round(k * step, 10) for k in range(first, last + 1)]


def line_chart(
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    value_label: Callable[[float], str],
    width: int = WIDTH,
    height: int = 280,
) -> Markup:
    left, right, bottom = 90, 16, 40
    body, lines = _legend(left, 14, [(s.name, s.color) for s in series], width - right)
    top = 20 + _LEGEND_LINE * lines
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for s in series for v in s.values if v is not None]
    # Whole steps: the axis shows counts and whole roubles, never 0.2 of a lead.
    ticks = nice_ticks(min([0.0, *values]), max([0.0, *values]), whole=True)
    low, high = ticks[0], ticks[-1]

    def y_of(value: float) -> float:
        return top + plot_h * (high - value) / (high - low)

    def x_of(index: int) -> float:
        return left + plot_w * (index + 0.5) / max(len(categories), 1)

    for tick in ticks:
        y = y_of(tick)
        stroke = INK if tick == 0 else GRID
        body.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="{stroke}"/>'
        )
        body.append(_text(left - 8, y + 4, value_label(tick), anchor="end", font_size="11"))
    for index, category in enumerate(categories):
        body.append(
            _text(x_of(index), height - bottom + 18, category, anchor="middle", font_size="11")
        )
    for line in series:
        dash = ' stroke-dasharray="6 4"' if line.dashed else ""
        for run in _runs(line.values):
            points = " ".join(f"{x_of(i):.1f},{y_of(v):.1f}" for i, v in run)
            body.append(
                f'<polyline points="{points}" fill="none" stroke="{line.color}" '
                f'stroke-width="2.5"{dash}/>'
            )
            body += [
                f'<circle cx="{x_of(i):.1f}" cy="{y_of(v):.1f}" r="3.5" fill="{line.color}"/>'
                for i, v in run
            ]
    return _svg(width, height, title, body)


def _runs(values: Sequence[float | None]) -> list[list[tuple[int, float]]]:
    """Consecutive known values: a line is not drawn across a gap."""
    runs: list[list[tuple[int, float]]] = [[]]
    for index, value in enumerate(values):
        if value is None:
            runs.append([])
        else:
            runs[-1].append((index, value))
    return [run for run in runs if run]


# --------------------------------------------------------------------------- heat map


@dataclass(frozen=True, slots=True)
class HeatRow:
    label: str
    cells: Sequence[tuple[float | None, int]]  # (answer rate, calls) per hour


HEAT_STOPS = ((0.0, "#f8696b"), (0.5, "#ffeb84"), (1.0, "#63be7b"))
"""Answer rate → colour: red (none answered) through yellow to green (all); xlsx uses them too."""


def heat_color(rate: float) -> str:
    for (at, start), (until, end) in itertools.pairwise(HEAT_STOPS):
        if rate <= until:
            share = (rate - at) / (until - at)
            channels = (
                round(a + (b - a) * share)
                for a, b in zip(_channels(start), _channels(end), strict=True)
            )
            return "#" + "".join(f"{channel:02x}" for channel in channels)
    return HEAT_STOPS[-1][1]


def _channels(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def heat_map(
    hours: Sequence[int],
    rows: Sequence[HeatRow],
    *,
    title: str,
    no_calls: str,
    percent: Callable[[float], str],
) -> Markup:
    left, top, cell_w, cell_h = 50, 24, min(52, (WIDTH - 60) // max(len(hours), 1)), 34
    width = left + cell_w * len(hours) + 10
    body = []
    for index, hour in enumerate(hours):
        x = left + index * cell_w + cell_w / 2
        body.append(_text(x, top - 8, f"{hour:02d}", anchor="middle", font_size="12", fill=MUTED))
    for row_index, row in enumerate(rows):
        y = top + row_index * cell_h
        body.append(_text(left - 8, y + 22, row.label, anchor="end", font_size="13", fill=INK))
        for index, (rate, calls) in enumerate(row.cells):
            x = left + index * cell_w
            fill = EMPTY if rate is None else heat_color(rate)
            body.append(_rect(x + 1, y + 1, cell_w - 2, cell_h - 2, fill, rx="3"))
            if calls:
                body.append(
                    _text(x + cell_w / 2, y + 22, str(calls), anchor="middle", font_size="12")
                )
    legend_y = top + len(rows) * cell_h + 14
    body += [
        _rect(left, legend_y, 12, 12, EMPTY, rx="2"),
        _text(left + 17, legend_y + 10, no_calls, font_size="11", fill=MUTED),
    ]
    x = left + 40 + 7 * len(no_calls)
    for share in range(11):
        body.append(_rect(x + share * 14, legend_y, 14, 12, heat_color(share / 10)))
    body += [
        _text(x, legend_y + 26, percent(0.0), font_size="10", fill=MUTED),
        _text(x + 154, legend_y + 26, percent(1.0), anchor="end", font_size="10", fill=MUTED),
    ]
    return _svg(width, legend_y + 32, title, body)
