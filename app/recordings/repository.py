"""SQL of the recording job queue: claim due rows, record each result, expire old files."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.calls.models import Call
from app.db import affected_rows
from app.integrations.models import Integration
from app.recordings.models import Recording, RecordingStatus


@dataclass(frozen=True, slots=True)
class RecordingJob:
    """One claimed download: everything a fetcher needs, read in the claiming transaction."""

    id: str
    attempts: int  # after this claim; with the id it identifies the claim (see ``finish``)
    provider_ref: str
    source_url: str | None
    call_id: str
    provider_call_id: str
    provider: str
    config: dict[str, Any]
    integration_deleted: bool


class RecordingRepository:
    async def claim_due(
        self, session: AsyncSession, *, now: datetime, lease: timedelta, limit: int
    ) -> list[RecordingJob]:
        """Take up to ``limit`` due jobs for ``lease``; a claim that outlives it is due again.

        A claim moves ``next_attempt_at`` to the end of the lease, so "due" is one range scan
        of the (status, next_attempt_at) index for fresh jobs and abandoned claims alike: a
        worker killed mid-download leaves its row ``downloading`` and another takes it later.
        """
        due = (
            select(Recording.id)
            .where(
                Recording.status.in_([RecordingStatus.PENDING, RecordingStatus.DOWNLOADING]),
                Recording.next_attempt_at <= now,
            )
            .order_by(Recording.next_attempt_at)
            .limit(limit)
        )
        if session.get_bind().dialect.name == "postgresql":
            # Concurrent workers skip each other's rows instead of waiting on them; SQLite has
            # one writer at a time, so its claim transaction is already exclusive.
            due = due.with_for_update(skip_locked=True)
        ids = list((await session.execute(due)).scalars())
        if not ids:
            return []
        until = now + lease
        await session.execute(
            update(Recording)
            .where(Recording.id.in_(ids))
            .values(
                status=RecordingStatus.DOWNLOADING,
                attempts=Recording.attempts + 1,
                claimed_until=until,
                next_attempt_at=until,
                updated_at=now,
            )
        )
        rows = await session.execute(
            select(
                Recording.id,
                Recording.attempts,
                Recording.provider_ref,
                Recording.source_url,
                Call.id,
                Call.provider_call_id,
                Integration.provider,
                Integration.config,
                Integration.deleted_at.is_not(None),
            )
            .join(Call, Call.id == Recording.call_id)
            .join(Integration, Integration.id == Call.integration_id)
            .where(Recording.id.in_(ids))
            .order_by(Recording.next_attempt_at, Recording.id)
        )
        return [RecordingJob(*row) for row in rows]

    async def finish(
        self, session: AsyncSession, job: RecordingJob, *, now: datetime, **values: Any
    ) -> bool:
        """Write an attempt's result if the claim is still ours; False when it was lost.

        A claim is lost when this worker outlived its lease and another worker re-claimed the
        row (which bumped ``attempts``): the slower worker's result must not overwrite it.
        """
        result = await session.execute(
            update(Recording)
            .where(
                Recording.id == job.id,
                Recording.status == RecordingStatus.DOWNLOADING,
                Recording.attempts == job.attempts,
            )
            .values(claimed_until=None, updated_at=now, **values)
        )
        return affected_rows(result) == 1

    async def stored_before(
        self, session: AsyncSession, cutoff: datetime, *, limit: int
    ) -> Sequence[tuple[str, str]]:
        """(id, storage key) of stored recordings of calls that started before ``cutoff``."""
        rows = await session.execute(
            select(Recording.id, Recording.storage_key)
            .join(Call, Call.id == Recording.call_id)
            .where(
                Recording.status == RecordingStatus.STORED,
                Recording.storage_key.is_not(None),
                Call.started_at < cutoff,
            )
            .order_by(Recording.id)
            .limit(limit)
        )
        return [(row_id, key) for row_id, key in rows if key is not None]

    async def mark_expired(self, session: AsyncSession, ids: Sequence[str], now: datetime) -> None:
        # The row stays, so a replayed webhook cannot queue the deleted file for download again.
        await session.execute(
            update(Recording)
            .where(Recording.id.in_(ids))
            .values(status=RecordingStatus.EXPIRED, storage_key=None, updated_at=now)
        )

    async def requeue(self, session: AsyncSession, recording_id: str, now: datetime) -> bool:
        """A failed recording gets a fresh set of attempts, due now."""
        result = await session.execute(
            update(Recording)
            .where(Recording.id == recording_id, Recording.status == RecordingStatus.FAILED)
            .values(
                status=RecordingStatus.PENDING,
                attempts=0,
                next_attempt_at=now,
                last_error=None,
                updated_at=now,
            )
        )
        return affected_rows(result) == 1


recording_repository = RecordingRepository()
