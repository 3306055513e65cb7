from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import ApiKey
from app.auth.roles import Role


class ApiKeyRepository:
    async def get_by_hash(self, session: AsyncSession, key_hash: str) -> ApiKey | None:
        result = await session.execute(select(ApiKey).where(ApiKey.hash == key_hash))
        return result.scalar_one_or_none()

    async def get(self, session: AsyncSession, key_id: str) -> ApiKey | None:
        return await session.get(ApiKey, key_id)

    async def list(
        self, session: AsyncSession, *, limit: int, after_id: str | None
    ) -> Sequence[ApiKey]:
        query = select(ApiKey).order_by(ApiKey.id).limit(limit)
        if after_id is not None:
            query = query.where(ApiKey.id > after_id)
        return (await session.execute(query)).scalars().all()

    async def active_admin_exists(self, session: AsyncSession) -> bool:
        query = select(exists().where(ApiKey.role == Role.ADMIN, ApiKey.revoked_at.is_(None)))
        return bool(await session.scalar(query))

    async def touch(self, session: AsyncSession, key_id: str, when: datetime) -> None:
        await session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=when))

    def add(self, session: AsyncSession, key: ApiKey) -> None:
        session.add(key)


api_key_repository = ApiKeyRepository()
