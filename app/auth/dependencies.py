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
from app.db import get_database
from app.errors import Forbidden, NotAuthenticated

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer cf_...`")


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller, found with connections borrowed one at a time and returned before the route.

    A request must never hold one pooled connection while it waits for another: at pool size every
    request would hold one and wait for its second until the pool timeout (the probe froze the API
    at 15 concurrent requests that way). So authentication does not keep a session open for the
    route: its lookup (and the occasional last-used write) finish, and give their connection back,
    before the route's own session is opened. Routers list this dependency first, and FastAPI
    resolves a router's dependencies before the route's, so the order is guaranteed.
    """
    if credentials is None or not credentials.credentials:
        raise NotAuthenticated("an API key is required: send 'Authorization: Bearer <key>'")
    database = get_database(request)
    async with database.unit_of_work(read_only=True) as session:
        principal = await api_key_service.authenticate(session, credentials.credentials)
    if principal is None:
        raise NotAuthenticated("the API key is unknown or revoked")
    if api_key_service.needs_touch(principal):
        async with database.unit_of_work() as write_session:
            await api_key_service.record_use(write_session, principal)
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
