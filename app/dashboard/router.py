"""The dashboard: server-rendered pages at ``/``, beside the API at ``/api/v1``.

How to add a page: a module in ``app/dashboard/pages/`` with ``router = page_router()`` (from
``app.dashboard.routing``) and handlers that take ``PagePrincipal`` (or ``AdminPagePrincipal``,
``WriterPagePrincipal``; ``app.dashboard.auth``) and answer ``render(request, "x.html", ...)``
(``app.dashboard.rendering``); its template extends ``base.html``; one line in ``_PAGES`` below.
Unsafe methods are CSRF-checked for every page here; forms put ``{{ csrf_field() }}`` inside.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from app.config import Settings
from app.dashboard.auth import check_csrf
from app.dashboard.pages import (
    callbacks,
    calls,
    leads,
    managers,
    overview,
    quality,
    reports,
    signin,
)
from app.dashboard.pages import settings as settings_pages
from app.dashboard.ratelimit import FailureLimiter
from app.dashboard.secret import require_secret_in_production

_PAGES = (signin, overview, managers, leads, calls, callbacks, quality, reports, settings_pages)

router = APIRouter(dependencies=[Depends(check_csrf)], include_in_schema=False)
for _page in _PAGES:
    router.include_router(_page.router)


def mount_dashboard(app: FastAPI, settings: Settings) -> None:
    """The pages and their static files; after every other router, so none is shadowed."""
    require_secret_in_production(settings)
    app.state.dashboard_limiter = FailureLimiter(limit=settings.login_failures_per_minute)
    app.mount("/static", StaticFiles(packages=[("app.dashboard", "static")]), name="static")
    app.include_router(router)
