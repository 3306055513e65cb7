from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.dialect import upsert_insert
from app.ids import new_id
from app.webhooks.models import WebhookEvent


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
    ) -> str | None:
        """Store a raw event unless its key is already stored; the new row's id, or None.

        ON CONFLICT DO NOTHING makes the unique constraint the arbiter: two concurrent deliveries
        of one event cannot both see "absent" and both insert, as a check-then-insert could.
        """
        statement = (
            upsert_insert(session, WebhookEvent)
            .values(
                id=new_id("wev"),
                integration_id=integration_id,
                dedupe_key=dedupe_key,
                received_at=received_at,
                path=path,
                content_type=content_type,
                headers=headers,
                body=body,
                status="received",
                attempts=0,
            )
            .on_conflict_do_nothing(index_elements=["integration_id", "dedupe_key"])
            .returning(WebhookEvent.id)
        )
        inserted: str | None = (await session.execute(statement)).scalar_one_or_none()
        return inserted

    async def get_many(self, session: AsyncSession, ids: Sequence[str]) -> Sequence[WebhookEvent]:
        query = select(WebhookEvent).where(WebhookEvent.id.in_(ids)).order_by(WebhookEvent.id)
        return (await session.execute(query)).scalars().all()

    async def list(
        self,
        session: AsyncSession,
        *,
        status: str | None,
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
        self, session: AsyncSession, status: str, *, limit: int
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
        status: str,
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


webhook_event_repository = WebhookEventRepository()
