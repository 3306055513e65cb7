"""Hardening (issue 14): at most one open application per lead, by a partial unique index.

Before the index exists, leads that a race already gave several open applications keep the
earliest one open; the later ones are closed as ``lost`` with the reason below, at their own
``created_at`` (so that no period gains a loss it did not have time for). Nothing is deleted: the
rows stay, readable, and can be reopened once the first is closed.

Revision ID: 20261204_0004
Revises: 20261204_0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261204_0004"
down_revision: str | None = "20261204_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "uq_application_open_lead"
DUPLICATE_REASON = "duplicate open application (closed by migration 20261204_0004)"


def _close_duplicates() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.text(
            "SELECT id, lead_id, created_at FROM application WHERE status = 'open' "
            "ORDER BY lead_id, created_at, id"
        )
    ).all()
    seen: set[str] = set()
    for application_id, lead_id, created_at in rows:
        if lead_id not in seen:
            seen.add(lead_id)
            continue
        connection.execute(
            sa.text(
                "UPDATE application SET status = 'lost', lost_reason = :reason, "
                "closed_at = :closed WHERE id = :id"
            ),
            {"reason": DUPLICATE_REASON, "closed": created_at, "id": application_id},
        )


def upgrade() -> None:
    _close_duplicates()
    op.create_index(
        INDEX,
        "application",
        ["lead_id"],
        unique=True,
        sqlite_where=sa.text("status = 'open'"),
        postgresql_where=sa.text("status = 'open'"),
    )


def downgrade() -> None:
    # The closed duplicates stay closed: which of them were open before cannot be told apart
    # from applications closed by hand with the same reason.
    op.drop_index(INDEX, table_name="application")
