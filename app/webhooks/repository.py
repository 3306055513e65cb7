from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import affected_rows
from app.dialect import dialect_insert, dialect_of, table_of
from app.ids import new_id
from app.webhooks.models import WebhookEvent, WebhookEventStatus


class WebhookEventRepository:
    async def insert_if_new(
        self,
        session: AsyncSession,
        *,
        integration_id: str,
        dedupe_key: str,
        path: str,
        content_type: str,
        headers: dict[str, Any],
        body: bytes,
        received_at: datetime,
        status: WebhookEventStatus,
        error: str | None,
        processed_at: datetime | None,
    ) -> str | None:
        """Store a raw event, as processed once, unless its key is already stored; the new id.

        ON CONFLICT DO NOTHING makes the unique constraint the arbiter: two concurrent deliveries
        of one event cannot both see "absent" and both insert, as a check-then-insert could.
        """
        statement = _insert_if_new(dialect_of(session))
        inserted: str | None = (
            await session.execute(
                statement,
                {
                    "id": new_id("wev"),
                    "integration_id": integration_id,
                    "dedupe_key": dedupe_key,
                    "received_at": received_at,
                    "path": path,
                    "content_type": content_type,
                    "headers": headers,
                    "body": body,
                    "status": status,
                    "error": error,
                    "attempts": 1,
                    "processed_at": processed_at,
                },
            )
        ).scalar_one_or_none()
        return inserted

    async def get_many(self, session: AsyncSession, ids: Sequence[str]) -> Sequence[WebhookEvent]:
        query = select(WebhookEvent).where(WebhookEvent.id.in_(ids)).order_by(WebhookEvent.id)
        return (await session.execute(query)).scalars().all()

    async def list(
        self,
        session: AsyncSession,
        *,
        status: WebhookEventStatus | None,
        integration_id: str | None,
        limit: int,
        after_id: str | None,
    ) -> Sequence[WebhookEvent]:
        query = select(WebhookEvent).order_by(WebhookEvent.id).limit(limit)
        if status is not None:
            query = query.where(WebhookEvent.status == status)
        if integration_id is not None:
            query = query.where(WebhookEvent.integration_id == integration_id)
        if after_id is not None:
            query = query.where(WebhookEvent.id > after_id)
        return (await session.execute(query)).scalars().all()

    async def ids_with_status(
        self, session: AsyncSession, status: WebhookEventStatus, *, limit: int
    ) -> Sequence[str]:
        query = (
            select(WebhookEvent.id)
            .where(WebhookEvent.status == status)
            .order_by(WebhookEvent.id)
            .limit(limit)
        )
        return (await session.execute(query)).scalars().all()

    async def mark(
        self,
        session: AsyncSession,
        event_id: str,
        *,
        status: WebhookEventStatus,
        error: str | None,
        processed_at: datetime | None,
    ) -> None:
        await session.execute(
            update(WebhookEvent)
            .where(WebhookEvent.id == event_id)
            .values(
                status=status,
                error=error,
                processed_at=processed_at,
                attempts=WebhookEvent.attempts + 1,
            )
        )

    async def record_failure(self, session: AsyncSession, event_id: str, *, error: str) -> None:
        """A just-stored event whose merge failed (its one attempt was counted on insert)."""
        await session.execute(
            update(WebhookEvent)
            .where(WebhookEvent.id == event_id)
            .values(status=WebhookEventStatus.FAILED, error=error, processed_at=None)
        )

    async def delete_received_before(self, session: AsyncSession, cutoff: datetime) -> int:
        """Retention: raw bodies hold customers' phone numbers, so old ones are not kept."""
        result = await session.execute(
            delete(WebhookEvent).where(WebhookEvent.received_at < cutoff)
        )
        return affected_rows(result)


@cache
def _insert_if_new(dialect: str) -> Any:
    """Built once per dialect: composing the statement cost more than running it."""
    table = table_of(WebhookEvent)
    return (
        dialect_insert(dialect, table)
        .on_conflict_do_nothing(index_elements=["integration_id", "dedupe_key"])
        .returning(table.c.id)
    )


webhook_event_repository = WebhookEventRepository()
