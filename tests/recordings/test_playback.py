"""GET /calls/{id}/recording: the stored audio with byte ranges, under the call's visibility;
from the local folder and from an S3 bucket alike."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from httpx import AsyncClient
from sqlalchemy import update

from app.auth.roles import Role
from app.config import Settings
from app.db import Database
from app.recordings.models import Recording
from app.recordings.worker import storage_for
from tests.factories import bearer, make_key, settings_for
from tests.recordings.conftest import storage_overrides
from tests.recordings.support import make_employee, make_recording

AUDIO = bytes(range(256)) * 40  # 10,240 bytes


@pytest.fixture(params=["local", "s3"])
def settings(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> Settings:
    return settings_for(database_url, tmp_path, **storage_overrides(request, request.param))


async def stored_call(
    database: Database, settings: Settings, employee_id: str | None = None
) -> str:
    call_id, recording_id = await make_recording(database, employee_id=employee_id)
    storage = storage_for(settings)
    temp = storage.temp_path()
    temp.write_bytes(AUDIO)
    key = await storage.save(temp, extension="mp3")
    async with database.unit_of_work() as session:
        await session.execute(
            update(Recording)
            .where(Recording.id == recording_id)
            .values(
                status="stored",
                storage_key=key,
                content_type="audio/mpeg",
                size_bytes=len(AUDIO),
                sha256=hashlib.sha256(AUDIO).hexdigest(),
                duration_seconds=64,
            )
        )
    return call_id


async def test_whole_file_and_the_call_summary(
    client: AsyncClient, database: Database, settings: Settings, head: dict[str, str]
) -> None:
    call_id = await stored_call(database, settings)
    response = await client.get(f"/api/v1/calls/{call_id}/recording", headers=head)
    assert response.status_code == 200
    assert response.content == AUDIO
    assert response.headers["content-type"] == "audio/mpeg"
    assert response.headers["content-length"] == str(len(AUDIO))
    assert response.headers["accept-ranges"] == "bytes"
    call = (await client.get(f"/api/v1/calls/{call_id}", headers=head)).json()
    assert call["recording"]["status"] == "stored"
    assert call["recording"]["duration_seconds"] == 64
    assert call["recording"]["size_bytes"] == len(AUDIO)
    assert call["recording"]["url"] == f"/api/v1/calls/{call_id}/recording"


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-99", 0, 99),  # the first bytes
        ("bytes=5000-6023", 5000, 6023),  # the middle
        ("bytes=-1000", 9240, 10239),  # the last 1,000
        ("bytes=10000-", 10000, 10239),  # from an offset to the end
    ],
)
async def test_ranges_are_partial_content(
    client: AsyncClient,
    database: Database,
    settings: Settings,
    head: dict[str, str],
    header: str,
    start: int,
    end: int,
) -> None:
    call_id = await stored_call(database, settings)
    response = await client.get(
        f"/api/v1/calls/{call_id}/recording", headers={**head, "Range": header}
    )
    assert response.status_code == 206
    assert response.content == AUDIO[start : end + 1]
    assert response.headers["content-range"] == f"bytes {start}-{end}/{len(AUDIO)}"
    assert response.headers["content-length"] == str(end - start + 1)


@pytest.mark.parametrize("header", ["bytes=20000-", "bytes=99-10", "bytes=x-y", "lines=1-2"])
async def test_bad_ranges_are_416(
    client: AsyncClient, database: Database, settings: Settings, head: dict[str, str], header: str
) -> None:
    call_id = await stored_call(database, settings)
    response = await client.get(
        f"/api/v1/calls/{call_id}/recording", headers={**head, "Range": header}
    )
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{len(AUDIO)}"
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_stale_if_range_gets_the_whole_file(
    client: AsyncClient, database: Database, settings: Settings, head: dict[str, str]
) -> None:
    call_id = await stored_call(database, settings)
    url = f"/api/v1/calls/{call_id}/recording"
    etag = (await client.get(url, headers=head)).headers["etag"]
    fresh = await client.get(url, headers={**head, "Range": "bytes=0-9", "If-Range": etag})
    stale = await client.get(url, headers={**head, "Range": "bytes=0-9", "If-Range": '"other"'})
    assert (fresh.status_code, len(fresh.content)) == (206, 10)
    assert (stale.status_code, len(stale.content)) == (200, len(AUDIO))


async def test_not_stored_or_absent_is_404(
    client: AsyncClient, database: Database, head: dict[str, str]
) -> None:
    pending_call, _ = await make_recording(database)
    response = await client.get(f"/api/v1/calls/{pending_call}/recording", headers=head)
    assert response.status_code == 404
    assert "pending" in response.json()["detail"]
    missing = await client.get("/api/v1/calls/call_nope/recording", headers=head)
    assert missing.status_code == 404


async def test_a_manager_hears_only_its_own_calls(
    client: AsyncClient, database: Database, settings: Settings
) -> None:
    mine, theirs = await make_employee(database), await make_employee(database)
    manager = bearer(await make_key(database, Role.MANAGER, mine))
    own_call = await stored_call(database, settings, employee_id=mine)
    other_call = await stored_call(database, settings, employee_id=theirs)
    own = await client.get(f"/api/v1/calls/{own_call}/recording", headers=manager)
    other = await client.get(f"/api/v1/calls/{other_call}/recording", headers=manager)
    assert own.status_code == 200
    assert other.status_code == 404
    assert other.content != AUDIO


async def test_a_failed_recording_can_be_queued_again(
    client: AsyncClient, database: Database, head: dict[str, str]
) -> None:
    call_id, recording_id = await make_recording(database)
    url = f"/api/v1/calls/{call_id}/recording/retry"
    assert (await client.post(url, headers=head)).status_code == 409  # pending, not failed
    async with database.unit_of_work() as session:
        await session.execute(
            update(Recording)
            .where(Recording.id == recording_id)
            .values(status="failed", attempts=10, last_error="HTTP 403")
        )
    response = await client.post(url, headers=head)
    assert response.status_code == 200
    assert response.json()["status"] == "pending"
    assert response.json()["attempts"] == 0
    assert response.json()["error"] is None
    manager = bearer(await make_key(database, Role.MANAGER, await make_employee(database)))
    assert (await client.post(url, headers=manager)).status_code == 403
