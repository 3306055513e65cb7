"""Liveness and readiness, unauthenticated, for load balancers and orchestrators."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.db import get_database
from app.migrations import current_revision, head_revision

router = APIRouter(tags=["service"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
async def readyz(request: Request) -> JSONResponse:
    head = head_revision()
    try:
        # The webhooks' pool: readiness must not wait behind a busy API to say the service is up.
        async with get_database(request).ingestion_engine.connect() as connection:
            current = await connection.run_sync(current_revision)
    except Exception as exc:
        return JSONResponse(
            {"status": "unavailable", "database": "unreachable", "error": type(exc).__name__},
            status_code=503,
        )
    ready = current == head
    return JSONResponse(
        {
            "status": "ok" if ready else "unavailable",
            "database": "ok",
            "migration": current,
            "expected_migration": head,
        },
        status_code=200 if ready else 503,
    )
