from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.settings.models import Setting

# The keys of the settings rows (the service validates each with its pydantic model).
ECONOMICS = "economics"
OPERATIONS = "operations"


class SettingRepository:
    async def get(self, session: AsyncSession, key: str) -> dict[str, Any] | None:
        row = await session.get(Setting, key)
        return row.value if row is not None else None

    async def put(self, session: AsyncSession, key: str, value: dict[str, Any]) -> None:
        row = await session.get(Setting, key)
        if row is None:
            session.add(Setting(key=key, value=value, updated_at=utcnow()))
        else:
            row.value = value
            row.updated_at = utcnow()
        await session.flush()


setting_repository = SettingRepository()
