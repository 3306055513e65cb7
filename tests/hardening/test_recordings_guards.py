"""F4.2 and F4.3: a malformed Location fails at once; a download has an overall deadline; one slow
host never holds back the other downloads."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from app.db import Database, utcnow
from app.recordings.download import RecordingDownloader, StoredRecording
from app.recordings.errors import RecordingFetchError
from app.recordings.models import RecordingStatus
from app.recordings.storage import LocalStorage
from app.recordings.worker import RecordingWorker
from app.webhooks.providers.base import ProviderConfig
from tests.recordings.support import make_recording, recording_row

AUDIO = b"ID3" + b"\x00" * 64


class SlowForOne:
    """Stores every recording at once, except ``slow``'s, which trickles until cancelled."""

    def __init__(self, storage: LocalStorage, slow: str) -> None:
        self.storage = storage
        self.slow = slow
        self.started: list[str] = []

    async def fetch(
        self,
        provider: str,
        config: ProviderConfig,
        *,
        provider_ref: str,
        source_url: str | None,
        provider_call_id: str,
    ) -> StoredRecording:
        self.started.append(provider_ref)
        if provider_ref == self.slow:
            await asyncio.sleep(3600)
        temp = self.storage.temp_path()
        temp.write_bytes(AUDIO)
        key = await self.storage.save(temp, extension="mp3")
        return StoredRecording(
            key, "audio/mpeg", len(AUDIO), hashlib.sha256(AUDIO).hexdigest(), None
        )


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "recordings")


def _worker(
    database: Database, storage: LocalStorage, fetcher: SlowForOne, **kw: float
) -> RecordingWorker:
    return RecordingWorker(
        database,
        storage,
        fetcher,
        batch_size=2,
        lease=timedelta(minutes=15),
        poll_interval=0.01,
        clock=utcnow,
        **kw,  # type: ignore[arg-type]
    )


async def test_a_slow_host_holds_one_slot_not_the_worker(
    database: Database, storage: LocalStorage
) -> None:
    _, slow_id = await make_recording(database)
    others = [(await make_recording(database))[1] for _ in range(4)]
    fetcher = SlowForOne(storage, f"ref-{slow_id}")
    worker = _worker(database, storage, fetcher)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        for _ in range(300):
            rows = [await recording_row(database, rid) for rid in others]
            if all(row.status == RecordingStatus.STORED for row in rows):
                break
            await asyncio.sleep(0.02)
        # With batch 2 and one slot stuck, the other four still went through the free one.
        assert [row.status for row in rows] == [RecordingStatus.STORED] * 4
        assert (await recording_row(database, slow_id)).status == RecordingStatus.DOWNLOADING
    finally:
        stop.set()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_a_download_past_its_deadline_is_retried_later(
    database: Database, storage: LocalStorage
) -> None:
    _, slow_id = await make_recording(database)
    worker = _worker(database, storage, SlowForOne(storage, f"ref-{slow_id}"), deadline_seconds=0.2)
    assert await asyncio.wait_for(worker.run_once(), 5) == 1
    row = await recording_row(database, slow_id)
    assert row.status == RecordingStatus.PENDING
    assert "longer than 0.2 s" in (row.last_error or "")


async def test_a_malformed_location_fails_at_once(storage: LocalStorage) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"location": "https://[::1/ok"})

    async def public(host: str, port: int) -> list[str]:
        return ["93.184.216.34"]

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
        downloader = RecordingDownloader(
            client, storage, max_bytes=1 << 20, allow_private_hosts=False, resolver=public
        )
        from app.webhooks.providers.generic import GenericConfig

        config = GenericConfig.model_validate(
            {"secret": "s", "recording_hosts": ["recordings.example.com"]}
        )
        with pytest.raises(RecordingFetchError) as raised:
            await downloader.fetch(
                "generic",
                config,
                provider_ref="r",
                source_url="https://recordings.example.com/1.mp3",
                provider_call_id="c",
            )
    assert raised.value.retryable is False
    assert "invalid URL" in raised.value.message
