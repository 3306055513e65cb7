"""The recording job queue: claims, back-off, lost claims, crashes and retention."""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from app.config import Settings
from app.db import Database, create_engine, utcnow
from app.integrations.models import Integration
from app.recordings.download import StoredRecording
from app.recordings.errors import RecordingFetchError
from app.recordings.models import RecordingStatus
from app.recordings.repository import recording_repository
from app.recordings.storage import LocalStorage
from app.recordings.worker import RecordingWorker, RetentionResult, backoff
from app.settings.schemas import OperationsSettings
from app.settings.service import settings_service
from app.webhooks.models import WebhookEvent
from app.webhooks.providers.base import ProviderConfig
from tests.recordings.support import make_recording, recording_row

AUDIO = b"ID3" + bytes(range(256)) * 8

Outcome = bytes | Exception


class FakeFetcher:
    """Stores AUDIO, or raises what the script for that recording says, one outcome per call."""

    def __init__(self, storage: LocalStorage, script: dict[str, list[Outcome]] | None = None):
        self.storage = storage
        self.script = script or {}
        self.fetched: Counter[str] = Counter()

    async def fetch(
        self,
        provider: str,
        config: ProviderConfig,
        *,
        provider_ref: str,
        source_url: str | None,
        provider_call_id: str,
    ) -> StoredRecording:
        self.fetched[provider_ref] += 1
        outcomes = self.script.get(provider_ref)
        outcome = outcomes.pop(0) if outcomes else AUDIO
        await asyncio.sleep(0)  # let concurrent workers interleave
        if isinstance(outcome, Exception):
            raise outcome
        temp = self.storage.temp_path()
        temp.write_bytes(outcome)
        key = await self.storage.save(temp, extension="mp3")
        return StoredRecording(
            storage_key=key,
            content_type="audio/mpeg",
            size_bytes=len(outcome),
            sha256=hashlib.sha256(outcome).hexdigest(),
            duration_seconds=None,
        )


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "recordings")


def make_worker(
    database: Database, storage: LocalStorage, fetcher: FakeFetcher, clock: Callable[[], datetime]
) -> RecordingWorker:
    return RecordingWorker(
        database,
        storage,
        fetcher,
        batch_size=4,
        lease=timedelta(minutes=15),
        poll_interval=0.01,
        clock=clock,
    )


