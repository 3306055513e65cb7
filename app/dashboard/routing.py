"""``PageRoute``: what every dashboard route does around its handler.

- The session is read from its cookie before the handler, and the cookie is (re)issued after it
  when it is new, changed, or a minute old (the idle clock restarts).
- Blank query values (``?direction=``: a filter form's "any") are dropped, so a page can use the
  API's own query dependencies, whose enums refuse an empty string.
- Errors answer as pages, not problem+json: no session → the sign-in page (303, with ``next``);
  a ``ProblemError`` or invalid input → an error page with its status.
- Every answer carries headers that keep pages out of frames and shared caches.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from app.config import Settings
from app.dashboard.auth import SignInRequired
from app.dashboard.rendering import render
from app.dashboard.secret import session_signer
from app.dashboard.sessions import SESSION_COOKIE
from app.dashboard.state import PageState, page_state
from app.errors import ProblemError
from app.proxies import request_scheme

_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # Scripts only from our own static files; styles may be inline (charts, small tweaks).
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; media-src 'self'; frame-ancestors 'none'; form-action 'self'"
    ),
}


def safe_next(target: str | None) -> str:
    """A local path to go to after signing in; anything else (another host, ``//host``,
    ``/\\host``, a scheme, control characters) is the Overview: no open redirect."""
    if (
        not target
        or not target.startswith("/")
        or target.startswith(("//", "/\\"))
        or any(ord(char) < 0x21 or char == "\\" for char in target)
    ):
        return "/"
    return target


def _without_blank_query(request: Request) -> Request:
    raw = request.scope.get("query_string", b"")
    pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True)
    kept = [(name, value) for name, value in pairs if value != ""]
    if len(kept) == len(pairs):
        return request
    # The same state dict: what the handler records there is seen after it.
    scope = {**request.scope, "query_string": urlencode(kept).encode("latin-1")}
    return Request(scope, request.receive)


def _is_https(request: Request) -> bool:
    settings: Settings = request.app.state.settings
    peer = request.client.host if request.client else None
    forwarded = request.headers.get("x-forwarded-proto")
    return request_scheme(request.url.scheme, peer, forwarded, settings.trusted_proxies) == "https"


def _sign_in(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(safe_next(target), safe='/')}", status_code=303)


def error_page(request: Request, status: int, detail: str) -> Response:
    return render(request, "error.html", status_code=status, status=status, detail=detail)


class PageRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            request = _without_blank_query(request)
            signer = await session_signer(request)
            cookie = request.cookies.get(SESSION_COOKIE)
            request.state.dashboard = PageState.from_cookie(
                signer.loads(cookie) if cookie else None
            )
            try:
                response = await handler(request)
            except SignInRequired:
                response = _sign_in(request)
            except ProblemError as exc:
                response = error_page(request, exc.status, exc.detail)
            except RequestValidationError as exc:
                first = exc.errors()[0] if exc.errors() else {}
                where = ".".join(str(part) for part in first.get("loc", ()))
                response = error_page(request, 422, f"{where}: {first.get('msg', 'invalid')}")
            except HTTPException as exc:
                response = error_page(request, exc.status_code, str(exc.detail))
            state = page_state(request)
            if state.reissue:
                response.set_cookie(
                    SESSION_COOKIE,
                    signer.dumps(state.session),
                    max_age=int(signer.idle.total_seconds()),
                    httponly=True,
                    samesite="lax",
                    secure=_is_https(request),
                    path="/",
                )
            for name, value in _HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        return page_handler


def page_router() -> APIRouter:
    """The router of one page module: its routes are ``PageRoute``s, kept out of the OpenAPI."""
    return APIRouter(route_class=PageRoute, include_in_schema=False)
