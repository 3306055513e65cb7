"""The inline SVG charts' arithmetic and escaping."""

from __future__ import annotations

import pytest

from app.reports import charts


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (0, 5, [0, 1, 2, 3, 4, 5]),
        (0, 123, [0, 25, 50, 75, 100, 125]),
        (-2100, 9207, [-2500, 0, 2500, 5000, 7500, 10000]),
        (0, 0, [0, 0.2, 0.4, 0.6, 0.8, 1]),
        (0, 2, [0, 0.5, 1, 1.5, 2]),
    ],
)
def test_nice_ticks(low: float, high: float, expected: list[float]) -> None:
    assert charts.nice_ticks(low, high) == expected


def test_counts_have_whole_ticks() -> None:
    assert charts.nice_ticks(0, 2, whole=True) == [0, 1, 2]
    assert charts.nice_ticks(0, 0, whole=True) == [0, 1]


def test_heat_colours_run_from_red_to_green() -> None:
    assert charts.heat_color(0.0) == "#f8696b"
    assert charts.heat_color(0.5) == "#ffeb84"
    assert charts.heat_color(1.0) == "#63be7b"


def test_text_is_escaped_and_gaps_stay_gaps() -> None:
    svg = charts.line_chart(
        ["W1", "W2", "W3"],
        [charts.Series("<x>", charts.BLUE, [1.0, None, 3.0])],
        title="a & b",
        value_label=str,
    )
    assert "&lt;x&gt;" in svg
    assert "<title>a &amp; b</title>" in svg
    assert svg.count("<polyline") == 2  # no line across the missing week
    bars = charts.diverging_bars([("<i>", -5.0, "−5"), ("ok", None, "—")], title="t")
    assert "&lt;i&gt;" in bars
    assert bars.count("<rect") == 1  # an undefined value has no bar
