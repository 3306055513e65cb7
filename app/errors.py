"""RFC 9457 problem details for every error the API gives.

Services raise ``ProblemError`` subclasses (they know what went wrong in domain terms); the handlers
here turn those, validation errors and anything unexpected into ``application/problem+json``.
"""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://callfunnel.dev/problems/"

log = structlog.get_logger("callfunnel.errors")


class ProblemError(Exception):
    """An error with a place in the API contract: its status, a stable type slug and a message."""

    status: int = 400
    slug: str = "bad-request"

    def __init__(self, detail: str, *, errors: Sequence[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors) if errors else None


class BadRequest(ProblemError):
    status, slug = 400, "bad-request"


class NotAuthenticated(ProblemError):
    status, slug = 401, "not-authenticated"


class Forbidden(ProblemError):
    status, slug = 403, "forbidden"


class NotFound(ProblemError):
    status, slug = 404, "not-found"


class Conflict(ProblemError):
    status, slug = 409, "conflict"


class PayloadTooLarge(ProblemError):
    status, slug = 413, "payload-too-large"


class Unprocessable(ProblemError):
    status, slug = 422, "validation-error"


class ServiceUnavailable(ProblemError):
    status, slug = 503, "service-unavailable"


def problem_response(
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    errors: Sequence[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    phrase = HTTPStatus(status).phrase
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + (slug or phrase.lower().replace(" ", "-")),
        "title": phrase,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = list(errors)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Only location and message: echoing the input back could leak secrets sent in the body.
    return [
        {"loc": [str(part) for part in err.get("loc", ())], "msg": str(err.get("msg", ""))}
        for err in exc.errors()
    ]


async def _on_problem(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(exc.status, exc.detail, slug=exc.slug, errors=exc.errors)


async def _on_validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _validation_errors(exc)
    first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
    loc = ".".join(first["loc"])
    detail = f"{loc}: {first['msg']}" if loc else str(first["msg"])
    return problem_response(422, detail, slug="validation-error", errors=errors)


async def _on_http(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers) if exc.headers else None
    return problem_response(exc.status_code, str(exc.detail), headers=headers)


def database_unavailable() -> JSONResponse:
    return problem_response(
        503,
        "the database is unavailable; try again shortly",
        slug="service-unavailable",
        headers={"Retry-After": "5"},
    )


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    request_id = getattr(request.state, "request_id", None)
    if is_connection_error(exc):
        log.error("database.unavailable", request_id=request_id, error=type(exc).__name__)
        return database_unavailable()
    log.exception("request.failed", request_id=request_id, path=request.url.path)
    return problem_response(
        500,
        f"an unexpected error occurred; quote request id {request_id} when reporting it",
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    # Database and network failures are handled inside the app (these classes), so the response
    # is a 503 that ends the request cleanly; anything else reaches the outermost catch-all.
    app.add_exception_handler(DBAPIError, _on_unexpected)
    app.add_exception_handler(OSError, _on_unexpected)
    app.add_exception_handler(Exception, _on_unexpected)


def is_connection_error(exc: BaseException) -> bool:
    """True when ``exc`` means the database cannot be reached (as opposed to a bad statement).

    Drivers disagree: SQLAlchemy wraps some failures as ``OperationalError``, while asyncpg lets
    a refused connect escape as a bare ``OSError`` (sometimes "Multiple exceptions: …" with no
    errno), so both shapes count.
    """
    if isinstance(exc, DBAPIError):
        return bool(exc.connection_invalidated) or isinstance(exc, OperationalError)
    return isinstance(exc, ConnectionError | TimeoutError) or (
        isinstance(exc, OSError) and "connect" in str(exc).lower()
    )
