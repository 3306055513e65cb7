"""CDR rows into calls: stored raw like webhook events, then folded by the webhooks' merge.

Rows go in batches, each batch one short transaction: its raw rows in one multi-row INSERT … ON
CONFLICT DO NOTHING (a row already stored, from this file, another file or a sync, is a duplicate
and changes nothing), then each touched call locked, folded and written once with the legs of the
batch. Memory holds one batch, whatever the file's size. Rows whose merge fails are kept as
``failed`` raw events (``POST /api/v1/webhook-events/replay`` retries them after a fix), exactly as
webhook events are.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from itertools import islice
from typing import Any, BinaryIO

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.calls.bulk import merge_batch
from app.calls.events import CallEvent
from app.calls.models import Call
from app.calls.service import call_service
from app.cdr.reader import CountingReader, Row, Skip, read_rows
from app.db import Database, utcnow
from app.dialect import dialect_insert, dialect_of, table_of
from app.errors import NotFound, Unprocessable, is_connection_error
from app.ids import new_id
from app.integrations.models import Integration
from app.integrations.repository import integration_repository
from app.integrations.service import config_of
from app.telemetry.instruments import count_cdr_rows
from app.webhooks.models import WebhookEvent, WebhookEventStatus
from app.webhooks.providers.asterisk import (
    AsteriskConfig,
    RowSkipped,
    leg_event,
    read_leg,
    stored_row,
)
from app.webhooks.providers.cdr_columns import LayoutError
from app.webhooks.repository import webhook_event_repository

log = structlog.get_logger("callfunnel.cdr")

BATCH_ROWS = 2000
# A file of nothing but bad rows must not make a report of a million lines.
MAX_REPORTED_SKIPS = 1000
_MAX_ERROR = 2000


@dataclass(frozen=True, slots=True)
class SkippedRow:
    line: int
    reason: str


@dataclass
class CdrReport:
    """What an import or a sync did. ``skipped`` counts every skipped row; ``skipped_rows`` lists
    the first ``MAX_REPORTED_SKIPS`` of them with their line numbers (or table row ordinals)."""

    rows_read: int = 0
    stored: int = 0
    duplicates: int = 0
    skipped: int = 0
    technical: int = 0
    failed: int = 0
    calls_created: int = 0
    calls_updated: int = 0
    skipped_rows: list[SkippedRow] = field(default_factory=list)

    def skip(self, line: int, reason: str) -> None:
        self.skipped += 1
        if len(self.skipped_rows) < MAX_REPORTED_SKIPS:
            self.skipped_rows.append(SkippedRow(line, reason))

    def add(self, other: CdrReport) -> None:
        self.rows_read += other.rows_read
        self.stored += other.stored
        self.duplicates += other.duplicates
        self.technical += other.technical
        self.failed += other.failed
        self.calls_created += other.calls_created
        self.calls_updated += other.calls_updated
        for row in other.skipped_rows:
            self.skip(row.line, row.reason)
        self.skipped += other.skipped - len(other.skipped_rows)


@dataclass(frozen=True, slots=True)
class CdrIntegration:
    id: str
    config: AsteriskConfig


async def asterisk_integration(session: AsyncSession, integration_id: str) -> CdrIntegration:
    """The live ``asterisk`` integration ``integration_id``: 404 if none, 422 if another kind."""
    row: Integration | None = await integration_repository.get_live(session, integration_id)
    if row is None:
        raise NotFound(f"integration {integration_id} not found")
    if row.provider != "asterisk":
        raise Unprocessable.at(
            "path",
            "integration_id",
            msg="not an asterisk integration",
            detail=(
                f"integration {integration_id} is a {row.provider} integration: "
                "CDR goes to asterisk"
            ),
        )
    config = config_of(row)
    assert isinstance(config, AsteriskConfig)
    return CdrIntegration(row.id, config)


@dataclass(frozen=True, slots=True)
class _Prepared:
    line: int
    dedupe_key: str
    body: bytes
    event: CallEvent | None  # None: a technical leg, kept raw only


class CdrImporter:
    async def import_rows(
        self,
        database: Database,
        integration: CdrIntegration,
        rows: Iterable[Row | Skip],
        *,
        progress: Callable[[CdrReport], None] | None = None,
        batch_rows: int = BATCH_ROWS,
    ) -> CdrReport:
        """Import ``rows`` (read lazily, one batch at a time) into the integration's calls."""
        report = CdrReport()
        started = utcnow()
        counted_updates: set[str] = set()
        iterator = iter(rows)
        while batch := list(islice(iterator, batch_rows)):
            await self.import_batch(database, integration, batch, report, started, counted_updates)
            if progress is not None:
                progress(report)
        return report

    async def import_row_batches(
        self,
        database: Database,
        integration: CdrIntegration,
        batches: AsyncIterable[Sequence[Row | Skip]],
        report: CdrReport,
    ) -> None:
        started = utcnow()
        counted_updates: set[str] = set()
        async for batch in batches:
            await self.import_batch(database, integration, batch, report, started, counted_updates)

    async def import_batch(
        self,
        database: Database,
        integration: CdrIntegration,
        batch: Sequence[Row | Skip],
        report: CdrReport,
        started: datetime,
        counted_updates: set[str],
    ) -> None:
        """One batch in one transaction (retried with a SAVEPOINT per call if a merge fails)."""
        skipped, repeated = report.skipped, report.duplicates
        prepared = self._prepare(integration.config, batch, report)
        count_cdr_rows(skipped=report.skipped - skipped, duplicate=report.duplicates - repeated)
        if not prepared:
            return
        try:
            async with database.unit_of_work() as session:
                result = await self._write_bulk(session, integration, prepared, started)
        except (_MergeFailedError, IntegrityError) as exc:
            if isinstance(exc, IntegrityError) and is_connection_error(exc):
                raise
            # A merge failed, or a concurrent writer made one of these calls first: again, call
            # by call, each in a SAVEPOINT, so only a failing call's rows are kept as failed.
            async with database.unit_of_work() as session:
                result = await self._write_isolated(session, integration, prepared, started)
        stored, duplicates, failed, technical, created, updated = result
        count_cdr_rows(stored=stored, duplicate=duplicates, failed=failed, technical=technical)
        report.stored += stored
        report.duplicates += duplicates
        report.failed += failed
        report.technical += technical
        report.calls_created += created
        fresh = [call_id for call_id in updated if call_id not in counted_updates]
        counted_updates.update(fresh)
        report.calls_updated += len(fresh)

    def _prepare(
        self, config: AsteriskConfig, batch: Sequence[Row | Skip], report: CdrReport
    ) -> list[_Prepared]:
        prepared: list[_Prepared] = []
        keys: set[str] = set()
        for item in batch:
            report.rows_read += 1
            if isinstance(item, Skip):
                report.skip(item.line, item.reason)
                continue
            try:
                leg = read_leg(item.fields, config)
            except RowSkipped as exc:
                report.skip(item.line, str(exc))
                continue
            stored = stored_row(item.fields)
            if stored.dedupe_key in keys:
                report.duplicates += 1
                continue
            keys.add(stored.dedupe_key)
            prepared.append(
                _Prepared(item.line, stored.dedupe_key, stored.body, leg_event(leg, config))
            )
        return prepared

    async def _write_isolated(
        self,
        session: AsyncSession,
        integration: CdrIntegration,
        prepared: Sequence[_Prepared],
        started: datetime,
    ) -> tuple[int, int, int, int, int, list[str]]:
        """The batch call by call, each call's merge in a SAVEPOINT: a failing call's rows are
        kept as ``failed`` (replayable), the others applied."""
        fresh, ids = await self._store_raw(session, integration, prepared)
        technical = sum(1 for item in fresh if item.event is None)
        by_call: dict[str, list[_Prepared]] = {}
        for item in fresh:
            if item.event is not None:
                by_call.setdefault(item.event.provider_call_id, []).append(item)
        created = failed = 0
        touched: list[str] = []
        # One lock order for every batch (by call id): concurrent imports queue, not deadlock.
        for call_id in sorted(by_call):
            items = by_call[call_id]
            events = [item.event for item in items if item.event is not None]
            try:
                async with session.begin_nested():
                    is_new = await self._merge(session, integration, events)
            except Exception as exc:
                if is_connection_error(exc):
                    raise
                failed += len(items)
                error = f"{type(exc).__name__}: {exc}"[:_MAX_ERROR]
                log.warning("cdr.merge.failed", integration_id=integration.id, rows=len(items))
                for item in items:
                    await webhook_event_repository.record_failure(
                        session, ids[item.dedupe_key], error=error
                    )
                continue
            if is_new:
                created += 1
            else:
                touched.append(call_id)
        updated = await self._existing_before(session, integration.id, touched, started)
        return len(fresh), len(prepared) - len(fresh), failed, technical, created, updated

    async def _store_raw(
        self, session: AsyncSession, integration: CdrIntegration, prepared: Sequence[_Prepared]
    ) -> tuple[list[_Prepared], dict[str, str]]:
        """Store the batch's rows in one statement; the rows that were new, and every row's id."""
        now = utcnow()
        ids = {item.dedupe_key: new_id("wev") for item in prepared}
        inserted = await session.execute(
            _insert_rows(dialect_of(session)),
            [
                {
                    "id": ids[item.dedupe_key],
                    "integration_id": integration.id,
                    "dedupe_key": item.dedupe_key,
                    "received_at": now,
                    "path": "cdr",
                    "content_type": "application/json",
                    "headers": {},
                    "body": item.body,
                    "status": (
                        WebhookEventStatus.PROCESSED
                        if item.event is not None
                        else WebhookEventStatus.IGNORED
                    ),
                    "error": None,
                    "attempts": 1,
                    "processed_at": now,
                }
                for item in prepared
            ],
        )
        new_keys = {key for (key,) in inserted.all()}
        return [item for item in prepared if item.dedupe_key in new_keys], ids

    async def _write_bulk(
        self,
        session: AsyncSession,
        integration: CdrIntegration,
        prepared: Sequence[_Prepared],
        started: datetime,
    ) -> tuple[int, int, int, int, int, list[str]]:
        fresh, _ = await self._store_raw(session, integration, prepared)
        technical = sum(1 for item in fresh if item.event is None)
        by_call: dict[str, list[CallEvent]] = {}
        for item in fresh:
            if item.event is not None:
                by_call.setdefault(item.event.provider_call_id, []).append(item.event)
        try:
            result = await merge_batch(session, integration.id, integration.config, by_call)
        except (IntegrityError, _MergeFailedError):
            raise
        except Exception as exc:
            if is_connection_error(exc):
                raise
            raise _MergeFailedError from exc
        updated = await self._existing_before(session, integration.id, result.updated, started)
        return len(fresh), len(prepared) - len(fresh), 0, technical, len(result.created), updated

    async def _merge(
        self, session: AsyncSession, integration: CdrIntegration, events: Sequence[CallEvent]
    ) -> bool:
        return await call_service.merge_events_of_one_call(
            session, integration.id, integration.config, events
        )

    async def _existing_before(
        self, session: AsyncSession, integration_id: str, call_ids: Sequence[str], started: datetime
    ) -> list[str]:
        """Of the calls touched, those that existed before this import (not made by an earlier
        batch of it): the report's updated calls."""
        found: list[str] = []
        for offset in range(0, len(call_ids), 500):
            chunk = call_ids[offset : offset + 500]
            query = select(Call.provider_call_id).where(
                Call.integration_id == integration_id,
                Call.provider_call_id.in_(chunk),
                Call.created_at < started,
            )
            found.extend((await session.execute(query)).scalars().all())
        return found


