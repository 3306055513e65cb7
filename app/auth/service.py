"""API keys: random, shown once, stored as a SHA-256 hash.

A plain hash (not a slow password hash) is right here: keys carry 256 random bits, so there is
nothing to brute-force, and every request must look one up quickly.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import ApiKey
from app.auth.repository import api_key_repository
from app.auth.roles import Role
from app.auth.scope import Scope
from app.db import utcnow
from app.employees.repository import employee_repository
from app.errors import NotFound, Unprocessable
from app.ids import new_id

KEY_PREFIX = "cf_"
# How stale last_used_at may get before a request refreshes it: a write per request would turn
# every read into a write (and on SQLite, take the write lock).
LAST_USED_RESOLUTION = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key's id, its role and, for managers, the employee it acts as."""

    key_id: str
    role: Role
    employee_id: str | None
    last_used_at: datetime | None = None

    @property
    def scope(self) -> Scope:
        """What this key may read (``app.auth.scope``: the one place that decides it)."""
        return Scope.of(self.role, self.employee_id)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def _principal(row: ApiKey | None) -> Principal | None:
    if row is None or row.revoked_at is not None:
        return None
    return Principal(
        key_id=row.id,
        role=Role(row.role),
        employee_id=row.employee_id,
        last_used_at=row.last_used_at,
    )


class ApiKeyService:
    async def create(
        self,
        session: AsyncSession,
        *,
        name: str,
        role: Role,
        employee_id: str | None,
        key: str | None = None,
    ) -> tuple[ApiKey, str]:
        """Create a key; returns the row and the key itself (the only time it is known)."""
        if role is Role.MANAGER:
            if employee_id is None:
                raise Unprocessable.at(
                    "body",
                    "employee_id",
                    msg="required for manager",
                    detail="a manager key must name the employee it acts as (employee_id)",
                )
        elif employee_id is not None:
            raise Unprocessable.at(
                "body",
                "employee_id",
                msg="only for manager keys",
                detail="only manager keys are bound to an employee",
            )
        if employee_id is not None and await employee_repository.get(session, employee_id) is None:
            raise NotFound(f"employee {employee_id} not found")
        secret = key or generate_key()
        row = ApiKey(
            id=new_id("key"),
            name=name,
            role=role,
            employee_id=employee_id,
            hash=hash_key(secret),
            prefix=secret[:10],
        )
        api_key_repository.add(session, row)
        await session.flush()
        return row, secret

    async def authenticate(self, session: AsyncSession, key: str) -> Principal | None:
        return _principal(await api_key_repository.get_by_hash(session, hash_key(key)))

    async def principal_of(self, session: AsyncSession, key_id: str) -> Principal | None:
        """The principal of a key already authenticated once (a dashboard session names its key
        by id); None once the key is revoked, so revoking a key ends its sessions too."""
        return _principal(await api_key_repository.get(session, key_id))

    def needs_touch(self, principal: Principal) -> bool:
        last = principal.last_used_at
        return last is None or utcnow() - last > LAST_USED_RESOLUTION

    async def record_use(self, session: AsyncSession, principal: Principal) -> None:
        await api_key_repository.touch(session, principal.key_id, utcnow())

    async def revoke(self, session: AsyncSession, key_id: str) -> ApiKey:
        row = await api_key_repository.get(session, key_id)
        if row is None:
            raise NotFound(f"API key {key_id} not found")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
        return row

    async def ensure_bootstrap_admin(self, session: AsyncSession, key: str) -> bool:
        """Make ``key`` an admin key when no admin key exists yet; True when one was created."""
        if await api_key_repository.active_admin_exists(session):
            return False
        if await api_key_repository.get_by_hash(session, hash_key(key)) is not None:
            return False
        await self.create(
            session, name="bootstrap admin", role=Role.ADMIN, employee_id=None, key=key
        )
        return True


api_key_service = ApiKeyService()
