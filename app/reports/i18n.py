"""Words and number formats of the reports, in English (the default) and Russian.

English writes ``1,234,567.89 RUB``; Russian ``1 234 567,89 ₽`` with no-break spaces (U+00A0, the
CLDR group separator for ru) so that a number never wraps inside. Negative figures take a real
minus sign (U+2212), which lines up with the plus of a change.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, TypeAlias

from app.money import quantize_money

Lang: TypeAlias = Literal["en", "ru"]
LANGS: tuple[Lang, ...] = ("en", "ru")

NBSP = "\u00a0"
MINUS = "\u2212"
DASH = "—"

_LABELS: dict[str, tuple[str, str]] = {
    # the report and its sections
    "title": ("Weekly cold-call report", "Еженедельный отчёт по холодным звонкам"),
    "week": ("Week", "Неделя"),
    "as_of": ("Figures as of", "Данные на"),
    "timezone": ("time zone", "часовой пояс"),
    "previous_week": ("Previous week", "Прошлая неделя"),
    "vs_previous": ("vs last week", "к прошлой неделе"),
    "this_week": ("This week", "Эта неделя"),
    "change": ("Change", "Изменение"),
    "change_pct": ("Change, %", "Изменение, %"),
    "funnel": ("Funnel", "Воронка"),
    "money": ("Money", "Деньги"),
    "managers": ("Managers", "Менеджеры"),
    "cohorts": ("Cohorts", "Когорты"),
    "trend": ("8-week trend", "Динамика за 8 недель"),
    "call_times": ("When calls are answered", "Когда отвечают на звонки"),
    "losses": ("Why leads are lost", "Почему теряем лидов"),
    "step": ("Step", "Этап"),
    "count": ("Count", "Количество"),
    "conversion": ("Conversion", "Конверсия"),
    "previous_conversion": ("Conversion, previous week", "Конверсия, прошлая неделя"),
    "cumulative": ("Of leads dialled", "От обзвоненных лидов"),
    "figure": ("Figure", "Показатель"),
    # funnel steps
    "dials": ("Dials", "Звонки"),
    "leads_dialed": ("Leads dialled", "Лиды в обзвоне"),
    "reached": ("Reached", "Дозвон"),
    "conversation": ("First conversation", "Первый разговор"),
    "second_call": ("Second call", "Второй звонок"),
    "application": ("Application", "Заявка"),
    "contract": ("Contract", "Договор"),
    # money
    "cost": ("Cost", "Затраты"),
    "cost_per_dial": ("Cost per dial", "Стоимость звонка"),
    "margin": ("Margin", "Маржа"),
    "profit_per_call": ("Profit per call", "Прибыль на звонок"),
    "profit_per_application": ("Profit per application", "Прибыль на заявку"),
    "roi": ("ROI", "ROI"),
    # managers
    "manager": ("Manager", "Менеджер"),
    "their_leads": ("Their leads: the funnel", "Их лиды: воронка"),
    "their_calls": ("Calls they made", "Их звонки"),
    "calls": ("Calls", "Звонки"),
    "answered": ("Answered", "Отвечено"),
    "answer_rate": ("Answer rate", "Доля ответов"),
    "talk_time": ("Talk time", "Время разговоров"),
    "total": ("Total", "Итого"),
    "no_employee": ("(no employee)", "(без сотрудника)"),
    "managers_note": (
        "The funnel columns count the leads that belong to the manager (its owner, else whoever "
        "dialled it first), whoever called them; the call columns count the calls the manager "
        "made, to any lead.",
        "Колонки воронки считают лидов менеджера (он владелец или первым позвонил), кто бы им ни "
        "звонил; колонки звонков — звонки, которые сделал сам менеджер, любым лидам.",
    ),
    # cohorts
    "cohort_week": ("Cohort week", "Неделя когорты"),
    "first_day": ("First day", "Первый день"),
    "age_days": ("Age, days", "Возраст, дней"),
    "young": ("Young", "Молодая"),
    "yes": ("yes", "да"),
    "no": ("no", "нет"),
    "open_applications": ("Open applications", "Открытые заявки"),
    "expected_profit_per_call": ("Expected profit per call", "Ожидаемая прибыль на звонок"),
    "expected_profit_per_application": (
        "Expected profit per application",
        "Ожидаемая прибыль на заявку",
    ),
    "forecast_source": ("Forecast from", "Прогноз по"),
    "history": ("history", "истории"),
    "prior": ("prior", "априорным данным"),
    "realised": ("Realised", "Фактическая"),
    "expected": ("Expected", "Ожидаемая"),
    "leads_by_cohort": ("Leads of each cohort, by stage", "Лиды каждой когорты по этапам"),
    "cohorts_note": (
        "A cohort is the leads first dialled in one week, followed to today. It is young while "
        "under 28 days old or with open applications: its figures will still move.",
        "Когорта — лиды, которым впервые позвонили за неделю, и всё, что с ними случилось до "
        "сегодня. Молодая — моложе 28 дней или с открытыми заявками: цифры ещё изменятся.",
    ),
    # call times
    "hour": ("Hour", "Час"),
    "weekday": ("Weekday", "День недели"),
    "no_calls": ("no calls", "нет звонков"),
    "call_times_note": (
        "Share of calls answered, by local hour and weekday; the number is the calls made.",
        "Доля отвеченных звонков по часам и дням недели (местное время); число — звонков.",
    ),
    # losses
    "kind": ("Kind", "Вид"),
    "reason": ("Reason", "Причина"),
    "refusal": ("Refusal", "Отказ"),
    "lost_application": ("Lost application", "Проигранная заявка"),
    "no_reason": ("(no reason recorded)", "(причина не указана)"),
    "no_losses": ("No refusals or lost applications this week.", "Отказов и потерь нет."),
    "empty_week": ("No calls this week.", "За эту неделю звонков нет."),
    "footer": ("Generated by callfunnel", "Сформировано callfunnel"),
}

_WEEKDAYS = {
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    "ru": ("Пн", "Вт", "Ср", "Чт", "Пт", "Сб", "Вс"),
}
_MONTHS = {
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    "ru": (
        "января",
        "февраля",
        "марта",
        "апреля",
        "мая",
        "июня",
        "июля",
        "августа",
        "сентября",
        "октября",
        "ноября",
        "декабря",
    ),
}
_CURRENCY_SIGNS = {"ru": {"RUB": "₽"}, "en": {}}


def label(key: str, lang: Lang) -> str:
    english, russian = _LABELS[key]
    return russian if lang == "ru" else english


def weekday_name(iso_weekday: int, lang: Lang) -> str:
    return _WEEKDAYS[lang][iso_weekday - 1]


@dataclass(frozen=True, slots=True)
class Formatter:
    """Numbers as the reader of ``lang`` writes them; ``None`` (undefined) shows as a dash."""

    lang: Lang
    currency: str

    @property
    def currency_sign(self) -> str:
        return _CURRENCY_SIGNS[self.lang].get(self.currency, self.currency)

    def label(self, key: str) -> str:
        return label(key, self.lang)

    def number(self, value: Decimal | float | int | None, places: int = 0) -> str:
        if value is None:
            return DASH
        text = f"{abs(value):,.{places}f}"
        if self.lang == "ru":
            text = text.replace(",", NBSP).replace(".", ",")
        return (MINUS if value < 0 and text.strip("0.,") else "") + text

    def money(self, value: Decimal | None) -> str:
        if value is None:
            return DASH
        return f"{self.number(quantize_money(value), 2)}{NBSP}{self.currency_sign}"

    def percent(self, ratio: float | None, places: int = 1) -> str:
        if ratio is None:
            return DASH
        space = NBSP if self.lang == "ru" else ""
        return f"{self.number(ratio * 100, places)}{space}%"

    def points(self, change: float | None) -> str:
        """A change of a ratio, in percentage points: ``+3.2 pp``."""
        if change is None:
            return DASH
        unit = "п.\u00a0п." if self.lang == "ru" else "pp"
        return self.signed(f"{self.number(change * 100, 1)}{NBSP}{unit}", change)

    def signed(self, text: str, value: Decimal | float | int | None) -> str:
        """A change: ``+`` in front of a positive ``text`` (negatives carry their minus)."""
        return f"+{text}" if value is not None and value > 0 else text

    def duration(self, seconds: int) -> str:
        hours, rest = divmod(seconds, 3600)
        return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"

    def date(self, day: dt.date) -> str:
        return f"{day.day} {_MONTHS[self.lang][day.month - 1]} {day.year}"

    def day_range(self, first: dt.date, last: dt.date) -> str:
        if first.year == last.year and first.month == last.month:
            return f"{first.day}–{self.date(last)}"
        return f"{self.date(first)} – {self.date(last)}"
