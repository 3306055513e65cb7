"""Every finished call gets its end: ended_at = started_at + duration_seconds where none was stored.

Zadarma's END notifications carry the start and the talk time but no end, so until issue 12 its
calls were stored without ``ended_at``, and tagging such a call ``application`` dated the
application at the moment of tagging instead of the call's end. The merge now derives the end; this
migration does the same for the calls already stored, and moves the applications those calls
formed by their tag back to the call's end.

An application is taken as formed by the tag when its ``source_call_id`` is the call, the call's
outcome is ``application`` and the application is dated after the call's end (the tag dated it at
the moment of tagging, always later). Moving it earlier never puts it after its contract's
``signed_at`` or its ``closed_at``. The time arithmetic runs in Python, in batches, so that it is
the same on SQLite and PostgreSQL.

Revision ID: 20261204_0003
Revises: 20261122_0002
"""

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "20261204_0003"
down_revision: str | None = "20261122_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 500

# The call statuses after which a call is over (app.calls.events.TERMINAL_STATUSES, as of now).
_FINISHED = ("answered", "no_answer", "busy", "failed", "cancelled")


class _UTC(sa.types.TypeDecorator[datetime]):
    """As ``app.db.UTCDateTime``: SQLite keeps no offset, so values are UTC by convention."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_call = sa.table(
    "call",
    sa.column("id", sa.String),
    sa.column("status", sa.String),
    sa.column("outcome", sa.String),
    sa.column("started_at", _UTC()),
    sa.column("ended_at", _UTC()),
    sa.column("duration_seconds", sa.Integer),
)
_application = sa.table(
    "application",
    sa.column("id", sa.String),
    sa.column("source_call_id", sa.String),
    sa.column("created_at", _UTC()),
)


def _endless_calls(connection: sa.Connection) -> Iterator[list[sa.Row[Any]]]:
    """Finished calls with a start and a duration but no end, in batches by id."""
    after = ""
    while True:
        rows = connection.execute(
            sa.select(_call.c.id, _call.c.outcome, _call.c.started_at, _call.c.duration_seconds)
            .where(
                _call.c.ended_at.is_(None),
                _call.c.started_at.is_not(None),
                _call.c.duration_seconds.is_not(None),
                _call.c.status.in_(_FINISHED),
                _call.c.id > after,
            )
            .order_by(_call.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        yield list(rows)
        after = rows[-1].id


def upgrade() -> None:
    connection = op.get_bind()
    set_end = (
        sa.update(_call)
        .where(_call.c.id == sa.bindparam("call_id"), _call.c.ended_at.is_(None))
        .values(ended_at=sa.bindparam("end"))
    )
    redate = (
        sa.update(_application)
        .where(
            _application.c.source_call_id == sa.bindparam("call_id"),
            _application.c.created_at > sa.bindparam("end"),
        )
        .values(created_at=sa.bindparam("end"))
    )
    for rows in _endless_calls(connection):
        ends = [
            {"call_id": row.id, "end": row.started_at + timedelta(seconds=row.duration_seconds)}
            for row in rows
        ]
        connection.execute(set_end, ends)
        tagged = {row.id for row in rows if row.outcome == "application"}
        formed = [end for end in ends if end["call_id"] in tagged]
        if formed:
            connection.execute(redate, formed)


def downgrade() -> None:
    # A data repair: the ends it filled are what the merge now derives, and the applications' old
    # dates (the moment someone tagged the call) were wrong. Nothing to undo.
    pass
