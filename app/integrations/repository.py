from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.integrations.models import Integration


class IntegrationRepository:
    async def get_live(self, session: AsyncSession, integration_id: str) -> Integration | None:
        row = await session.get(Integration, integration_id)
        return row if row is not None and row.deleted_at is None else None

    async def list_live(
        self, session: AsyncSession, *, limit: int, after: tuple[datetime, str] | None
    ) -> Sequence[Integration]:
        query = (
            select(Integration)
            .where(Integration.deleted_at.is_(None))
            .order_by(Integration.created_at, Integration.id)
            .limit(limit)
        )
        if after is not None:
            # Ids are random (they are secrets), so creation time orders the list.
            query = query.where(tuple_(Integration.created_at, Integration.id) > after)
        return (await session.execute(query)).scalars().all()

    def add(self, session: AsyncSession, integration: Integration) -> None:
        session.add(integration)


integration_repository = IntegrationRepository()
