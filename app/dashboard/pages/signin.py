"""Signing in with an API key, signing out, and the language switch."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import Form, Request, Response
from fastapi.responses import RedirectResponse

from app.auth.dependencies import look_up_principal
from app.auth.service import api_key_service
from app.dashboard.auth import client_of
from app.dashboard.i18n import LANG_COOKIE
from app.dashboard.ratelimit import FailureLimiter
from app.dashboard.rendering import render
from app.dashboard.routing import page_router, safe_next
from app.dashboard.sessions import DashboardSession
from app.dashboard.state import page_state
from app.reports.i18n import LANGS

router = page_router()

_LANG_MAX_AGE = 365 * 24 * 3600


def _limiter(request: Request) -> FailureLimiter:
    limiter: FailureLimiter = request.app.state.dashboard_limiter
    return limiter


@router.get("/login")
async def sign_in_form(request: Request, next: str = "/") -> Response:
    return render(request, "login.html", next=safe_next(next), failed=False)


@router.post("/login")
async def sign_in(
    request: Request,
    api_key: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    client, now, limiter = client_of(request), time.monotonic(), _limiter(request)
    retry_after = limiter.retry_after(client, now)
    if retry_after is not None:
        return render(
            request,
            "login.html",
            status_code=429,
            headers={"Retry-After": str(retry_after)},
            next=safe_next(next),
            failed=False,
            retry_after=retry_after,
        )
    key = api_key.strip()
    principal = await look_up_principal(
        request, lambda session: api_key_service.authenticate(session, key)
    )
    if principal is None:
        limiter.fail(client, now)
        return render(request, "login.html", status_code=401, next=safe_next(next), failed=True)
    limiter.succeed(client)
    page_state(request).replace(DashboardSession.signed_in(principal.key_id))
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout")
async def sign_out(request: Request) -> Response:
    page_state(request).replace(DashboardSession.anonymous())
    return RedirectResponse("/login", status_code=303)


@router.post("/language")
async def choose_language(
    lang: Annotated[str, Form()],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    response = RedirectResponse(safe_next(next), status_code=303)
    if lang in LANGS:
        response.set_cookie(
            LANG_COOKIE, lang, max_age=_LANG_MAX_AGE, httponly=True, samesite="lax", path="/"
        )
    return response
