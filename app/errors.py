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
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.logging import mask_integration_ids

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://callfunnel.dev/problems/"

log = structlog.get_logger("callfunnel.errors")


class Problem(BaseModel):
    """RFC 9457 problem details, as every error of the API is answered."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="Validation errors: where (`loc`) and what (`msg`)."
    )


def _problem_response_doc(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": Problem.model_json_schema()}},
    }


# The errors any /api/v1 operation may answer, documented once for all of them (OpenAPI).
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _problem_response_doc("Bad request"),
    401: _problem_response_doc("No API key, or an unknown or revoked one"),
    403: _problem_response_doc("The key's role may not do this"),
    404: _problem_response_doc("No such resource (or not readable with this key)"),
    409: _problem_response_doc("Conflicts with the current state"),
    422: _problem_response_doc("Invalid input"),
}
# The PBX-facing endpoints authenticate by signature and never answer 403 for roles.
WEBHOOK_PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    **{code: PROBLEM_RESPONSES[code] for code in (401, 403, 404, 422)},
    413: _problem_response_doc("The body is too large"),
}


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

    @classmethod
    def at(cls, *loc: str, msg: str, detail: str | None = None) -> Unprocessable:
        """A 422 about one input, shaped like FastAPI's own validation errors: ``loc`` says where
        (``"body", "owner_id"``; ``"query", "from"``), ``msg`` what is wrong with it, ``detail``
        the sentence for a person (``msg`` itself when not given)."""
        return cls(detail or msg, errors=[{"loc": list(loc), "msg": msg}])


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


def unexpected_error_response(exc: Exception, request_id: str | None, path: str) -> JSONResponse:
    """503 when the database cannot be had, 500 otherwise; logged without secrets.

    The log line carries the masked path and the traceback; app.logging scrubs integration ids,
    SQL parameters and secrets from both, and the engines never render parameters at all.
    """
    if isinstance(exc, DBAPIError):
        problem = constraint_problem(exc)
        if problem is not None:
            log.info("request.constraint", request_id=request_id, error=type(exc.orig).__name__)
            return problem_response(problem.status, problem.detail, slug=problem.slug)
    if isinstance(exc, SQLAlchemyTimeoutError):
        # Every pooled connection is busy for the whole pool timeout: overload, not a bug.
        log.error("database.pool_exhausted", request_id=request_id, path=mask_integration_ids(path))
        return database_unavailable()
    if is_connection_error(exc):
        log.error("database.unavailable", request_id=request_id, error=type(exc).__name__)
        return database_unavailable()
    log.error(
        "request.failed",
        request_id=request_id,
        path=mask_integration_ids(path),
        error=type(exc).__name__,
        exc_info=exc,
    )
    return problem_response(
        500,
        f"an unexpected error occurred; quote request id {request_id} when reporting it",
    )


# SQLSTATE classes of PostgreSQL, and the words SQLite uses for the same violations.
_UNIQUE, _FOREIGN_KEY, _NOT_NULL, _CHECK = "23505", "23503", "23502", "23514"
_RACE_STATES = frozenset({"40P01", "40001"})  # deadlock detected, serialisation failure
# A server shutting down, crashed or still starting up (asyncpg raises these as plain errors,
# on a connect or on a connection the server ends): the database is away, not the statement bad.
_SERVER_AWAY_STATES = frozenset({"57P01", "57P02", "57P03"})
_SQLITE_WORDS = (
    ("UNIQUE constraint failed", _UNIQUE),
    ("FOREIGN KEY constraint failed", _FOREIGN_KEY),
    ("NOT NULL constraint failed", _NOT_NULL),
    ("CHECK constraint failed", _CHECK),
)


def _sqlstate(exc: DBAPIError) -> str | None:
    state = getattr(exc.orig, "sqlstate", None)
    if state:
        return str(state)
    text = str(exc.orig)
    return next((code for words, code in _SQLITE_WORDS if words in text), None)


def _is_unavailable_state(state: str | None) -> bool:
    # Class 08: connection exceptions (the connection failed or was lost).
    return state is not None and (state.startswith("08") or state in _SERVER_AWAY_STATES)


def constraint_problem(exc: DBAPIError) -> ProblemError | None:
    """The 4xx a constraint violation or a lost race means, or None for anything else.

    Services check the rules they know before writing and answer their own precise 409/422; the
    constraints are what makes the rules hold under concurrency. A request that loses such a race
    (two contracts for one application at once, two open applications for one lead) gets here,
    and is told so, instead of a 500. The message names no values: they may belong to a record
    the caller may not see.
    """
    state = _sqlstate(exc)
    if state == _UNIQUE:
        return Conflict("the change conflicts with existing data (made concurrently?); reload")
    if state == _FOREIGN_KEY:
        return Conflict("the change refers to a record that no longer exists; reload")
    if state in {_NOT_NULL, _CHECK}:
        return Unprocessable("a required value is missing or a value is out of range")
    if state in _RACE_STATES:
        return Conflict("a concurrent change collided with this one; nothing was saved, try again")
    return None


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    return unexpected_error_response(
        exc, getattr(request.state, "request_id", None), request.url.path
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    # Database and network failures are handled inside the app (these classes), so the response
    # is a 503 that ends the request cleanly; anything else reaches the outermost catch-all.
    app.add_exception_handler(DBAPIError, _on_unexpected)
    app.add_exception_handler(SQLAlchemyTimeoutError, _on_unexpected)
    app.add_exception_handler(OSError, _on_unexpected)
    app.add_exception_handler(Exception, _on_unexpected)


def is_connection_error(exc: BaseException) -> bool:
    """True when ``exc`` means the database cannot be reached (as opposed to a bad statement).

    Drivers disagree: SQLAlchemy wraps some failures as ``OperationalError``, while asyncpg lets
    a refused connect escape as a bare ``OSError`` (sometimes "Multiple exceptions: …" with no
    errno), so both shapes count.
    """
    if isinstance(exc, DBAPIError):
        return (
            bool(exc.connection_invalidated)
            or isinstance(exc, OperationalError)
            or _is_unavailable_state(_sqlstate(exc))
        )
    return isinstance(exc, ConnectionError | TimeoutError) or (
        isinstance(exc, OSError) and "connect" in str(exc).lower()
    )
