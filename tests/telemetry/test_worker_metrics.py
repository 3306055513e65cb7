"""The recording worker counts its downloads and why they failed (the queue is read from the
database, so its gauges are checked with the endpoint)."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

from app.db import Database, utcnow
from app.recordings.download import StoredRecording
from app.recordings.errors import RecordingFetchError
from app.recordings.storage import LocalStorage
from app.recordings.worker import RecordingWorker
from app.telemetry.exposition import exposition
from app.webhooks.providers.base import ProviderConfig
from tests.recordings.support import make_recording, recording_row
from tests.telemetry.support import Samples, moved

AUDIO = b"ID3" + bytes(range(256)) * 8
FAILURES = "callfunnel_recording_download_failures_total"


class ScriptedFetcher:
    """Raises what ``outcomes`` says for a recording, or stores AUDIO."""

    def __init__(self, storage: LocalStorage, outcomes: dict[str, Exception]) -> None:
        self.storage = storage
        self.outcomes = outcomes

    async def fetch(
        self,
        provider: str,
        config: ProviderConfig,
        *,
        provider_ref: str,
        source_url: str | None,
        provider_call_id: str,
    ) -> StoredRecording:
        outcome = self.outcomes.get(provider_ref)
        if outcome is not None:
            raise outcome
        temp = self.storage.temp_path()
        temp.write_bytes(AUDIO)
        return StoredRecording(
            storage_key=await self.storage.save(temp, extension="mp3"),
            content_type="audio/mpeg",
            size_bytes=len(AUDIO),
            sha256=hashlib.sha256(AUDIO).hexdigest(),
        )


def _samples() -> Samples:
    return Samples(exposition(None).decode())


async def test_downloads_and_failures_by_reason(database: Database, tmp_path: Path) -> None:
    refs = {}
    for name in ("stored", "refused", "transient", "crashed"):
        _, recording_id = await make_recording(database)
        refs[name] = (await recording_row(database, recording_id)).provider_ref
    storage = LocalStorage(tmp_path / "recordings")
    fetcher = ScriptedFetcher(
        storage,
        {
            refs["refused"]: RecordingFetchError("HTTP 403", retryable=False),
            refs["transient"]: RecordingFetchError("HTTP 503", retryable=True),
            refs["crashed"]: ZeroDivisionError("a bug"),
        },
    )
    worker = RecordingWorker(
        database,
        storage,
        fetcher,
        batch_size=4,
        lease=timedelta(minutes=15),
        poll_interval=0.01,
        clock=utcnow,
    )
    before = _samples()
    assert await worker.run_once() == 4
    after = _samples()
    assert moved(before, after, "callfunnel_recording_downloads_total") == 1
    # A 403 is final at once; a 503 and a crash are retried later (the default allows 5).
    assert moved(before, after, FAILURES, reason="refused", final="true") == 1
    assert moved(before, after, FAILURES, reason="transient", final="false") == 1
    assert moved(before, after, FAILURES, reason="internal", final="false") == 1
    assert moved(before, after, FAILURES, reason="transient", final="true") == 0
