"""``/calls/{id}/recording``: the audio, streamed with byte ranges, for whoever may see the call."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response
from fastapi.responses import StreamingResponse

from app.auth.dependencies import CurrentPrincipal, WriterPrincipal
from app.calls.schemas import RecordingSummary
from app.config import SettingsDep
from app.db import SessionDep
from app.recordings.playback import recording_response
from app.recordings.service import recording_service

router = APIRouter(prefix="/calls", tags=["recordings"])


@router.get(
    "/{call_id}/recording",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"audio/mpeg": {}}, "description": "The whole file."},
        206: {"description": "The requested byte range."},
        404: {"description": "No such call, or its recording is not stored (yet)."},
        416: {"description": "The range lies outside the file."},
    },
)
async def play_recording(
    call_id: str,
    session: SessionDep,
    config: SettingsDep,
    principal: CurrentPrincipal,
    range_: Annotated[str | None, Header(alias="range")] = None,
    if_range: Annotated[str | None, Header()] = None,
) -> Response:
    """The recording's audio; ``Range: bytes=…`` gives 206 so players can seek."""
    return await recording_response(
        session, config, call_id, principal, range_header=range_, if_range=if_range
    )


@router.post("/{call_id}/recording/retry")
async def retry_recording(
    call_id: str, session: SessionDep, principal: WriterPrincipal
) -> RecordingSummary:
    """Queue a failed download again with a fresh set of attempts."""
    recording = await recording_service.retry(session, call_id, principal)
    return RecordingSummary.of(recording)
