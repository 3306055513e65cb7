"""Bad deliveries: the right status, and nothing stored (or, when authentic, stored as failed)."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy.exc import DBAPIError

from app.calls.service import call_service
from app.config import Settings
from app.db import Database
from app.main import create_app
from app.webhooks.service import RACE_ATTEMPTS
from tests.webhooks.ingest_support import (
    calls_snapshot,
    count_events,
    deliver,
    install_integration,
)
from tests.webhooks.providers.support import load

PROBLEM = "application/problem+json"


def _generic_request(path: str, payload: object, secret: str) -> dict[str, Any]:
    body = json.dumps(payload)
    signature = hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
    return {
        "method": "POST",
        "path": path,
        "body": body,
        "headers": {
            "content-type": "application/json",
            "X-Callfunnel-Signature": f"sha256={signature}",
        },
    }


@pytest.mark.parametrize("provider", ["mango", "zadarma", "twilio", "generic"])
async def test_tampered_request_is_401_and_stores_nothing(
    client: AsyncClient, database: Database, provider: str
) -> None:
    fixture = load(provider)
    integration_id = await install_integration(database, fixture)
    raw = dict(fixture.requests[0])
    # A signed field changed after signing: the signature no longer matches.
    signed_field = {
        "mango": ("%22seq%22%3A1", "%22seq%22%3A9"),
        "zadarma": ("destination=", "destination=1"),
        "twilio": ("CallStatus=initiated", "CallStatus=completed"),
        "generic": ('"call.started"', '"call.ended"'),
    }[provider]
    assert signed_field[0] in raw["body"]
    raw["body"] = raw["body"].replace(*signed_field, 1)
    response = await deliver(client, raw)
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    assert await count_events(database, integration_id) == 0


async def test_missing_signature_is_401(client: AsyncClient, database: Database) -> None:
    for provider, header in (
        ("zadarma", "Signature"),
        ("twilio", "X-Twilio-Signature"),
        ("generic", "X-Callfunnel-Signature"),
    ):
        fixture = load(provider)
        integration_id = await install_integration(database, fixture)
        raw = dict(fixture.requests[0])
        raw["headers"] = {k: v for k, v in raw["headers"].items() if k != header}
        assert (await deliver(client, raw)).status_code == 401, provider
        assert await count_events(database, integration_id) == 0


async def test_wrong_mango_api_key_is_401(client: AsyncClient, database: Database) -> None:
    fixture = load("mango")
    integration_id = await install_integration(database, fixture)
    raw = dict(fixture.requests[0])
    raw["body"] = raw["body"].replace("vpbx_api_key=mk_test_4f9a1c", "vpbx_api_key=other")
    assert (await deliver(client, raw)).status_code == 401
    assert await count_events(database, integration_id) == 0


async def test_unknown_integration_is_404(client: AsyncClient, database: Database) -> None:
    fixture = load("generic")
    raw = dict(fixture.requests[0])
    raw["path"] = "/webhooks/generic/intg_does_not_exist_at_all_000000"
    response = await deliver(client, raw)
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    other_provider = dict(fixture.requests[0])
    await install_integration(database, fixture)
    other_provider["path"] = (
        raw["path"]
        .replace("intg_does_not_exist_at_all_000000", fixture.integration_id)
        .replace("/generic/", "/mango/")
    )
    assert (await deliver(client, other_provider)).status_code == 404
    assert (await deliver(client, {**raw, "path": "/webhooks/fax/x"})).status_code == 404


async def test_oversized_body_is_413(client: AsyncClient, database: Database) -> None:
    fixture = load("generic")
    integration_id = await install_integration(database, fixture)
    payload = {
        "event_id": "big",
        "call_id": "c",
        "type": "call.started",
        "pad": "x" * (1024 * 1024),
    }
    raw = _generic_request(f"/webhooks/generic/{integration_id}", payload, "gen_test_secret_42")
    response = await deliver(client, raw)
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    assert await count_events(database, integration_id) == 0


async def test_generic_without_event_id_is_422(client: AsyncClient, database: Database) -> None:
    fixture = load("generic")
    integration_id = await install_integration(database, fixture)
    path = f"/webhooks/generic/{integration_id}"
    missing = _generic_request(
        path, {"call_id": "c1", "type": "call.started"}, "gen_test_secret_42"
    )
    assert (await deliver(client, missing)).status_code == 422
    batch = _generic_request(
        path,
        {
            "events": [
                {"event_id": "e1", "call_id": "c1", "type": "call.started"},
                {"call_id": "c2"},
            ]
        },
        "gen_test_secret_42",
    )
    assert (await deliver(client, batch)).status_code == 422
    broken = _generic_request(path, {}, "gen_test_secret_42")
    broken["body"] = "{not json"
    broken["headers"]["X-Callfunnel-Signature"] = (
        "sha256=" + hmac.new(b"gen_test_secret_42", b"{not json", hashlib.sha256).hexdigest()
    )
    assert (await deliver(client, broken)).status_code == 422
    assert await count_events(database, integration_id) == 0


async def test_generic_batch_is_stored_one_event_per_row(
    client: AsyncClient, database: Database, admin: dict[str, str]
) -> None:
    fixture = load("generic")
    integration_id = await install_integration(database, fixture)
    events = [json.loads(r["body"]) for r in fixture.requests]
    raw = _generic_request(
        f"/webhooks/generic/{integration_id}", {"events": events}, "gen_test_secret_42"
    )
    response = await deliver(client, raw)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "stored": len(events), "duplicates": 0}
    again = await deliver(client, raw)
    assert again.json() == {"status": "ok", "stored": 0, "duplicates": len(events)}
    assert await count_events(database, integration_id) == len(events)
    assert len(await calls_snapshot(client, admin, integration_id)) == len(fixture.expected)


async def test_handshakes_store_nothing(client: AsyncClient, database: Database) -> None:
    zadarma = load("zadarma")
    zadarma_id = await install_integration(database, zadarma)
    echo = await client.get(f"/webhooks/zadarma/{zadarma_id}", params={"zd_echo": "abc123"})
    assert echo.status_code == 200
    assert echo.text == "abc123"
    mango = load("mango")
    mango_id = await install_integration(database, mango)
    probe = await client.post(
        f"/webhooks/mango/{mango_id}/events/ping",
        content=b"vpbx_api_key=mk_test_4f9a1c",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert probe.status_code == 200
    assert await count_events(database, zadarma_id) == 0
    assert await count_events(database, mango_id) == 0


async def test_failed_merge_is_kept_and_replays_after_the_fix(
    client: AsyncClient,
    database: Database,
    admin: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fixture = load("generic")
    integration_id = await install_integration(database, fixture)

    async def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("simulated bug in the merge")

    with monkeypatch.context() as patch:
        patch.setattr(call_service, "merge_call_events", broken)
        for raw in fixture.requests:
            assert (await deliver(client, raw)).status_code == 200
    assert await calls_snapshot(client, admin, integration_id) == {}
    failed = (
        await client.get("/api/v1/webhook-events", params={"status": "failed"}, headers=admin)
    ).json()["items"]
    assert len(failed) == len(fixture.requests)
    assert failed[0]["error"] == "RuntimeError: simulated bug in the merge"

    replay = await client.post(
        "/api/v1/webhook-events/replay", json={"status": "failed"}, headers=admin
    )
    assert replay.status_code == 200
    assert replay.json() == {
        "replayed": len(fixture.requests),
        "processed": len(fixture.requests),
        "failed": 0,
        "ignored": 0,
        "remaining": 0,
    }
    assert len(await calls_snapshot(client, admin, integration_id)) == len(fixture.expected)


async def test_one_failing_merge_in_a_batch_spares_the_others(
    client: AsyncClient,
    database: Database,
    admin: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fixture = load("generic")
    integration_id = await install_integration(database, fixture)
    merge = call_service.merge_call_events

    async def broken_for_one_call(
        session: object, integration: str, config: object, events: list[Any]
    ) -> None:
        if events[0].provider_call_id == "g-1002":
            raise RuntimeError("simulated bug for one call")
        await merge(session, integration, config, events)  # type: ignore[arg-type]

    monkeypatch.setattr(call_service, "merge_call_events", broken_for_one_call)
    events = [json.loads(r["body"]) for r in fixture.requests]
    raw = _generic_request(
        f"/webhooks/generic/{integration_id}", {"events": events}, "gen_test_secret_42"
    )
    response = await deliver(client, raw)
    assert response.json() == {"status": "ok", "stored": len(events), "duplicates": 0}
    assert await count_events(database, integration_id) == len(events)
    failed = (
        await client.get("/api/v1/webhook-events", params={"status": "failed"}, headers=admin)
    ).json()["items"]
    assert len(failed) == 2
    assert all('"g-1002-' in e["dedupe_key"] for e in failed)
    assert sorted(await calls_snapshot(client, admin, integration_id)) == ["g-1001", "g-1003"]


class _Deadlock(Exception):
    sqlstate = "40P01"  # what asyncpg reports when PostgreSQL aborts a deadlocked transaction


async def test_a_delivery_that_loses_a_deadlock_is_done_again(
    client: AsyncClient,
    database: Database,
    admin: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fixture = load("generic")
    integration_id = await install_integration(database, fixture)
    merge = call_service.merge_call_events
    losses = 0

    async def deadlocked_at_first(*args: Any, **kwargs: Any) -> None:
        nonlocal losses
        if losses < RACE_ATTEMPTS - 1:
            losses += 1
            raise DBAPIError("UPDATE call …", {}, _Deadlock())
        await merge(*args, **kwargs)

    monkeypatch.setattr(call_service, "merge_call_events", deadlocked_at_first)
    response = await deliver(client, fixture.requests[0])
    assert response.json() == {"status": "ok", "stored": 1, "duplicates": 0}
    events = (await client.get("/api/v1/webhook-events", headers=admin)).json()["items"]
    assert [(e["status"], e["attempts"]) for e in events] == [("processed", 1)]
    assert len(await calls_snapshot(client, admin, integration_id)) == 1


async def test_a_delivery_that_keeps_losing_deadlocks_stores_nothing(
    settings: Settings, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    fixture = load("generic")
    integration_id = await install_integration(database, fixture)

    async def always_deadlocked(*_args: object, **_kwargs: object) -> None:
        raise DBAPIError("UPDATE call …", {}, _Deadlock())

    monkeypatch.setattr(call_service, "merge_call_events", always_deadlocked)
    app = create_app(settings)
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://t") as http:
        response = await deliver(http, fixture.requests[0])
    await app.state.database.dispose()
    # Answered like an outage, so that the PBX delivers it again.
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert await count_events(database, integration_id) == 0


async def test_replay_by_ids_and_validation(
    client: AsyncClient, database: Database, admin: dict[str, str], head: dict[str, str]
) -> None:
    fixture = load("generic")
    await install_integration(database, fixture)
    await deliver(client, fixture.requests[0])
    events = (await client.get("/api/v1/webhook-events", headers=admin)).json()["items"]
    assert [e["status"] for e in events] == ["processed"]
    ids = [events[0]["id"]]
    replay = await client.post("/api/v1/webhook-events/replay", json={"ids": ids}, headers=admin)
    assert replay.json()["processed"] == 1
    assert (
        await client.post("/api/v1/webhook-events/replay", json={"ids": ["wev_x"]}, headers=admin)
    ).status_code == 404
    assert (
        await client.post("/api/v1/webhook-events/replay", json={}, headers=admin)
    ).status_code == 422
    assert (
        await client.post("/api/v1/webhook-events/replay", json={"ids": ids}, headers=head)
    ).status_code == 403
    assert (await client.get("/api/v1/webhook-events", headers=head)).status_code == 403


async def test_database_down_is_503(settings: Settings) -> None:
    fixture = load("generic")
    down = Settings(
        database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none",
        log_level="WARNING",
        _env_file=None,  # type: ignore[call-arg]
    )
    app = create_app(down)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as http:
        response = await deliver(http, fixture.requests[0])
    await app.state.database.dispose()
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["retry-after"] == "5"
