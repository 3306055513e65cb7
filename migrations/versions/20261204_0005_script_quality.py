"""Script quality: checklists (one row per version), their criteria, evaluations of calls; and
the default checklist "Cold call — 17 criteria" (version 1) of docs/script_quality.md, so that a
new install can score calls at once.

The checklist's rows are written out here (a migration never imports the application, whose code
moves on); ``tests/quality/test_defaults.py`` checks them against ``app.quality.defaults``.

Revision ID: 20261204_0005
Revises: 20261204_0004
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "20261204_0005"
down_revision: str | None = "20261204_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHECKLIST_ID = "chk_cold_call_17"
SECTIONS = [
    {"key": "opening", "title": "Opening", "title_ru": "Начало разговора"},
    {"key": "presentation", "title": "Presentation", "title_ru": "Презентация"},
    {"key": "need", "title": "Need", "title_ru": "Выявление потребности"},
    {"key": "objections", "title": "Objections", "title_ru": "Возражения"},
    {"key": "closing", "title": "Closing", "title_ru": "Завершение"},
    {"key": "manner", "title": "Manner", "title_ru": "Манера общения"},
]
# (key, section, text, text_ru, weight, applies_to, critical)
CRITERIA = [
    (
        "greeting",
        "opening",
        "Greeted, introduced themself and the company by name",
        "Поздоровался, представился, назвал компанию",
        1,
        "any",
        False,
    ),
    (
        "decision_maker",
        "opening",
        "Reached the decision maker, or got their name and direct contact from the secretary",
        "Вышел на ЛПР или узнал у секретаря его имя и прямой контакт",
        2,
        "any",
        False,
    ),
    (
        "purpose",
        "opening",
        "Stated the purpose of the call within the first 30 seconds",
        "Обозначил цель звонка в первые 30 секунд",
        1,
        "any",
        False,
    ),
    (
        "convenience",
        "opening",
        "Asked whether it is convenient to talk; offered another time if not",
        "Уточнил, удобно ли говорить; предложил другое время",
        1,
        "any",
        False,
    ),
    (
        "company",
        "presentation",
        "Presented the company and its equipment briefly (under a minute)",
        "Кратко (до минуты) рассказал о компании и оборудовании",
        2,
        "first_call",
        False,
    ),
    (
        "relevance",
        "presentation",
        "Tied the offer to the client's industry and tasks",
        "Связал предложение с отраслью и задачами клиента",
        2,
        "first_call",
        False,
    ),
    (
        "proof",
        "presentation",
        "Named a concrete benefit or a reference customer",
        "Назвал конкретную выгоду или пример клиента",
        1,
        "first_call",
        False,
    ),
    (
        "open_questions",
        "need",
        "Asked open questions about current equipment and tasks",
        "Задавал открытые вопросы о текущем оборудовании и задачах",
        2,
        "second_call",
        False,
    ),
    (
        "need",
        "need",
        "Identified the need: what, how much, when, budget",
        "Выявил потребность: что, сколько, когда, бюджет",
        3,
        "second_call",
        False,
    ),
    (
        "decision_process",
        "need",
        "Found out how the decision is made and who takes part",
        "Выяснил, как принимается решение и кто участвует",
        2,
        "second_call",
        False,
    ),
    (
        "summary",
        "need",
        "Summed up what the client said and got agreement",
        "Резюмировал сказанное клиентом и получил подтверждение",
        1,
        "second_call",
        False,
    ),
    (
        "objections",
        "objections",
        "Answered objections with arguments, without arguing",
        "Отработал возражения аргументами, не споря",
        2,
        "any",
        False,
    ),
    (
        "listening",
        "objections",
        "Let the client speak; did not interrupt",
        "Давал клиенту говорить, не перебивал",
        1,
        "any",
        False,
    ),
    (
        "next_step",
        "closing",
        "Agreed a concrete next step with a date and time",
        "Договорился о следующем шаге с датой и временем",
        3,
        "any",
        False,
    ),
    (
        "application",
        "closing",
        "Formed an application or sent the proposal",
        "Сформировал заявку или отправил предложение",
        2,
        "second_call",
        False,
    ),
    (
        "contacts",
        "closing",
        "Confirmed the contact details (name, position, e-mail, phone)",
        "Подтвердил контакты (ФИО, должность, e-mail, телефон)",
        1,
        "any",
        False,
    ),
    (
        "courtesy",
        "manner",
        "Polite and correct throughout; no rudeness or pressure",
        "Вежлив и корректен, без грубости и давления",
        1,
        "any",
        True,
    ),
]


def upgrade() -> None:
    checklist = op.create_table(
        "checklist",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("family_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_ru", sa.String(length=200), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("sections", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checklist")),
        sa.UniqueConstraint("family_id", "version", name=op.f("uq_checklist_family_id_version")),
    )
    criterion = op.create_table(
        "checklist_criterion",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("checklist_id", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("section", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("text_ru", sa.Text(), nullable=True),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("critical", sa.Boolean(), nullable=False),
        sa.Column("applies_to", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["checklist_id"],
            ["checklist.id"],
            name=op.f("fk_checklist_criterion_checklist_id_checklist"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checklist_criterion")),
        sa.UniqueConstraint(
            "checklist_id", "key", name=op.f("uq_checklist_criterion_checklist_id_key")
        ),
        # A weight of 0 would make "applicable" criteria that weigh nothing.
        sa.CheckConstraint("weight >= 1", name=op.f("ck_checklist_criterion_weight_positive")),
    )
    op.create_table(
        "evaluation",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("call_id", sa.String(length=40), nullable=False),
        sa.Column("checklist_id", sa.String(length=40), nullable=False),
        sa.Column("family_id", sa.String(length=40), nullable=False),
        sa.Column("evaluator", sa.String(length=200), nullable=False),
        sa.Column("evaluator_employee_id", sa.String(length=40), nullable=True),
        sa.Column("evaluator_key_id", sa.String(length=40), nullable=True),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"], ["call.id"], name=op.f("fk_evaluation_call_id_call"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["checklist_id"],
            ["checklist.id"],
            name=op.f("fk_evaluation_checklist_id_checklist"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["evaluator_employee_id"],
            ["employee.id"],
            name=op.f("fk_evaluation_evaluator_employee_id_employee"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["evaluator_key_id"],
            ["api_key.id"],
            name=op.f("fk_evaluation_evaluator_key_id_api_key"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evaluation")),
        sa.UniqueConstraint(
            "call_id",
            "checklist_id",
            "evaluator",
            name=op.f("uq_evaluation_call_id_checklist_id_evaluator"),
        ),
    )
    op.create_index(op.f("ix_evaluation_family_id_call_id"), "evaluation", ["family_id", "call_id"])
    op.create_index(op.f("ix_evaluation_checklist_id"), "evaluation", ["checklist_id"])
    op.bulk_insert(
        checklist,
        [
            {
                "id": CHECKLIST_ID,
                "family_id": CHECKLIST_ID,
                "version": 1,
                "name": "Cold call — 17 criteria",
                "name_ru": "Холодный звонок — 17 критериев",
                "description": "The 17 quality criteria of the first-call and second-call scripts.",
                "sections": SECTIONS,
                "created_at": datetime(2026, 12, 4, tzinfo=UTC),
            }
        ],
    )
    op.bulk_insert(
        criterion,
        [
            {
                "checklist_id": CHECKLIST_ID,
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
                CRITERIA, start=1
            )
        ],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_evaluation_checklist_id"), table_name="evaluation")
    op.drop_index(op.f("ix_evaluation_family_id_call_id"), table_name="evaluation")
    op.drop_table("evaluation")
    op.drop_table("checklist_criterion")
    op.drop_table("checklist")
