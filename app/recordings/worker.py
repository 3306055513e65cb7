"""The recording worker: claims due downloads, fetches them, and keeps the retention promise.

Database work happens in short units of work around each download, never during one: a slow PBX
must not hold a transaction (or, on SQLite, the writer's turn) open.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import httpx
import structlog

from app.config import RecordingsStorage, Settings
from app.db import Database, utcnow
from app.recordings.download import RecordingDownloader, StoredRecording
from app.recordings.errors import RecordingFetchError
from app.recordings.http_client import Resolver, make_http_client
from app.recordings.models import RecordingStatus
from app.recordings.repository import RecordingJob, recording_repository
from app.recordings.s3 import RecordingStorageUnavailable, S3Storage, make_s3_client
from app.recordings.storage import LocalStorage, RecordingStorage
from app.settings.service import settings_service
from app.telemetry.instruments import (
    RECORDING_DOWNLOAD_FAILURES,
    RECORDING_DOWNLOADS,
    DownloadFailure,
)
from app.webhooks.providers import get_adapter
from app.webhooks.providers.base import ProviderConfig
from app.webhooks.repository import webhook_event_repository

log = structlog.get_logger("callfunnel.recordings")

MAX_BACKOFF = timedelta(hours=1)
RETENTION_EVERY = timedelta(hours=1)
RETENTION_BATCH = 500
SHUTDOWN_GRACE_SECONDS = 10.0


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 … minutes after the 1st, 2nd, 3rd … failed attempt, at most an hour."""
    return min(timedelta(minutes=2 ** min(attempts - 1, 10)), MAX_BACKOFF)


class Fetcher(Protocol):
    async def fetch(
        self,
        provider: str,
        config: ProviderConfig,
        *,
        provider_ref: str,
        source_url: str | None,
        provider_call_id: str,
    ) -> StoredRecording: ...


@dataclass(frozen=True, slots=True)
class RetentionResult:
    recordings_deleted: int
    webhook_events_deleted: int


