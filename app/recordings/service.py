"""Playback and re-queueing of recordings, under the same visibility rules as their calls."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.service import Principal
from app.calls.repository import call_repository
from app.calls.service import call_service
from app.db import utcnow
from app.errors import Conflict, NotFound
from app.recordings.models import Recording, RecordingStatus
from app.recordings.repository import recording_repository


class RecordingService:
    async def of_call(self, session: AsyncSession, call_id: str, principal: Principal) -> Recording:
        """The call's recording whatever its state; 404 when the caller may not see the call."""
        call = await call_service.get_visible(session, call_id, principal)
        recording = (await call_repository.recordings_of(session, [call.id])).get(call.id)
        if recording is None:
            raise NotFound(f"call {call_id} has no recording")
        return recording

    async def playable(
        self, session: AsyncSession, call_id: str, principal: Principal
    ) -> Recording:
        recording = await self.of_call(session, call_id, principal)
        if recording.status != RecordingStatus.STORED or recording.storage_key is None:
            raise NotFound(f"the recording of call {call_id} is {recording.status}, not stored")
        return recording

    async def retry(self, session: AsyncSession, call_id: str, principal: Principal) -> Recording:
        """Give a failed download a fresh set of attempts (after fixing credentials, say)."""
        recording = await self.of_call(session, call_id, principal)
        if not await recording_repository.requeue(session, recording.id, utcnow()):
            raise Conflict(f"the recording is {recording.status}; only a failed one is retried")
        await session.refresh(recording)
        return recording


recording_service = RecordingService()
