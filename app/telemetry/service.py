"""The figures ``/metrics`` reads from the database at each scrape."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.recordings.models import RecordingStatus
from app.telemetry.repository import telemetry_repository


@dataclass(frozen=True, slots=True)
class LiveFigures:
    recordings: Mapping[RecordingStatus, int]
    # How long the longest-waiting due download has waited (0 when none is due).
    oldest_due_recording_seconds: float
    failed_webhook_events: int
    # Since the least recently synced FreePBX integration last synced (None: no sync has run).
    cdr_sync_lag_seconds: float | None


def seconds_since(moment: datetime | None, now: datetime) -> float | None:
    return None if moment is None else max((now - moment).total_seconds(), 0.0)


class TelemetryService:
    async def live_figures(self, session: AsyncSession, *, now: datetime) -> LiveFigures:
        repository = telemetry_repository
        oldest_due = await repository.oldest_due_recording(session, now)
        return LiveFigures(
            recordings=await repository.recordings_by_status(session),
            oldest_due_recording_seconds=seconds_since(oldest_due, now) or 0.0,
            failed_webhook_events=await repository.failed_webhook_events(session),
            cdr_sync_lag_seconds=seconds_since(await repository.oldest_sync_cursor(session), now),
        )


telemetry_service = TelemetryService()
