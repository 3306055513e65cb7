"""Kept evidence (issue 15): one row per lead of what the funnel derives from its calls.

The rows are recomputed from the calls by the application in the transaction of every write that
changes them (``app.metrics.evidence``); a migration never imports the application, so this one
creates the table empty: a database that already holds calls fills it once with
``callfunnel evidence rebuild`` (docs/metrics.md → Kept evidence).

Revision ID: 20261206_0008
Revises: 20261204_0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261206_0008"
down_revision: str | None = "20261204_0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lead_evidence",
        sa.Column("lead_id", sa.String(length=40), nullable=False),
        sa.Column("first_dial_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("conversation_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("second_call_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_call_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_dialler", sa.String(length=40), nullable=True),
        sa.Column("script_id", sa.String(length=40), nullable=True),
        sa.Column("dials", sa.BigInteger(), nullable=False),
        sa.Column("talk_seconds", sa.BigInteger(), nullable=False),
        sa.Column("billable_minutes", sa.BigInteger(), nullable=False),
        sa.Column("labour", sa.BigInteger(), nullable=False),
        sa.Column("busy_seconds", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["lead.id"],
            name=op.f("fk_lead_evidence_lead_id_lead"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["first_dialler"],
            ["employee.id"],
            name=op.f("fk_lead_evidence_first_dialler_employee"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["script_id"],
            ["script.id"],
            name=op.f("fk_lead_evidence_script_id_script"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("lead_id", name=op.f("pk_lead_evidence")),
    )
    op.create_index(
        op.f("ix_lead_evidence_first_dial_at"), "lead_evidence", ["first_dial_at"], unique=False
    )
    op.create_index(
        op.f("ix_lead_evidence_last_call_at"), "lead_evidence", ["last_call_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_lead_evidence_last_call_at"), table_name="lead_evidence")
    op.drop_index(op.f("ix_lead_evidence_first_dial_at"), table_name="lead_evidence")
    op.drop_table("lead_evidence")
