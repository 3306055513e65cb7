"""The default checklist, "Cold call — 17 criteria" (version 1), as docs/script_quality.md gives it.

Migration ``20261204_0005`` inserts it with its own static copy of these rows (a migration never
imports the application); ``tests/quality/test_defaults.py`` keeps the two equal. The service also
inserts it at start-up when it is missing (a database emptied by hand, or made without Alembic),
under the same fixed id, so concurrent starts insert it once.
"""

from __future__ import annotations

from typing import Any

DEFAULT_CHECKLIST_ID = "chk_cold_call_17"
DEFAULT_CHECKLIST: dict[str, Any] = {
    "id": DEFAULT_CHECKLIST_ID,
    "family_id": DEFAULT_CHECKLIST_ID,
    "version": 1,
    "name": "Cold call — 17 criteria",
    "name_ru": "Холодный звонок — 17 критериев",
    "description": "The 17 quality criteria of the first-call and second-call scripts.",
    "sections": [
        {"key": "opening", "title": "Opening", "title_ru": "Начало разговора"},
        {"key": "presentation", "title": "Presentation", "title_ru": "Презентация"},
        {"key": "need", "title": "Need", "title_ru": "Выявление потребности"},
        {"key": "objections", "title": "Objections", "title_ru": "Возражения"},
        {"key": "closing", "title": "Closing", "title_ru": "Завершение"},
        {"key": "manner", "title": "Manner", "title_ru": "Манера общения"},
    ],
}

# (key, section, text, text_ru, weight, applies_to, critical)
DEFAULT_CRITERIA: tuple[tuple[str, str, str, str, int, str, bool], ...] = (
    ("greeting", "opening", "Greeted, introduced themself and the company by name",
     "Поздоровался, представился, назвал компанию", 1, "any", False),
    ("decision_maker", "opening",
     "Reached the decision maker, or got their name and direct contact from the secretary",
     "Вышел на ЛПР или узнал у секретаря его имя и прямой контакт", 2, "any", False),
    ("purpose", "opening", "Stated the purpose of the call within the first 30 seconds",
     "Обозначил цель звонка в первые 30 секунд", 1, "any", False),
    ("convenience", "opening",
     "Asked whether it is convenient to talk; offered another time if not",
     "Уточнил, удобно ли говорить; предложил другое время", 1, "any", False),
    ("company", "presentation", "Presented the company and its equipment briefly (under a minute)",
     "Кратко (до минуты) рассказал о компании и оборудовании", 2, "first_call", False),
    ("relevance", "presentation", "Tied the offer to the client's industry and tasks",
     "Связал предложение с отраслью и задачами клиента", 2, "first_call", False),
    ("proof", "presentation", "Named a concrete benefit or a reference customer",
     "Назвал конкретную выгоду или пример клиента", 1, "first_call", False),
    ("open_questions", "need", "Asked open questions about current equipment and tasks",
     "Задавал открытые вопросы о текущем оборудовании и задачах", 2, "second_call", False),
    ("need", "need", "Identified the need: what, how much, when, budget",
     "Выявил потребность: что, сколько, когда, бюджет", 3, "second_call", False),
    ("decision_process", "need", "Found out how the decision is made and who takes part",
     "Выяснил, как принимается решение и кто участвует", 2, "second_call", False),
    ("summary", "need", "Summed up what the client said and got agreement",
     "Резюмировал сказанное клиентом и получил подтверждение", 1, "second_call", False),
    ("objections", "objections", "Answered objections with arguments, without arguing",
     "Отработал возражения аргументами, не споря", 2, "any", False),
    ("listening", "objections", "Let the client speak; did not interrupt",
     "Давал клиенту говорить, не перебивал", 1, "any", False),
    ("next_step", "closing", "Agreed a concrete next step with a date and time",
     "Договорился о следующем шаге с датой и временем", 3, "any", False),
    ("application", "closing", "Formed an application or sent the proposal",
     "Сформировал заявку или отправил предложение", 2, "second_call", False),
    ("contacts", "closing", "Confirmed the contact details (name, position, e-mail, phone)",
     "Подтвердил контакты (ФИО, должность, e-mail, телефон)", 1, "any", False),
    ("courtesy", "manner", "Polite and correct throughout; no rudeness or pressure",
     "Вежлив и корректен, без грубости и давления", 1, "any", True),
)  # fmt: skip


def default_criteria_rows() -> list[dict[str, Any]]:
    return [
        {
            "checklist_id": DEFAULT_CHECKLIST_ID,
            "position": position,
            "key": key,
            "section": section,
            "text": text,
            "text_ru": text_ru,
            "weight": weight,
            "applies_to": applies_to,
            "critical": critical,
        }
        for position, (key, section, text, text_ru, weight, applies_to, critical) in enumerate(
            DEFAULT_CRITERIA, start=1
        )
    ]
