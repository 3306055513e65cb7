"""Webhook ingestion: store the raw request first, then fold it into calls.

The order is the guarantee. A delivery is answered 200 only after its raw events are committed;
the merge runs in a SAVEPOINT inside the same transaction, so a failing merge leaves the raw event
committed as ``failed`` (replayable after a fix) and never half-applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass

import structlog
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app.calls.events import CallEvent
from app.calls.service import call_service
from app.db import Database, utcnow
from app.edge import event_problem
from app.errors import NotFound, ServiceUnavailable, is_connection_error
from app.integrations.cache import LiveIntegration, integration_cache, live_of
from app.integrations.models import Integration
from app.metrics.evidence import deferred_evidence
from app.telemetry.instruments import WEBHOOK_EVENTS_REPLAYED
from app.webhooks.models import WebhookEvent, WebhookEventStatus
from app.webhooks.providers import get_adapter
from app.webhooks.providers.base import ProviderAdapter, ProviderConfig, StoredEvent
from app.webhooks.repository import webhook_event_repository
from app.webhooks.schemas import MAX_REPLAY, ReplayRequest, ReplayResponse

log = structlog.get_logger("callfunnel.webhooks")

MAX_ERROR_LENGTH = 2000
RACE_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class IngestResult:
    stored: int
    duplicates: int
    failed: int


@dataclass(frozen=True, slots=True)
class ReplayResult:
    replayed: int
    processed: int
    failed: int
    ignored: int


class WebhookService:
    async def integration_for(
        self, database: Database, provider: str, integration_id: str
    ) -> LiveIntegration:
        live = await integration_cache(database).get(integration_id)
        # The same answer for "no such id" and "id of another provider": ids are secrets.
        if live is None or live.provider != provider:
            raise NotFound("no such webhook endpoint")
        return live

    async def ingest(
        self,
        session: AsyncSession,
        integration: LiveIntegration,
        events: Sequence[StoredEvent],
        *,
        headers: dict[str, str],
    ) -> IngestResult:
        """Store each event once (by its dedupe key) and process the new ones. Never commits.

        Merges normally run bare: a SAVEPOINT around each costs two statements per event, and
        merges almost never fail. When one does, everything this request did is rolled back and
        done again with a SAVEPOINT around every merge, so that only the failing event is kept
        as ``failed`` and the others are applied.

        Concurrent deliveries that lock the same rows in opposite orders (say two batches that
        both meet two new extensions) can deadlock on PostgreSQL, which then aborts one of them.
        That is no fault of the events: the aborted request is rolled back and done again, and
        only after ``RACE_ATTEMPTS`` is it answered 503 (nothing stored, the PBX retries).
        """
        attempt = 1
        while True:
            try:
                return await self._ingest_once(session, integration, events, headers)
            except DBAPIError as exc:
                if not _lost_a_race(exc):
                    raise
                if attempt == RACE_ATTEMPTS:
                    # Nothing was stored; a 503 tells the PBX to deliver again, as for an outage.
                    raise ServiceUnavailable(
                        "concurrent deliveries collided; nothing was stored, try again"
                    ) from exc
            await session.rollback()
            attempt += 1

    async def _ingest_once(
        self,
        session: AsyncSession,
        integration: LiveIntegration,
        events: Sequence[StoredEvent],
        headers: dict[str, str],
    ) -> IngestResult:
        try:
            return await self._ingest(session, integration, events, headers, isolated=False)
        except _MergeFailedError:
            await session.rollback()
            return await self._ingest(session, integration, events, headers, isolated=True)

    async def _ingest(
        self,
        session: AsyncSession,
        integration: LiveIntegration,
        events: Sequence[StoredEvent],
        headers: dict[str, str],
        *,
        isolated: bool,
    ) -> IngestResult:
        # Normalising is pure, so it runs first and the raw event is stored with the status its
        # processing reaches; only a failing merge costs a second statement.
        adapter = get_adapter(integration.provider)
        normalised = [(event, *_normalise(adapter, event, integration.config)) for event in events]
        # Every delivery takes its calls' row locks in one order (a batch's events by call), so
        # that concurrent batches of the same calls queue instead of deadlocking.
        normalised.sort(key=lambda item: item[1][0].provider_call_id if item[1] else "")
        stored = duplicates = failed = 0
        # One recount of the delivery's leads, at its end (app.metrics.evidence).
        async with deferred_evidence(session):
            for event, call_events, error in normalised:
                now = utcnow()
                event_id = await webhook_event_repository.insert_if_new(
                    session,
                    integration_id=integration.id,
                    dedupe_key=event.dedupe_key,
                    path=event.subpath,
                    content_type=event.content_type,
                    headers={**headers, **event.headers},
                    body=event.body,
                    received_at=now,
                    status=_status(call_events, error),
                    error=error,
                    processed_at=None if error else now,
                )
                if event_id is None:
                    duplicates += 1
                    continue
                stored += 1
                if call_events:
                    error = await self._merge(session, integration, call_events, isolated=isolated)
                    if error is not None:
                        await webhook_event_repository.record_failure(
                            session, event_id, error=error
                        )
                if error is not None:
                    failed += 1
                    _log_failure(event_id, integration.provider, error)
        return IngestResult(stored=stored, duplicates=duplicates, failed=failed)

    async def replay_request(self, session: AsyncSession, body: ReplayRequest) -> ReplayResponse:
        """Replay the events a request names (404 for an unknown id) or up to ``MAX_REPLAY`` of
        one status, and say how many of that status are left for another call."""
        if body.ids is not None:
            rows = await webhook_event_repository.get_many(session, body.ids)
            missing = set(body.ids) - {row.id for row in rows}
            if missing:
                raise NotFound(f"webhook events not found: {', '.join(sorted(missing))}")
        else:
            assert body.status is not None  # ReplayRequest takes exactly one selector
            ids = await webhook_event_repository.ids_with_status(
                session, body.status, limit=MAX_REPLAY
            )
            rows = await webhook_event_repository.get_many(session, ids)
        result = await self.replay(session, rows)
        remaining = 0
        if body.status is not None:
            remaining = len(
                await webhook_event_repository.ids_with_status(
                    session, body.status, limit=MAX_REPLAY
                )
            )
        return ReplayResponse(
            replayed=result.replayed,
            processed=result.processed,
            failed=result.failed,
            ignored=result.ignored,
            remaining=remaining,
        )

    async def replay(self, session: AsyncSession, rows: Sequence[WebhookEvent]) -> ReplayResult:
        """Process stored events again (after a fix); the merge is idempotent, so any may go."""
        counts = dict.fromkeys(WebhookEventStatus, 0)
        integrations: dict[str, LiveIntegration | None] = {}
        for row in rows:
            if row.integration_id not in integrations:
                found = await session.get(Integration, row.integration_id)
                integrations[row.integration_id] = None if found is None else live_of(found)
            integration = integrations[row.integration_id]
            if integration is None:
                continue
            event = StoredEvent(
                dedupe_key=row.dedupe_key,
                subpath=row.path,
                content_type=row.content_type,
                body=row.body,
                headers=row.headers,
            )
            adapter = get_adapter(integration.provider)
            call_events, error = _normalise(adapter, event, integration.config)
            if call_events:
                error = await self._merge(session, integration, call_events, isolated=True)
            status = _status(call_events, error)
            if error is not None:
                _log_failure(row.id, integration.provider, error)
            await webhook_event_repository.mark(
                session,
                row.id,
                status=status,
                error=error,
                processed_at=None if error else utcnow(),
            )
            counts[status] += 1
            WEBHOOK_EVENTS_REPLAYED.labels(integration.provider, status.value).inc()
        return ReplayResult(
            replayed=len(rows),
            processed=counts[WebhookEventStatus.PROCESSED],
            failed=counts[WebhookEventStatus.FAILED],
            ignored=counts[WebhookEventStatus.IGNORED],
        )

    async def _merge(
        self,
        session: AsyncSession,
        integration: LiveIntegration,
        events: Sequence[CallEvent],
        *,
        isolated: bool,
    ) -> str | None:
        """Fold the events into their call. ``isolated``: in a SAVEPOINT, all of it or nothing and
        the error; otherwise a failure raises ``_MergeFailedError`` (the transaction is spoilt).
        """
        try:
            async with session.begin_nested() if isolated else nullcontext():
                await call_service.merge_call_events(
                    session, integration.id, integration.config, events
                )
        except Exception as exc:
            if is_connection_error(exc) or _lost_a_race(exc):
                raise  # nothing is kept: a 503 for a lost database, the request again for a race
            if not isolated:
                raise _MergeFailedError from exc
            return _error_text(exc)
        return None


def _lost_a_race(exc: BaseException) -> bool:
    """PostgreSQL aborted the transaction to end a deadlock (or a serialisation conflict)."""
    return isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) in _RACE_STATES


_RACE_STATES = frozenset({"40P01", "40001"})


class _MergeFailedError(Exception):
    """A merge run without a SAVEPOINT failed: the request must be done again, isolated."""


def _normalise(
    adapter: ProviderAdapter, event: StoredEvent, config: ProviderConfig
) -> tuple[Sequence[CallEvent], str | None]:
    """The event's call facts, or the error that made it unreadable (a bug, a new field)."""
    try:
        call_events = adapter.normalise(event, config)
    except Exception as exc:
        return (), _error_text(exc)
    # What either database would refuse is refused here for both, so that SQLite and PostgreSQL
    # make the same calls of the same traffic (app.edge).
    now = utcnow()
    for call_event in call_events:
        problem = event_problem(call_event, now)
        if problem is not None:
            return (), f"unstorable event: {problem}"[:MAX_ERROR_LENGTH]
    return call_events, None


def _status(call_events: Sequence[CallEvent], error: str | None) -> WebhookEventStatus:
    if error is not None:
        return WebhookEventStatus.FAILED
    return WebhookEventStatus.PROCESSED if call_events else WebhookEventStatus.IGNORED


def _error_text(exc: Exception) -> str:
    # The message may quote the input; a NUL in it would make the error itself unstorable on PG.
    text = f"{type(exc).__name__}: {exc}".replace("\x00", "\\x00")
    return text.encode("utf-8", "backslashreplace").decode("utf-8")[:MAX_ERROR_LENGTH]


def _log_failure(event_id: str, provider: str, error: str) -> None:
    # Only the exception's type: its message may quote the body, phone numbers included.
    log.warning(
        "webhook.event.failed",
        event_id=event_id,
        provider=provider,
        error=error.split(":", 1)[0],
    )


webhook_service = WebhookService()
