"""Authentication and role checks as FastAPI dependencies.

Every ``/api/v1`` router depends on ``CurrentPrincipal``; routes narrow it with ``require_role``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.auth.roles import Role
from app.auth.service import Principal, api_key_service
from app.db import READ_ONLY, SessionDep, get_database
from app.errors import Forbidden, NotAuthenticated

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer cf_...`")


async def current_principal(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or not credentials.credentials:
        raise NotAuthenticated("an API key is required: send 'Authorization: Bearer <key>'")
    principal = await api_key_service.authenticate(session, credentials.credentials)
    if principal is None:
        raise NotAuthenticated("the API key is unknown or revoked")
    if api_key_service.needs_touch(principal):
        if session.info.get(READ_ONLY):
            # Its own short write, so that a read-only request stays read-only.
            async with get_database(request).unit_of_work() as write_session:
                await api_key_service.record_use(write_session, principal)
        else:
            # A write request already holds SQLite's write lock: a second writer would wait on it.
            await api_key_service.record_use(session, principal)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_role(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    allowed = frozenset(roles)

    async def check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in allowed:
            names = ", ".join(sorted(role.value for role in allowed))
            raise Forbidden(f"this action needs one of the roles: {names}")
        return principal

    return check


AdminPrincipal = Annotated[Principal, Depends(require_role(Role.ADMIN))]
WriterPrincipal = Annotated[Principal, Depends(require_role(Role.ADMIN, Role.HEAD))]
