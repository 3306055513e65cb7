"""What ``/metrics`` reads from the database when scraped: the state of queues, not events.

Each is one indexed aggregate, cheap at a scrape every 15 s: the recording queue by
``(status, next_attempt_at)``, failed events by ``(status, received_at)``, and the sync cursors
(one row per FreePBX integration).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.cdr.models import CdrSyncCursor
from app.integrations.models import Integration
from app.recordings.models import Recording, RecordingStatus
from app.webhooks.models import WebhookEvent, WebhookEventStatus


class TelemetryRepository:
    async def recordings_by_status(self, session: AsyncSession) -> dict[RecordingStatus, int]:
        rows = await session.execute(
            select(Recording.status, func.count()).group_by(Recording.status)
        )
        counts = dict.fromkeys(RecordingStatus, 0)
        for status, count in rows:
            counts[status] = count
        return counts

    async def oldest_due_recording(self, session: AsyncSession, now: datetime) -> datetime | None:
        """When the longest-waiting download became due (None: nothing is due)."""
        return await session.scalar(
            select(func.min(Recording.next_attempt_at)).where(
                Recording.status == RecordingStatus.PENDING, Recording.next_attempt_at <= now
            )
        )

    async def failed_webhook_events(self, session: AsyncSession) -> int:
        count = await session.scalar(
            select(func.count())
            .select_from(WebhookEvent)
            .where(WebhookEvent.status == WebhookEventStatus.FAILED)
        )
        return count or 0

    async def oldest_sync_cursor(self, session: AsyncSession) -> datetime | None:
        """When the least recently synced live integration's cursor last moved."""
        return await session.scalar(
            select(func.min(CdrSyncCursor.updated_at))
            .join(Integration, Integration.id == CdrSyncCursor.integration_id)
            .where(Integration.deleted_at.is_(None))
        )


telemetry_repository = TelemetryRepository()
