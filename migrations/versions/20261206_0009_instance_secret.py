"""Dashboard (issue 19): ``instance_secret``, secrets an installation makes for itself.

In development the dashboard signs its session cookies with a key it generates on first use and
keeps here, so sessions survive a restart and every process signs alike; production sets
``CALLFUNNEL_SECRET_KEY`` instead. Not a ``setting``: those are read back through the API.

Revision ID: 20261206_0009
Revises: 20261206_0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261206_0009"
down_revision: str | None = "20261206_0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "instance_secret",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_instance_secret")),
    )


def downgrade() -> None:
    op.drop_table("instance_secret")
