"""Plain async factories for test data; each commits its own unit of work."""

from __future__ import annotations

from app.auth.roles import Role
from app.auth.service import api_key_service
from app.db import Database


async def make_key(database: Database, role: Role, employee_id: str | None = None) -> str:
    async with database.sessions.begin() as session:
        _, key = await api_key_service.create(
            session, name=f"test {role.value}", role=role, employee_id=employee_id
        )
    return key


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
