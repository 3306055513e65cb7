"""Callbacks (issue 16): a partial index of unanswered inbound calls by start.

The callback figures of a period start from the leads with an unanswered inbound call in it
(``app.callbacks.queries.touched_leads``, and again for each window they reach back). Without the
index each of those scans reads every call of the period; unanswered inbound calls are a few
percent of them. ``lead_id`` is in the index so that PostgreSQL answers from it alone.

Revision ID: 20261204_0007
Revises: 20261204_0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261204_0007"
down_revision: str | None = "20261204_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_call_unanswered_inbound"
# The same text as app.calls.models.UNANSWERED_INBOUND_SQL (a migration does not import the app).
WHERE = "direction = 'inbound' AND status IN ('busy', 'cancelled', 'failed', 'no_answer')"


def upgrade() -> None:
    op.create_index(
        INDEX,
        "call",
        ["started_at", "lead_id"],
        sqlite_where=sa.text(WHERE),
        postgresql_where=sa.text(WHERE),
    )


def downgrade() -> None:
    # IF EXISTS: databases migrated while this revision was still an empty placeholder are at
    # this revision without the index.
    op.drop_index(INDEX, table_name="call", if_exists=True)
