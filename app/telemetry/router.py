"""``GET /metrics``: the Prometheus text format, for a metrics token or an admin key."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError

from app.auth.dependencies import current_principal
from app.auth.roles import Role
from app.config import SettingsDep
from app.db import get_database, utcnow
from app.errors import PROBLEM_RESPONSES, Forbidden, NotAuthenticated
from app.telemetry.exposition import exposition
from app.telemetry.service import LiveFigures, telemetry_service

router = APIRouter(tags=["operations"])
_bearer = HTTPBearer(auto_error=False, description="CALLFUNNEL_METRICS_TOKEN, or an admin API key")


async def metrics_reader(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    settings: SettingsDep,
) -> None:
    """The metrics token (no database needed, so an outage can still be scraped) or an admin key.

    The counts name no one, but they tell a competitor a customer's volume; so not every key.
    """
    if credentials is None or not credentials.credentials:
        raise NotAuthenticated("send 'Authorization: Bearer <metrics token or admin key>'")
    token = settings.metrics_token
    # Compared in constant time: a comparison that stops at the first wrong byte tells, by its
    # time, how much of a guess was right.
    if token is not None and secrets.compare_digest(
        credentials.credentials.encode(), token.get_secret_value().encode()
    ):
        return
    principal = await current_principal(request, credentials)
    if principal.role is not Role.ADMIN:
        raise Forbidden("metrics need the metrics token or an admin key")


async def _live_figures(request: Request) -> LiveFigures | None:
    try:
        async with get_database(request).unit_of_work(read_only=True) as session:
            return await telemetry_service.live_figures(session, now=utcnow())
    except (DBAPIError, SQLAlchemyTimeoutError, OSError):
        # An outage is exactly when the counters matter: answer them, with the database down.
        return None


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "The text format"},
        401: PROBLEM_RESPONSES[401],
        403: PROBLEM_RESPONSES[403],
    },
    dependencies=[Depends(metrics_reader)],
)
async def metrics(request: Request) -> Response:
    return Response(exposition(await _live_figures(request)), media_type=CONTENT_TYPE_LATEST)