class RecordingWorker:
    def __init__(
        self,
        database: Database,
        storage: RecordingStorage,
        fetcher: Fetcher,
        *,
        batch_size: int,
        lease: timedelta,
        poll_interval: float,
        clock: Callable[[], datetime] = utcnow,
        deadline_seconds: float | None = None,
    ) -> None:
        self._deadline = deadline_seconds
        self._database = database
        self._storage = storage
        self._fetcher = fetcher
        self._batch_size = batch_size
        self._lease = lease
        self._poll_interval = poll_interval
        self._clock = clock

    async def run(self, stop: asyncio.Event) -> None:
        """Work until ``stop`` is set; an unexpected error is logged and the loop goes on.

        Up to ``batch_size`` downloads run at once, and a free slot is filled as soon as a
        download ends: one slow (or trickling) host occupies one slot, never the whole worker,
        and no download waits for the slowest of a batch.
        """
        removed = self._storage.discard_partials()
        log.info("recordings.worker.started", partial_files_removed=removed)
        next_retention = self._clock()
        in_flight: set[asyncio.Task[None]] = set()
        try:
            while not stop.is_set():
                more_due = False
                try:
                    if self._clock() >= next_retention:
                        await self.apply_retention()
                        next_retention = self._clock() + RETENTION_EVERY
                    free = self._batch_size - len(in_flight)
                    if free > 0:
                        jobs, max_attempts = await self._claim(free)
                        for job in jobs:
                            in_flight.add(asyncio.create_task(self._settle(job, max_attempts)))
                        # A full claim suggests more are due: ask again when a slot frees up.
                        more_due = len(jobs) == free
                except Exception:
                    # The database may be down for a while: keep polling rather than die.
                    log.exception("recordings.worker.error")
                full = len(in_flight) >= self._batch_size
                stopping = asyncio.ensure_future(stop.wait())
                try:
                    done, _ = await asyncio.wait(
                        {*in_flight, stopping},
                        # Full: wait for a slot. More due: go on at once. Else: poll.
                        timeout=None if full else 0 if more_due else self._poll_interval,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                finally:
                    stopping.cancel()
                in_flight -= done
            if in_flight:
                await asyncio.gather(*in_flight, return_exceptions=True)
        finally:
            # Cancelled (a shutdown past its grace): the claims lapse and another run resumes.
            for task in in_flight:
                task.cancel()
        log.info("recordings.worker.stopped")

    async def run_once(self) -> int:
        """Claim one batch of due jobs and settle each; returns how many were claimed."""
        jobs, max_attempts = await self._claim(self._batch_size)
        await asyncio.gather(*(self._settle(job, max_attempts) for job in jobs))
        return len(jobs)

    async def _claim(self, limit: int) -> tuple[list[RecordingJob], int]:
        async with self._database.unit_of_work() as session:
            max_attempts = (await settings_service.operations(session)).recording_max_attempts
            jobs = await recording_repository.claim_due(
                session, now=self._clock(), lease=self._lease, limit=limit
            )
        return list(jobs), max_attempts

    async def _settle(self, job: RecordingJob, max_attempts: int) -> None:
        try:
            stored = await self._fetch(job)
        except RecordingFetchError as exc:
            reason = DownloadFailure.TRANSIENT if exc.retryable else DownloadFailure.REFUSED
            await self._failed(
                job, exc.message, retryable=exc.retryable, limit=max_attempts, reason=reason
            )
        except RecordingStorageUnavailable as exc:
            # Our bucket, not the provider's host: the same download works once it answers.
            await self._failed(
                job,
                exc.detail,
                retryable=True,
                limit=max_attempts,
                reason=DownloadFailure.TRANSIENT,
            )
        except Exception as exc:
            # A bug in one fetch must not stop the others; the job is retried like a 5xx.
            log.exception("recordings.fetch.crashed", recording_id=job.id)
            await self._failed(
                job,
                f"internal error: {type(exc).__name__}",
                retryable=True,
                limit=max_attempts,
                reason=DownloadFailure.INTERNAL,
            )
        else:
            await self._stored(job, stored)

    async def _fetch(self, job: RecordingJob) -> StoredRecording:
        if job.integration_deleted:
            raise RecordingFetchError("the integration was deleted", retryable=False)
        config = get_adapter(job.provider).config_model.model_validate(job.config)
        fetch = self._fetcher.fetch(
            job.provider,
            config,
            provider_ref=job.provider_ref,
            source_url=job.source_url,
            provider_call_id=job.provider_call_id,
        )
        if self._deadline is None:
            return await fetch
        # The read timeout bounds each read, not the download: a host sending a byte every few
        # seconds would hold its slot (and outlast the claim) forever without this.
        try:
            async with asyncio.timeout(self._deadline):
                return await fetch
        except TimeoutError:
            raise RecordingFetchError(
                f"the download took longer than {self._deadline:g} s", retryable=True
            ) from None

    async def _stored(self, job: RecordingJob, stored: StoredRecording) -> None:
        async with self._database.unit_of_work() as session:
            kept = await recording_repository.finish(
                session,
                job,
                now=self._clock(),
                status=RecordingStatus.STORED,
                storage_key=stored.storage_key,
                content_type=stored.content_type,
                size_bytes=stored.size_bytes,
                sha256=stored.sha256,
                duration_seconds=stored.duration_seconds,
                last_error=None,
            )
        if not kept:
            # Another worker owns the job now; this copy would be an orphan file.
            await self._storage.delete(stored.storage_key)
            log.warning("recordings.claim.lost", recording_id=job.id)
            return
        RECORDING_DOWNLOADS.inc()
        log.info("recordings.stored", recording_id=job.id, size_bytes=stored.size_bytes)

    async def _failed(
        self,
        job: RecordingJob,
        message: str,
        *,
        retryable: bool,
        limit: int,
        reason: DownloadFailure,
    ) -> None:
        now = self._clock()
        final = not retryable or job.attempts >= limit
        RECORDING_DOWNLOAD_FAILURES.labels(reason.value, "true" if final else "false").inc()
        async with self._database.unit_of_work() as session:
            await recording_repository.finish(
                session,
                job,
                now=now,
                status=RecordingStatus.FAILED if final else RecordingStatus.PENDING,
                next_attempt_at=now if final else now + backoff(job.attempts),
                last_error=message,
            )
        log.warning(
            "recordings.failed" if final else "recordings.retry",
            recording_id=job.id,
            attempts=job.attempts,
            error=message,
        )

    async def apply_retention(self) -> RetentionResult:
        """Delete what the operations settings say is too old to keep (nothing by default)."""
        now = self._clock()
        async with self._database.unit_of_work(read_only=True) as session:
            settings = await settings_service.operations(session)
        recordings = events = 0
        if settings.recordings_retention_days is not None:
            cutoff = now - timedelta(days=settings.recordings_retention_days)
            recordings = await self._expire_recordings(cutoff)
        if settings.webhook_events_retention_days is not None:
            cutoff = now - timedelta(days=settings.webhook_events_retention_days)
            async with self._database.unit_of_work() as session:
                events = await webhook_event_repository.delete_received_before(session, cutoff)
        if recordings or events:
            log.info("retention.applied", recordings=recordings, webhook_events=events)
        return RetentionResult(recordings, events)

    async def _expire_recordings(self, cutoff: datetime) -> int:
        deleted = 0
        while True:
            async with self._database.unit_of_work() as session:
                batch = await recording_repository.stored_before(
                    session, cutoff, limit=RETENTION_BATCH
                )
                # Files go first: a crash in between leaves a row pointing at nothing (served
                # as 404 and expired again next time), never a file no row knows about.
                for _, key in batch:
                    await self._storage.delete(key)
                await recording_repository.mark_expired(
                    session, [row_id for row_id, _ in batch], self._clock()
                )
            deleted += len(batch)
            if len(batch) < RETENTION_BATCH:
                return deleted


# One per configuration, kept: an S3 client takes ~80 ms to build and holds the connection pool,
# and playback asks for the storage on every request.
@functools.lru_cache(maxsize=8)
def storage_for(settings: Settings) -> RecordingStorage:
    if settings.recordings_storage is RecordingsStorage.S3:
        assert settings.s3_bucket is not None  # Settings refuses s3 without a bucket
        return S3Storage(
            make_s3_client(settings),
            settings.s3_bucket,
            spool_root=settings.recordings_dir,
            prefix=settings.s3_prefix,
        )
    return LocalStorage(settings.recordings_dir)


@contextlib.asynccontextmanager
async def recording_worker(
    database: Database,
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utcnow,
    client: httpx.AsyncClient | None = None,
    resolver: Resolver | None = None,
) -> AsyncIterator[RecordingWorker]:
    """A worker with its own HTTP client, closed when the block ends.

    ``client`` and ``resolver`` stand in for the network (the demo's PBX of its own); the
    client is then the caller's to close.
    """
    storage = storage_for(settings)
    await storage.verify()
    async with contextlib.AsyncExitStack() as stack:
        if client is None:
            client = await stack.enter_async_context(make_http_client(settings))
        yield RecordingWorker(
            database,
            storage,
            RecordingDownloader(
                client,
                storage,
                max_bytes=settings.recordings_max_bytes,
                allow_private_hosts=settings.recordings_allow_private_hosts,
                resolver=resolver,
            ),
            batch_size=settings.recordings_worker_batch,
            lease=timedelta(seconds=settings.recordings_claim_seconds),
            poll_interval=settings.recordings_poll_seconds,
            clock=clock,
            deadline_seconds=settings.download_deadline_seconds,
        )


@contextlib.asynccontextmanager
async def running_worker(database: Database, settings: Settings) -> AsyncIterator[None]:
    """A worker looping in the background of the block, stopped cleanly when it ends."""
    stop = asyncio.Event()
    async with recording_worker(database, settings) as worker:
        task = asyncio.create_task(worker.run(stop), name="recording-worker")
        try:
            yield
        finally:
            stop.set()
            try:
                await asyncio.wait_for(task, SHUTDOWN_GRACE_SECONDS)
            except TimeoutError:
                # wait_for cancelled the download: its claim lapses and another run resumes it.
                log.warning("recordings.worker.cancelled")
