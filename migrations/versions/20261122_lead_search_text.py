"""Lead search text: company and contact case-folded in Python, for q= over any alphabet.

Revision ID: 20261122_0002
Revises: 20261122_0001
Create Date: 2026-11-22 23:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261122_0002"
down_revision: str | None = "20261122_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("lead") as batch:
        batch.add_column(sa.Column("search_text", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("lead") as batch:
        batch.drop_column("search_text")
