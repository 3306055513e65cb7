"""A call's recording as an HTTP answer: the whole file, or the byte range a player asks for.

The one home of Range playback: the API (``/api/v1/calls/{id}/recording``, a bearer key) and the
dashboard (its session cookie) both answer with ``recording_response``, so seeking, ``If-Range``
and the 416 answer cannot differ between them.
"""

from __future__ import annotations

from fastapi import Response
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.service import Principal
from app.config import Settings
from app.errors import NotFound, problem_response
from app.recordings.ranges import RangeNotSatisfiable, requested_range
from app.recordings.service import recording_service
from app.recordings.worker import storage_for

CHUNK_BYTES = 256 * 1024


async def recording_response(
    session: AsyncSession,
    config: Settings,
    call_id: str,
    principal: Principal,
    *,
    range_header: str | None,
    if_range: str | None,
) -> Response:
    """The recording's audio (404 unless stored and readable); ``Range: bytes=…`` gives 206."""
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
    wanted = range_header if if_range in (None, etag) else None
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
