"""Authentication and role checks as FastAPI dependencies.

Every ``/api/v1`` router depends on ``CurrentPrincipal``; routes narrow it with ``require_role``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

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
    key = credentials.credentials
    principal = await look_up_principal(
        request, lambda session: api_key_service.authenticate(session, key)
    )
    if principal is None:
        raise NotAuthenticated("the API key is unknown or revoked")
    return principal


async def look_up_principal(
    request: Request, find: Callable[[AsyncSession], Awaitable[Principal | None]]
) -> Principal | None:
    """``find`` in a read-only unit of work of its own, then the last-used stamp in another: both
    give their connection back before the route opens its session (see ``current_principal``).
    The dashboard's sessions find their principal here too, by the key's id."""
    database = get_database(request)
    async with database.unit_of_work(read_only=True) as session:
        principal = await find(session)
    if principal is not None and api_key_service.needs_touch(principal):
        async with database.unit_of_work() as write_session:
            await api_key_service.record_use(write_session, principal)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_role(
    *roles: Role, of: Callable[..., Awaitable[Principal]] = current_principal
) -> Callable[[Principal], Awaitable[Principal]]:
    """``of`` finds the caller: the API key by default, the dashboard's session for its pages."""
    allowed = frozenset(roles)

    # A default, not an annotation: ``Annotated[..., Depends(of)]`` would be read as a string,
    # where the closure's ``of`` is out of reach.
    async def check(principal: Principal = Depends(of)) -> Principal:
        if principal.role not in allowed:
            names = ", ".join(sorted(role.value for role in allowed))
            raise Forbidden(f"this action needs one of the roles: {names}")
        return principal

    return check


AdminPrincipal = Annotated[Principal, Depends(require_role(Role.ADMIN))]
WriterPrincipal = Annotated[Principal, Depends(require_role(Role.ADMIN, Role.HEAD))]
