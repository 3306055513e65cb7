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

from app.metrics.figures import FIGURES
from app.money import quantize_money

Lang: TypeAlias = Literal["en", "ru"]
LANGS: tuple[Lang, ...] = ("en", "ru")

NBSP = "\u00a0"
MINUS = "\u2212"
DASH = "—"

_WORDS: dict[str, tuple[str, str]] = {
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
    # managers
    "manager": ("Manager", "Менеджер"),
    "their_leads": ("Their leads: the funnel", "Их лиды: воронка"),
    "their_calls": ("Calls they made", "Их звонки"),
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
    # script quality (docs/script_quality.md)
    "script_quality": ("Script quality", "Качество скриптов"),
    "quality_none": ("No call of this week was scored.", "На этой неделе звонки не оценивали."),
    "quality_managers": ("Scores by manager", "Оценки по менеджерам"),
    "quality_scripts": ("Scores by script", "Оценки по скриптам"),
    "quality_criteria": ("Criteria: which ones matter", "Критерии: какие влияют на результат"),
    "quality_bands": ("How far the scored calls' leads got", "Куда дошли лиды оценённых звонков"),
    "quality_criteria_note": (
        "Stage 4 (an application) reached by the leads of calls that passed the criterion, "
        "against those that failed it; the difference is in percentage points.",
        "Доля лидов, дошедших до заявки (этап 4), среди звонков, где критерий выполнен, и где "
        "нет; разница — в процентных пунктах.",
    ),
    "quality_score": ("Script score", "Оценка скрипта"),
    "quality_scored_calls": ("Scored calls", "Оценено звонков"),
    "quality_evaluations": ("Evaluations", "Оценок"),
    "quality_calls_by_band": ("Calls by score", "Звонки по оценке"),
    "quality_excellent": ("Excellent", "Отлично"),
    "quality_good": ("Good", "Хорошо"),
    "quality_needs_work": ("Needs work", "Есть над чем работать"),
    "quality_poor": ("Poor", "Плохо"),
    "quality_critical_failed": ("Critical failures", "Критические ошибки"),
    "quality_script": ("Script", "Скрипт"),
    "quality_no_script": ("(no script)", "(без скрипта)"),
    "quality_criterion": ("Criterion", "Критерий"),
    "quality_key": ("Key", "Ключ"),
    "quality_weight": ("Weight", "Вес"),
    "quality_critical": ("Critical", "Критичный"),
    "quality_na": ("n/a", "н/п"),
    "quality_pass_rate": ("Pass rate", "Выполнен"),
    "quality_passed": ("Passed", "Выполнен"),
    "quality_failed": ("Failed", "Не выполнен"),
    "quality_calls_with_lead": ("Calls", "Звонков"),
    "quality_stage3": ("Reached stage 3", "Дошли до этапа 3"),
    "quality_stage3_rate": ("Stage 3 rate", "Доля этапа 3"),
    "quality_stage4": ("Reached stage 4", "Дошли до этапа 4"),
    "quality_stage4_rate": ("Stage 4 rate", "Доля этапа 4"),
    "quality_stage4_ci95": ("Stage 4 rate, 95 % interval", "Доля этапа 4, 95 % интервал"),
    "quality_low": ("from", "от"),
    "quality_high": ("to", "до"),
    "quality_difference": ("Difference", "Разница"),
    "quality_band": ("Score band", "Уровень оценки"),
    # missed calls and callbacks (docs/callbacks.md)
    "callbacks": ("Missed calls and callbacks", "Пропущенные звонки и перезвоны"),
    "callbacks_week": ("The week against the week before", "Неделя к прошлой неделе"),
    "callbacks_managers": ("Callbacks by manager", "Перезвоны по менеджерам"),
    "callbacks_hot_lost": (
        "Hot leads lost: they called, nobody reached them back in time",
        "Потерянные горячие лиды: звонили, им не перезвонили вовремя",
    ),
    "no_callbacks": ("No missed calls this week.", "Пропущенных звонков за неделю нет."),
    "callbacks_note": (
        "A case opens with a missed call and waits for the first reached call either way; it is "
        "lost after the window without one. The SLA clock counts working hours only.",
        "Случай открывается пропущенным звонком и ждёт первого разговора в любую сторону; без "
        "него после окна он потерян. Часы SLA считают только рабочее время.",
    ),
    "cb_missed_calls": ("Missed calls", "Пропущенные звонки"),
    "cb_short_abandoned": ("Short abandons", "Короткие сбросы"),
    "cb_cases": ("Callers waiting (cases)", "Ожидали звонка (случаи)"),
    "cb_out_of_hours": ("Out of hours", "В нерабочее время"),
    "cb_called_back": ("Called back", "Перезвонили"),
    "cb_contacted": ("Reached", "Дозвонились"),
    "cb_contacted_by_callback": ("Reached by our callback", "Дозвонились мы"),
    "cb_contacted_by_client": ("Client called again", "Клиент перезвонил сам"),
    "cb_lost": ("Lost", "Потеряны"),
    "cb_hot_lost": ("Hot leads lost", "Потеряно горячих"),
    "cb_pending": ("Still waiting", "Ещё ждут"),
    "cb_sla_met": ("Within the SLA", "В срок SLA"),
    "cb_sla_breached": ("SLA breached", "SLA нарушен"),
    "cb_within_sla_rate": ("Called back within the SLA", "Доля перезвонов в срок"),
    "cb_first_attempt_median": ("Time to call back, median", "Время до перезвона, медиана"),
    "cb_first_attempt_p90": ("Time to call back, p90", "Время до перезвона, p90"),
    "cb_contact_median": ("Time to reach, median", "Время до разговора, медиана"),
    "cb_contact_p90": ("Time to reach, p90", "Время до разговора, p90"),
    "cb_applications_after_contact": ("Applications after contact", "Заявки после разговора"),
    "cb_company": ("Company", "Компания"),
    "cb_phone": ("Phone", "Телефон"),
    "cb_opened_at": ("Called at (local time)", "Звонил (местное время)"),
    "cb_first_attempt_at": ("First callback attempt", "Первая попытка перезвона"),
    "cb_owner": ("Owner", "Ответственный"),
    "cb_never": ("never", "не было"),
    "empty_week": ("No calls this week.", "За эту неделю звонков нет."),
    "footer": ("Generated by callfunnel", "Сформировано callfunnel"),
}


def _labels() -> dict[str, tuple[str, str]]:
    """The report's own words, and every figure's (and stage's) labels from the figures table."""
    clash = _WORDS.keys() & FIGURES.keys()
    if clash:
        raise ValueError(f"labelled both here and in app/metrics/figures.py: {sorted(clash)}")
    return {**_WORDS, **{key: (row.en, row.ru) for key, row in FIGURES.items()}}


_LABELS = _labels()

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
