"""The application factory: routers, error handlers, middleware and the lifespan."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import structlog
from fastapi import APIRouter, Depends, FastAPI
from sqlalchemy.exc import DBAPIError
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.auth.dependencies import current_principal
from app.auth.router import router as api_keys_router
from app.auth.service import api_key_service
from app.callbacks.router import cases_router as callback_cases_router
from app.callbacks.router import metrics_router as callback_metrics_router
from app.calls.router import router as calls_router
from app.cdr.router import router as cdr_router
from app.config import Settings, get_settings
from app.dashboard.router import mount_dashboard
from app.db import Database, create_database
from app.edge import RejectUnstorableText
from app.employees.router import router as employees_router
from app.errors import PROBLEM_RESPONSES, install_error_handlers, unexpected_error_response
from app.health import router as health_router
from app.ids import new_id
from app.integrations.router import router as integrations_router
from app.leads.applications_router import applications_router, contracts_router
from app.leads.router import router as leads_router
from app.leads.scripts_router import router as scripts_router
from app.logging import configure_logging, mask_integration_ids
from app.metrics.router import router as metrics_router
from app.quality.router import router as quality_router
from app.quality.service import checklist_service
from app.recordings.router import router as recordings_router
from app.recordings.worker import running_worker, storage_for
from app.reports.router import router as reports_router
from app.settings.router import router as settings_router
from app.telemetry.instruments import observe_request
from app.telemetry.router import router as telemetry_router
from app.webhooks.events_router import router as webhook_events_router
from app.webhooks.router import bare_router as bare_webhooks_router
from app.webhooks.router import router as webhooks_router

log = structlog.get_logger("callfunnel")

# A caller's own request id is echoed only when it cannot smuggle anything into a log line.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class RequestContext:
    """Gives every request an id (echoed in ``X-Request-ID``, bound to its log lines) and logs it.

    A plain ASGI middleware: ``@app.middleware("http")`` runs each request through a task group
    and memory streams, which cost 0.7 ms a request: twice what the rest of a bare endpoint costs.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get("x-request-id", "")
        request_id = given if _REQUEST_ID.fullmatch(given) else new_id("req")
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        responded = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, responded
            if message["type"] == "http.response.start":
                status = message["status"]
                responded = True
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            # Exceptions of no handled class (RecursionError, OverflowError…) are answered here,
            # inside the access log: the request still gets its line, and nothing re-raises into
            # uvicorn, whose own traceback would print the unmasked path and the error's text.
            if responded:
                raise
            response = unexpected_error_response(exc, request_id, scope["path"])
            await response(scope, receive, send_with_id)
        finally:
            structlog.contextvars.unbind_contextvars("request_id")
        elapsed = time.perf_counter() - started
        observe_request(scope, status, elapsed)
        log.info(
            "http.request",
            request_id=request_id,
            method=scope["method"],
            path=mask_integration_ids(scope["path"]),
            status=status,
            ms=round(elapsed * 1000, 1),
        )


async def _bootstrap_admin(database: Database, settings: Settings) -> None:
    if settings.bootstrap_admin_key is None:
        return
    async with database.unit_of_work() as session:
        created = await api_key_service.ensure_bootstrap_admin(
            session, settings.bootstrap_admin_key.get_secret_value()
        )
    if created:
        log.info("auth.bootstrap_admin_key.created")


async def _default_checklist(database: Database) -> None:
    """Script quality needs its default checklist; the migration made it, unless the database was
    emptied since. A database that is down or not migrated yet must not stop the start-up: the
    readiness probe reports it, and the next start inserts the checklist."""
    try:
        async with database.unit_of_work() as session:
            created = await checklist_service.ensure_default(session)
    except (DBAPIError, OSError) as exc:
        log.warning("quality.default_checklist.skipped", error=type(exc).__name__)
        return
    if created:
        log.info("quality.default_checklist.created")


def create_app(settings: Settings | None = None, *, run_worker: bool = False) -> FastAPI:
    """The API; with ``run_worker`` it also downloads recordings in-process (embedded mode)."""
    settings = settings or get_settings()
    configure_logging(settings.log_level, json_output=settings.log_json)
    for warning in settings.startup_warnings():
        log.warning("config.warning", message=warning)
    database = create_database(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Playback reads the recordings: a bucket that does not exist must stop the start-up.
        await storage_for(settings).verify()
        await _bootstrap_admin(database, settings)
        await _default_checklist(database)
        async with AsyncExitStack() as stack:
            if run_worker:
                await stack.enter_async_context(running_worker(database, settings))
            yield
        await database.dispose()

    app = FastAPI(
        title="callfunnel",
        version="0.1.0",
        summary="Cold-call funnel analytics for cloud PBXs.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = database
    install_error_handlers(app)

    # Inside RequestContext (added last, so outermost): refused requests still get their log line.
    app.add_middleware(RejectUnstorableText)
    app.add_middleware(RequestContext)

    api = APIRouter(
        prefix="/api/v1", dependencies=[Depends(current_principal)], responses=PROBLEM_RESPONSES
    )
    for router in (
        api_keys_router,
        employees_router,
        integrations_router,
        cdr_router,
        settings_router,
        calls_router,
        recordings_router,
        webhook_events_router,
        leads_router,
        applications_router,
        contracts_router,
        scripts_router,
        metrics_router,
        callback_metrics_router,
        callback_cases_router,
        reports_router,
        quality_router,
    ):
        api.include_router(router)
    # Routes match in order: the PBXs' webhooks, the busiest, come before the API's many routes.
    app.include_router(webhooks_router)
    if settings.bench_bare_endpoint:
        app.include_router(bare_webhooks_router)
    app.include_router(api)
    app.include_router(health_router)
    app.include_router(telemetry_router)
    # Last: its pages at / must not shadow the webhooks, the API, the probes or the docs.
    mount_dashboard(app, settings)
    return app
