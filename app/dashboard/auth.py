"""Who is looking at a page: the session's API key, checked again on every request, as the
``Principal`` that key gives the API, so ``app.auth.scope`` applies to pages unchanged."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from app.auth.dependencies import look_up_principal, require_role
from app.auth.roles import Role
from app.auth.service import Principal, api_key_service
from app.config import Settings
from app.dashboard.sessions import DashboardSession
from app.dashboard.state import page_state
from app.errors import Forbidden
from app.proxies import client_address

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class SignInRequired(Exception):
    """No session, an idle one, or its key was revoked: the page answers with the sign-in page."""


async def page_principal(request: Request) -> Principal:
    state = page_state(request)
    key_id = state.session.key_id
    if key_id is None:
        raise SignInRequired
    principal = await look_up_principal(
        request, lambda session: api_key_service.principal_of(session, key_id)
    )
    if principal is None:
        state.replace(DashboardSession.anonymous())
        raise SignInRequired
    state.principal = principal
    return principal


PagePrincipal = Annotated[Principal, Depends(page_principal)]
AdminPagePrincipal = Annotated[Principal, Depends(require_role(Role.ADMIN, of=page_principal))]
WriterPagePrincipal = Annotated[
    Principal, Depends(require_role(Role.ADMIN, Role.HEAD, of=page_principal))
]


async def check_csrf(request: Request) -> None:
    """Every unsafe request carries the session's token, in the form or (scripts) a header.

    A forged cross-site form cannot read the token: it lives in the page, bound to the session.
    The form is parsed once; the route reads the same parsed form afterwards.
    """
    if request.method in _SAFE_METHODS:
        return
    given = request.headers.get(CSRF_HEADER)
    if given is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            value = (await request.form()).get(CSRF_FIELD)
            given = value if isinstance(value, str) else None
    expected = page_state(request).session.csrf
    if given is None or not hmac.compare_digest(given.encode(), expected.encode()):
        raise Forbidden("the form has expired or did not come from this site: reload the page")


def client_of(request: Request) -> str:
    settings: Settings = request.app.state.settings
    peer = request.client.host if request.client else None
    address = client_address(peer, request.headers.get("x-forwarded-for"), settings.trusted_proxies)
    return address or "unknown"
