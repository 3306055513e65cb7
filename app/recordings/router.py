"""``/calls/{id}/recording``: the audio, streamed with byte ranges, for whoever may see the call."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response
from fastapi.responses import StreamingResponse

from app.auth.dependencies import CurrentPrincipal, WriterPrincipal
from app.calls.schemas import RecordingSummary
from app.config import SettingsDep
from app.db import SessionDep
from app.errors import NotFound, problem_response
from app.recordings.ranges import RangeNotSatisfiable, requested_range
from app.recordings.service import recording_service
from app.recordings.worker import storage_for

router = APIRouter(prefix="/calls", tags=["recordings"])

CHUNK_BYTES = 256 * 1024


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
    recording = await recording_service.playable(session, call_id, principal)
    assert recording.storage_key is not None
    storage = storage_for(config)
    key = recording.storage_key
    if not await storage.exists(key):
        raise NotFound(f"the recording file of call {call_id} is missing")
    size = await storage.size(key)
    etag = f'"{recording.sha256}"'
    headers = {
        "Accept-Ranges": "bytes",
        "ETag": etag,
        "Cache-Control": "private, max-age=3600",
        "Content-Disposition": f'inline; filename="{call_id}.{key.rsplit(".", 1)[-1]}"',
    }
    # A range of a file the client no longer has (If-Range names another version) is meaningless.
    wanted = range_ if if_range in (None, etag) else None
    try:
        part = requested_range(wanted, size)
    except RangeNotSatisfiable:
        return problem_response(
            416,
            f"the range lies outside the file ({size} bytes)",
            headers={"Content-Range": f"bytes */{size}"},
        )
    media_type = recording.content_type or "application/octet-stream"
    if part is None:
        return StreamingResponse(
            storage.read_range(key, 0, size - 1, CHUNK_BYTES),
            media_type=media_type,
            headers={**headers, "Content-Length": str(size)},
        )
    return StreamingResponse(
        storage.read_range(key, part.start, part.end, CHUNK_BYTES),
        status_code=206,
        media_type=media_type,
        headers={
            **headers,
            "Content-Length": str(part.length),
            "Content-Range": part.content_range(size),
        },
    )


@router.post("/{call_id}/recording/retry")
async def retry_recording(
    call_id: str, session: SessionDep, principal: WriterPrincipal
) -> RecordingSummary:
    """Queue a failed download again with a fresh set of attempts."""
    recording = await recording_service.retry(session, call_id, principal)
    return RecordingSummary.of(recording)
