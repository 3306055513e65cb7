"""Webhook ingestion: store the raw request first, then fold it into calls.

The order is the guarantee. A delivery is answered 200 only after its raw events are committed;
the merge runs in a SAVEPOINT inside the same transaction, so a failing merge leaves the raw event
committed as ``failed`` (replayable after a fix) and never half-applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from app.calls.service import call_service
from app.db import utcnow
from app.errors import NotFound, is_connection_error
from app.integrations.models import Integration
from app.integrations.repository import integration_repository
from app.integrations.service import config_of
from app.webhooks.models import WebhookEvent, WebhookEventStatus
from app.webhooks.providers import get_adapter
from app.webhooks.providers.base import ProviderAdapter, StoredEvent
from app.webhooks.repository import webhook_event_repository

log = structlog.get_logger("callfunnel.webhooks")

MAX_ERROR_LENGTH = 2000


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
        self, session: AsyncSession, provider: str, integration_id: str
    ) -> Integration:
        row = await integration_repository.get_live(session, integration_id)
        # The same answer for "no such id" and "id of another provider": ids are secrets.
        if row is None or row.provider != provider:
            raise NotFound("no such webhook endpoint")
        return row

    async def ingest(
        self,
        session: AsyncSession,
        integration: Integration,
        events: Sequence[StoredEvent],
        *,
        headers: dict[str, str],
    ) -> IngestResult:
        """Store each event once (by its dedupe key) and process the new ones. Never commits."""
        adapter = get_adapter(integration.provider)
        stored = duplicates = failed = 0
        for event in events:
            event_id = await webhook_event_repository.insert_if_new(
                session,
                integration_id=integration.id,
                dedupe_key=event.dedupe_key,
                path=event.subpath,
                content_type=event.content_type,
                headers={**headers, **event.headers},
                body=event.body,
                received_at=utcnow(),
            )
            if event_id is None:
                duplicates += 1
                continue
            stored += 1
            status = await self._process(session, integration, adapter, event_id, event)
            failed += status is WebhookEventStatus.FAILED
        return IngestResult(stored=stored, duplicates=duplicates, failed=failed)

    async def replay(self, session: AsyncSession, rows: Sequence[WebhookEvent]) -> ReplayResult:
        """Process stored events again (after a fix); the merge is idempotent, so any may go."""
        counts = dict.fromkeys(WebhookEventStatus, 0)
        for row in rows:
            integration = await session.get(Integration, row.integration_id)
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
            counts[await self._process(session, integration, adapter, row.id, event)] += 1
        return ReplayResult(
            replayed=len(rows),
            processed=counts[WebhookEventStatus.PROCESSED],
            failed=counts[WebhookEventStatus.FAILED],
            ignored=counts[WebhookEventStatus.IGNORED],
        )

    async def _process(
        self,
        session: AsyncSession,
        integration: Integration,
        adapter: ProviderAdapter,
        event_id: str,
        event: StoredEvent,
    ) -> WebhookEventStatus:
        try:
            async with session.begin_nested():
                config = config_of(integration)
                call_events = adapter.normalise(event, config)
                await call_service.merge_call_events(session, integration, config, call_events)
        except Exception as exc:
            if is_connection_error(exc):
                raise  # the database is gone: nothing is kept, the provider retries on 503
            error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR_LENGTH]
            log.warning(
                "webhook.event.failed",
                event_id=event_id,
                provider=integration.provider,
                error=type(exc).__name__,
            )
            await webhook_event_repository.mark(
                session, event_id, status=WebhookEventStatus.FAILED, error=error, processed_at=None
            )
            return WebhookEventStatus.FAILED
        status = WebhookEventStatus.PROCESSED if call_events else WebhookEventStatus.IGNORED
        await webhook_event_repository.mark(
            session, event_id, status=status, error=None, processed_at=utcnow()
        )
        return status


webhook_service = WebhookService()
