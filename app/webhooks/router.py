"""The PBX-facing endpoints: ``/webhooks/{provider}/{integration_id}[/{subpath}]``.

Authenticated by each provider's own signature, not by API keys. The handler commits explicitly
before answering: the 200 is the promise that the raw request is durably stored.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from app.config import SettingsDep
from app.db import get_database
from app.errors import (
    WEBHOOK_PROBLEM_RESPONSES,
    Forbidden,
    NotAuthenticated,
    NotFound,
    PayloadTooLarge,
    Unprocessable,
)
from app.proxies import client_address
from app.telemetry.instruments import count_ingested, mark_webhook_delivery
from app.webhooks.providers import ADAPTERS, get_adapter
from app.webhooks.providers._common import read_form
from app.webhooks.providers.base import (
    ForbiddenSourceError,
    InboundRequest,
    MalformedRequestError,
    SignatureError,
)
from app.webhooks.service import webhook_service

router = APIRouter(prefix="/webhooks", tags=["webhooks"], responses=WEBHOOK_PROBLEM_RESPONSES)
# Mounted only with CALLFUNNEL_BENCH_BARE_ENDPOINT=1 (see bench/ingest.py).
bare_router = APIRouter(prefix="/bench/bare", include_in_schema=False)

# Kept with each raw event to explain where it came from; never the signature or cookies.
_KEPT_HEADERS = ("user-agent", "x-forwarded-for", "x-real-ip")


async def _read_capped(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the body is over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body is over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@router.api_route("/{provider}/{integration_id}", methods=["GET", "POST"], include_in_schema=False)
# GET and POST as two routes: one route with both methods documents two operations under one id.
@router.get("/{provider}/{integration_id}/{subpath:path}", summary="Answer a PBX's set-up check")
@router.post("/{provider}/{integration_id}/{subpath:path}", summary="Receive a PBX webhook")
async def receive_webhook(
    provider: str,
    integration_id: str,
    request: Request,
    settings: SettingsDep,
    subpath: str = "",
) -> Response:
    if provider not in ADAPTERS:
        raise NotFound("no such webhook endpoint")
    mark_webhook_delivery(request.scope, provider)
    database = get_database(request)
    integration = await webhook_service.integration_for(database, provider, integration_id)
    body = await _read_capped(request, settings.max_webhook_body_bytes)
    inbound = InboundRequest(
        method=request.method,
        subpath=subpath,
        query=dict(request.query_params),
        headers={name.lower(): value for name, value in request.headers.items()},
        body=body,
        client_ip=client_address(
            request.client.host if request.client else None,
            request.headers.get("x-forwarded-for"),
            settings.trusted_proxies,
        ),
        integration_id=integration.id,
        raw_query=request.url.query,
    )
    adapter = get_adapter(provider)
    config = integration.config
    reply = adapter.handshake(inbound, config)
    if reply is not None:
        return Response(reply.text, status_code=reply.status_code, media_type=reply.media_type)
    try:
        adapter.verify(inbound, config)
        events = adapter.split(inbound)
    except SignatureError as exc:
        raise NotAuthenticated(f"signature check failed: {exc}") from exc
    except ForbiddenSourceError as exc:
        raise Forbidden(str(exc)) from exc
    except MalformedRequestError as exc:
        raise Unprocessable(str(exc)) from exc
    kept = {name: inbound.headers[name] for name in _KEPT_HEADERS if name in inbound.headers}
    if inbound.client_ip:
        kept["client-ip"] = inbound.client_ip
    # The unit of work commits when the block ends, before the answer is sent: a 200 means stored.
    # Webhooks have a pool of their own, so API traffic never makes a PBX wait for a connection.
    async with database.unit_of_work(ingestion=True) as session:
        result = await webhook_service.ingest(session, integration, events, headers=kept)
    # Counted once committed: an ingestion done again after a lost race counts once.
    count_ingested(
        provider, stored=result.stored, duplicates=result.duplicates, failed=result.failed
    )
    return JSONResponse({"status": "ok", "stored": result.stored, "duplicates": result.duplicates})


@bare_router.post("/{provider}/{integration_id}/{subpath:path}")
async def bare_webhook(request: Request, settings: SettingsDep) -> Response:
    """What every webhook costs before ingestion starts: routing, reading and parsing the form."""
    try:
        read_form(await _read_capped(request, settings.max_webhook_body_bytes))
    except MalformedRequestError as exc:
        raise Unprocessable(str(exc)) from exc
    return JSONResponse({"status": "ok", "stored": 0, "duplicates": 0})
