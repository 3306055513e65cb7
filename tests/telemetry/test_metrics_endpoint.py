"""GET /metrics: who may read it, and that the counters move with what the service does."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import pytest
from httpx import ASGITransport, AsyncClient

from app.auth.roles import Role
from app.calls.service import call_service
from app.cdr.models import CdrSyncCursor
from app.db import Database, utcnow
from app.main import create_app
from app.webhooks.providers import get_adapter
from app.webhooks.providers.simulation import SignedRequest
from tests.cdr.support import create_asterisk, upload
from tests.factories import (
    GENERIC_CONFIG,
    bearer,
    create_employee,
    create_integration,
    make_key,
    settings_for,
)
from tests.telemetry.conftest import MAX_BODY
from tests.telemetry.support import METRICS_TOKEN, TOKEN, Samples, moved, scrape
from tests.webhooks.delivery import spec

PROBLEM = "application/problem+json"
PHONE = "+79161234567"
CALL_ID = "metrics-call-7731"
WEBHOOK_ROUTE = "/webhooks/{provider}/{integration_id}"


def _requests(integration_id: str, *, recording: bool = False) -> Sequence[SignedRequest]:
    adapter = get_adapter("generic")
    config = adapter.config_model.model_validate(GENERIC_CONFIG)
    call = spec(CALL_ID, number=PHONE, recording=recording)
    return adapter.signed_requests(call, config, integration_id=integration_id)


async def _send(client: AsyncClient, integration_id: str, request: SignedRequest) -> int:
    response = await client.post(
        f"/webhooks/generic/{integration_id}",
        content=request.body,
        headers=dict(request.headers),
    )
    return response.status_code


async def test_without_a_token_is_401(client: AsyncClient) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong-token"}, {"Authorization": "Basic eA=="}):
        response = await client.get("/metrics", headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["content-type"] == PROBLEM


async def test_a_key_that_is_not_an_admins_is_403(
    client: AsyncClient, admin: dict[str, str], database: Database
) -> None:
    employee = await create_employee(client, admin, "Anna", "101")
    keys = (
        await make_key(database, Role.HEAD),
        await make_key(database, Role.MANAGER, employee_id=str(employee["id"])),
    )
    for key in keys:
        response = await client.get("/metrics", headers=bearer(key))
        assert response.status_code == 403
        assert response.headers["content-type"] == PROBLEM


async def test_the_metrics_token_and_an_admin_key_may_read(
    client: AsyncClient, admin: dict[str, str]
) -> None:
    for headers in (TOKEN, admin):
        response = await client.get("/metrics", headers=headers)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain; version=")
        assert Samples(response.text).get("callfunnel_database_up") == 1


async def test_no_metrics_token_configured_means_only_admin_keys(
    database_url: str, tmp_path: Path
) -> None:
    application = create_app(settings_for(database_url, tmp_path))
    async with (
        application.router.lifespan_context(application),
        AsyncClient(transport=ASGITransport(app=application), base_url="http://t") as client,
    ):
        assert (await client.get("/metrics", headers=TOKEN)).status_code == 401


async def test_with_the_database_down_the_token_still_reads_the_counters(tmp_path: Path) -> None:
    # Nothing listens on port 1: every connection is refused at once.
    down = "postgresql+asyncpg://postgres@127.0.0.1:1/none"
    application = create_app(settings_for(down, tmp_path, metrics_token=METRICS_TOKEN))
    async with (
        application.router.lifespan_context(application),
        AsyncClient(transport=ASGITransport(app=application), base_url="http://t") as client,
    ):
        samples = await scrape(client)
    assert samples.get("callfunnel_database_up") == 0
    assert not samples.has("callfunnel_recordings", state="pending")
    assert samples.has(
        "callfunnel_http_requests_total", method="GET", route="/metrics", status="200"
    )


async def test_deliveries_move_received_stored_duplicate_and_refused(
    client: AsyncClient, admin: dict[str, str]
) -> None:
    integration = await create_integration(client, admin)
    integration_id = str(integration["id"])
    requests = _requests(integration_id)
    before = await scrape(client)

    for request in requests:
        assert await _send(client, integration_id, request) == 200
    for request in requests:  # the PBX retries everything: all duplicates
        assert await _send(client, integration_id, request) == 200
    tampered = requests[0].body.replace(b"call.started", b"call.ended")
    assert (
        await _send(
            client,
            integration_id,
            SignedRequest(
                method="POST", subpath="", query="", body=tampered, headers=requests[0].headers
            ),
        )
        == 401
    )
    assert await _send(client, "intg_no_such_integration", requests[0]) == 404
    oversized = SignedRequest(
        method="POST", subpath="", query="", body=b"x" * (MAX_BODY + 1), headers={}
    )
    assert await _send(client, integration_id, oversized) == 413
    # Not a provider at all: no provider label is made of what a caller typed.
    assert (await client.post("/webhooks/no-such-provider/x", content=b"{}")).status_code == 404

    after = await scrape(client)
    sent = len(requests)
    assert sent == 3  # started, answered, ended
    assert moved(before, after, "callfunnel_webhook_deliveries_total", provider="generic") == (
        2 * sent + 3
    )
    assert moved(before, after, "callfunnel_webhook_events_stored_total", provider="generic") == 3
    assert (
        moved(before, after, "callfunnel_webhook_events_duplicate_total", provider="generic") == 3
    )
    assert moved(before, after, "callfunnel_webhook_events_failed_total", provider="generic") == 0
    refused = "callfunnel_webhook_deliveries_refused_total"
    for reason in ("signature", "unknown_integration", "too_large"):
        assert moved(before, after, refused, provider="generic", reason=reason) == 1, reason
    assert "no-such-provider" not in after.label_values()
    # Every POST to the route, refused or not, by its template (one series for all integrations).
    count = "callfunnel_http_request_duration_seconds_count"
    assert moved(before, after, count, method="POST", route=WEBHOOK_ROUTE) == 2 * sent + 4
    requests_total = "callfunnel_http_requests_total"
    assert moved(
        before, after, requests_total, method="POST", route=WEBHOOK_ROUTE, status="200"
    ) == (2 * sent)
    assert (
        moved(before, after, requests_total, method="POST", route=WEBHOOK_ROUTE, status="404") == 2
    )


async def test_failed_events_then_replayed(
    client: AsyncClient, admin: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    integration_id = str((await create_integration(client, admin))["id"])
    requests = _requests(integration_id)
    before = await scrape(client)

    async def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("simulated bug in the merge")

    with monkeypatch.context() as patch:
        patch.setattr(call_service, "merge_call_events", broken)
        for request in requests:
            assert await _send(client, integration_id, request) == 200
    failed = await scrape(client)
    assert moved(before, failed, "callfunnel_webhook_events_failed_total", provider="generic") == 3
    assert failed.get("callfunnel_webhook_events_awaiting_replay") == 3

    replay = await client.post(
        "/api/v1/webhook-events/replay", json={"status": "failed"}, headers=admin
    )
    assert replay.json()["processed"] == 3
    after = await scrape(client)
    replayed = "callfunnel_webhook_events_replayed_total"
    assert moved(before, after, replayed, provider="generic", status="processed") == 3
    assert moved(before, after, replayed, provider="generic", status="failed") == 0
    assert after.get("callfunnel_webhook_events_awaiting_replay") == 0


async def test_latency_is_by_route_template_and_no_label_names_anyone(
    client: AsyncClient, admin: dict[str, str], database: Database
) -> None:
    integration_id = str((await create_integration(client, admin))["id"])
    for request in _requests(integration_id, recording=True):
        assert await _send(client, integration_id, request) == 200
    calls = (await client.get("/api/v1/calls", headers=admin)).json()["items"]
    call_id = calls[0]["id"]
    before = await scrape(client)
    for _ in range(2):
        assert (await client.get(f"/api/v1/calls/{call_id}", headers=admin)).status_code == 200
    assert (await client.get("/api/v1/calls/call_unknown", headers=admin)).status_code == 404
    after = await scrape(client)

    count = "callfunnel_http_request_duration_seconds_count"
    assert moved(before, after, count, method="GET", route="/api/v1/calls/{call_id}") == 3
    requests_total = "callfunnel_http_requests_total"
    route = "/api/v1/calls/{call_id}"
    assert moved(before, after, requests_total, method="GET", route=route, status="200") == 2
    assert moved(before, after, requests_total, method="GET", route=route, status="404") == 1
    # The recording the call announced waits in the queue, read from the database.
    assert after.get("callfunnel_recordings", state="pending") == 1
    assert after.get("callfunnel_recordings", state="stored") == 0

    admin_key = admin["Authorization"].removeprefix("Bearer ")
    secrets = {
        PHONE,
        PHONE.lstrip("+"),
        PHONE[-10:],
        CALL_ID,
        f"g-{CALL_ID}",
        call_id,
        integration_id,
        admin_key,
        METRICS_TOKEN,
    }
    for value in after.label_values():
        for secret in secrets:
            assert secret not in value, (secret, value)


async def test_cdr_rows_and_the_sync_lag(
    client: AsyncClient, admin: dict[str, str], database: Database
) -> None:
    integration_id = await create_asterisk(client, admin, timezone="Europe/Moscow")
    header = "calldate,src,dst,channel,dstchannel,lastapp,duration,billsec,disposition,uniqueid\n"
    good = "2026-11-02 10:00:00,101,89161234567,SIP/101-1,SIP/trunk-2,Dial,65,60,ANSWERED,1.1\n"
    before = await scrape(client)
    content = header + good + "0000-00-00 00:00:00,,,,,,0,0,,\n" + good
    report = await upload(client, admin, integration_id, content.encode())
    assert (report["stored"], report["duplicates"], report["skipped"]) == (1, 1, 1)
    async with database.unit_of_work() as session:
        session.add(
            CdrSyncCursor(
                integration_id=integration_id,
                last_calldate="2026-11-02 10:00:00",
                rows_read=1,
                updated_at=utcnow() - timedelta(seconds=300),
            )
        )
    after = await scrape(client)
    assert moved(before, after, "callfunnel_cdr_rows_total", outcome="stored") == 1
    assert moved(before, after, "callfunnel_cdr_rows_total", outcome="duplicate") == 1
    assert moved(before, after, "callfunnel_cdr_rows_total", outcome="skipped") == 1
    assert 300 <= after.get("callfunnel_cdr_sync_lag_seconds") < 360
    assert not before.has("callfunnel_cdr_sync_lag_seconds")  # no sync has ever run


async def test_funnel_and_report_durations(client: AsyncClient, admin: dict[str, str]) -> None:
    before = await scrape(client)
    assert (await client.get("/api/v1/metrics/funnel", headers=admin)).status_code == 200
    assert (await client.get("/api/v1/reports/weekly", headers=admin)).status_code == 200
    after = await scrape(client)
    funnel = "callfunnel_funnel_query_duration_seconds_count"
    # One for the funnel, two for the report (this and last week's activity; the cohorts).
    assert moved(before, after, funnel) == 3
    report = "callfunnel_report_duration_seconds_count"
    assert moved(before, after, report, report="weekly") == 1
