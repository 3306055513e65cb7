"""Words and numbers in English and Russian."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from app.reports.i18n import _LABELS, Formatter, label, weekday_name

EN = Formatter("en", "RUB")
RU = Formatter("ru", "RUB")
NBSP = "\u00a0"


def test_money() -> None:
    assert EN.money(Decimal("1234567.891")) == f"1,234,567.89{NBSP}RUB"
    assert RU.money(Decimal("1234567.891")) == f"1{NBSP}234{NBSP}567,89{NBSP}₽"
    assert EN.money(Decimal("-24.135")) == f"−24.14{NBSP}RUB"  # half away from zero, a real minus
    assert RU.money(Decimal("-0.001")) == f"0,00{NBSP}₽"  # no "minus zero"
    assert Formatter("ru", "USD").money(Decimal(5)) == f"5,00{NBSP}USD"
    assert EN.money(None) == "—"


def test_other_numbers() -> None:
    assert EN.number(1234567) == "1,234,567"
    assert RU.number(1234567) == f"1{NBSP}234{NBSP}567"
    assert EN.percent(0.4567) == "45.7%"
    assert RU.percent(0.4567) == f"45,7{NBSP}%"
    assert RU.percent(None) == "—"
    assert EN.signed("3", 3) == "+3"
    assert EN.signed("−3", -3) == "−3"
    assert EN.signed("0", 0) == "0"
    assert EN.points(0.032) == f"+3.2{NBSP}pp"
    assert RU.points(-0.5) == f"−50,0{NBSP}п.{NBSP}п."
    assert EN.duration(3723) == "1:02:03"
    assert EN.duration(0) == "0:00:00"


def test_dates() -> None:
    assert EN.day_range(date(2026, 11, 16), date(2026, 11, 22)) == "16–22 Nov 2026"
    assert RU.day_range(date(2026, 11, 16), date(2026, 11, 22)) == "16–22 ноября 2026"
    assert RU.day_range(date(2026, 11, 30), date(2026, 12, 6)) == (
        "30 ноября 2026 – 6 декабря 2026"
    )


@pytest.mark.parametrize(
    ("key", "russian"),
    [
        ("funnel", "Воронка"),
        ("reached", "Дозвон"),
        ("conversation", "Первый разговор"),
        ("second_call", "Второй звонок"),
        ("application", "Заявка"),
        ("contract", "Договор"),
    ],
)
def test_russian_headings(key: str, russian: str) -> None:
    assert label(key, "ru") == russian


def test_every_label_has_both_languages() -> None:
    for english, russian in _LABELS.values():
        assert english
        assert russian
    assert (weekday_name(1, "en"), weekday_name(7, "ru")) == ("Mon", "Вс")