class _MergeFailedError(Exception):
    """A merge without SAVEPOINTs failed: the batch is done again with one per call."""


@cache
def _insert_rows(dialect: str) -> Any:
    table = table_of(WebhookEvent)
    return (
        dialect_insert(dialect, table)
        .on_conflict_do_nothing(index_elements=["integration_id", "dedupe_key"])
        .returning(table.c.dedupe_key)
    )


cdr_importer = CdrImporter()


async def import_file(
    database: Database,
    integration_id: str,
    stream: BinaryIO,
    *,
    progress: Callable[[int, CdrReport], None] | None = None,
) -> CdrReport:
    """Import a CDR file (``Master.csv`` of any layout, or a CSV export with a header).

    ``progress`` is told the bytes read so far after each batch. A file whose columns cannot be
    told apart is refused (``Unprocessable``) before anything is stored.
    """
    async with database.unit_of_work(read_only=True) as session:
        integration = await asterisk_integration(session, integration_id)
    reader = CountingReader(stream)
    rows = read_rows(reader.lines(), integration.config.columns)

    def advance(report: CdrReport) -> None:
        if progress is not None:
            progress(reader.bytes_read, report)

    try:
        return await cdr_importer.import_rows(database, integration, rows, progress=advance)
    except LayoutError as exc:
        raise Unprocessable.at("body", "file", msg=str(exc)) from exc
