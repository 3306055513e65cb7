"""Asterisk/FreePBX CDR: the FreePBX sync's cursor per integration (issue 18).

Raw CDR rows live in ``webhook_event`` like webhook deliveries; only the sync's position is new.

Revision ID: 20261204_0006
Revises: 20261204_0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261204_0006"
down_revision: str | None = "20261204_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cdr_sync_cursor",
        sa.Column("integration_id", sa.String(length=64), nullable=False),
        sa.Column("last_calldate", sa.String(length=32), nullable=True),
        sa.Column("rows_read", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integration.id"],
            name=op.f("fk_cdr_sync_cursor_integration_id_integration"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("integration_id", name=op.f("pk_cdr_sync_cursor")),
    )


def downgrade() -> None:
    op.drop_table("cdr_sync_cursor")