def test_backoff_doubles_from_a_minute_to_an_hour() -> None:
    assert [backoff(n).total_seconds() / 60 for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert backoff(50) == timedelta(hours=1)


async def test_a_due_recording_is_stored(database: Database, storage: LocalStorage) -> None:
    _, recording_id = await make_recording(database)
    fetcher = FakeFetcher(storage)
    assert await make_worker(database, storage, fetcher, utcnow).run_once() == 1
    row = await recording_row(database, recording_id)
    assert row.status == RecordingStatus.STORED
    assert row.attempts == 1
    assert row.size_bytes == len(AUDIO)
    assert row.sha256 == hashlib.sha256(AUDIO).hexdigest()
    assert row.claimed_until is None
    assert row.last_error is None
    assert row.storage_key is not None
    assert await storage.exists(row.storage_key)
    # Nothing is due any more.
    assert await make_worker(database, storage, fetcher, utcnow).run_once() == 0


async def test_retryable_failures_back_off_then_fail_at_max_attempts(
    database: Database, storage: LocalStorage
) -> None:
    async with database.unit_of_work() as session:
        await settings_service.put_operations(session, OperationsSettings(recording_max_attempts=4))
    _, recording_id = await make_recording(database)
    ref = (await recording_row(database, recording_id)).provider_ref
    fetcher = FakeFetcher(
        storage, {ref: [RecordingFetchError("HTTP 503", retryable=True) for _ in range(5)]}
    )
    clock = Clock()
    worker = make_worker(database, storage, fetcher, clock)
    for attempt, wait in enumerate([1, 2, 4], start=1):
        assert await worker.run_once() == 1
        row = await recording_row(database, recording_id)
        assert (row.status, row.attempts, row.last_error) == ("pending", attempt, "HTTP 503")
        assert row.next_attempt_at == clock.now + timedelta(minutes=wait)
        clock.advance(timedelta(minutes=wait) - timedelta(seconds=1))
        assert await worker.run_once() == 0  # not due yet
        clock.advance(timedelta(seconds=1))
    assert await worker.run_once() == 1
    row = await recording_row(database, recording_id)
    assert (row.status, row.attempts, row.last_error) == ("failed", 4, "HTTP 503")
    clock.advance(timedelta(days=1))
    assert await worker.run_once() == 0
    assert fetcher.fetched[ref] == 4


async def test_a_permanent_failure_fails_at_once(database: Database, storage: LocalStorage) -> None:
    _, recording_id = await make_recording(database)
    ref = (await recording_row(database, recording_id)).provider_ref
    fetcher = FakeFetcher(storage, {ref: [RecordingFetchError("HTTP 403", retryable=False)]})
    await make_worker(database, storage, fetcher, utcnow).run_once()
    row = await recording_row(database, recording_id)
    assert (row.status, row.attempts, row.last_error) == ("failed", 1, "HTTP 403")


async def test_one_broken_job_does_not_block_the_others(
    database: Database, storage: LocalStorage
) -> None:
    ids = [(await make_recording(database))[1] for _ in range(3)]
    broken = (await recording_row(database, ids[0])).provider_ref
    fetcher = FakeFetcher(storage, {broken: [RuntimeError("a bug")]})
    assert await make_worker(database, storage, fetcher, utcnow).run_once() == 3
    rows = [await recording_row(database, i) for i in ids]
    assert [r.status for r in rows] == ["pending", "stored", "stored"]
    assert rows[0].last_error == "internal error: RuntimeError"


async def test_a_deleted_integration_fails_its_recordings(
    database: Database, storage: LocalStorage
) -> None:
    _, recording_id = await make_recording(database)
    async with database.unit_of_work() as session:
        await session.execute(update(Integration).values(deleted_at=utcnow()))
    await make_worker(database, storage, FakeFetcher(storage), utcnow).run_once()
    row = await recording_row(database, recording_id)
    assert (row.status, row.last_error) == ("failed", "the integration was deleted")


async def test_an_abandoned_claim_is_resumed_and_the_late_result_is_dropped(
    database: Database, storage: LocalStorage
) -> None:
    _, recording_id = await make_recording(database)
    clock = Clock()
    # A worker claims the job and dies: no result is ever written.
    async with database.unit_of_work() as session:
        [abandoned] = await recording_repository.claim_due(
            session, now=clock.now, lease=timedelta(minutes=15), limit=10
        )
    leftover = storage.temp_path()
    leftover.write_bytes(b"half a download")
    fetcher = FakeFetcher(storage)
    worker = make_worker(database, storage, fetcher, clock)
    assert await worker.run_once() == 0  # still leased
    clock.advance(timedelta(minutes=15))
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    for _ in range(200):
        if (await recording_row(database, recording_id)).status == "stored":
            break
        await asyncio.sleep(0.01)
    stop.set()
    await task
    row = await recording_row(database, recording_id)
    assert (row.status, row.attempts) == ("stored", 2)
    assert not leftover.exists()  # the restarted worker cleared the partial download
    # The first worker wakes up late: its claim is gone, so its result changes nothing.
    async with database.unit_of_work() as session:
        assert not await recording_repository.finish(
            session, abandoned, now=clock.now, status="failed", last_error="late"
        )
    assert (await recording_row(database, recording_id)).status == "stored"


async def test_two_workers_never_fetch_one_recording_twice(
    database: Database, storage: LocalStorage, settings: Settings
) -> None:
    ids = [(await make_recording(database))[1] for _ in range(24)]
    fetcher = FakeFetcher(storage)
    # A second engine: its own connections, as a second worker process would have.
    other = Database(create_engine(settings))
    try:
        workers = [
            make_worker(db, storage, fetcher, utcnow) for db in (database, other, database, other)
        ]
        while sum(await asyncio.gather(*(w.run_once() for w in workers))):
            pass
    finally:
        await other.dispose()
    assert len(fetcher.fetched) == 24
    assert set(fetcher.fetched.values()) == {1}
    rows = [await recording_row(database, i) for i in ids]
    assert {r.status for r in rows} == {"stored"}


async def test_retention_deletes_old_files_and_raw_events(
    database: Database, storage: LocalStorage
) -> None:
    _, old_id = await make_recording(database, started_at=utcnow() - timedelta(days=40))
    _, new_id_ = await make_recording(database)
    worker = make_worker(database, storage, FakeFetcher(storage), utcnow)
    await worker.run_once()
    old_key = (await recording_row(database, old_id)).storage_key
    assert old_key is not None
    async with database.unit_of_work() as session:
        integration_id = (await session.execute(select(Integration.id).limit(1))).scalar_one()
        session.add_all(
            WebhookEvent(
                id=f"evt_{n}",
                integration_id=integration_id,
                dedupe_key=f"k{n}",
                path="events/call",
                content_type="application/json",
                body=b"{}",
                received_at=utcnow() - timedelta(days=age),
            )
            for n, age in enumerate([100, 10])
        )
    # Off by default: nothing goes.
    assert await worker.apply_retention() == RetentionResult(0, 0)
    async with database.unit_of_work() as session:
        await settings_service.put_operations(
            session,
            OperationsSettings(recordings_retention_days=30, webhook_events_retention_days=30),
        )
    result = await worker.apply_retention()
    assert (result.recordings_deleted, result.webhook_events_deleted) == (1, 1)
    old, new = await recording_row(database, old_id), await recording_row(database, new_id_)
    assert (old.status, old.storage_key) == ("expired", None)
    assert not await storage.exists(old_key)
    assert new.status == "stored"
    assert new.storage_key
    assert await storage.exists(new.storage_key)
    async with database.unit_of_work(read_only=True) as session:
        assert await session.scalar(select(func.count()).select_from(WebhookEvent)) == 1
    assert await worker.apply_retention() == RetentionResult(0, 0)
