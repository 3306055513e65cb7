from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.dashboard.models import InstanceSecret
from app.db import utcnow
from app.dialect import upsert_insert


class InstanceSecretRepository:
    async def get_or_create(self, session: AsyncSession, name: str, candidate: str) -> str:
        """The secret called ``name``; ``candidate`` becomes it when there is none yet.

        Two processes starting at once both insert: ON CONFLICT DO NOTHING lets one win and both
        read the winner back, so every process signs with the same key.
        """
        insert = upsert_insert(session, InstanceSecret).values(
            name=name, value=candidate, created_at=utcnow()
        )
        await session.execute(insert.on_conflict_do_nothing(index_elements=["name"]))
        value = await session.scalar(
            select(InstanceSecret.value).where(InstanceSecret.name == name)
        )
        assert value is not None
        return value


instance_secret_repository = InstanceSecretRepository()
