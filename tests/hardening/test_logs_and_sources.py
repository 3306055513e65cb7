"""F6 (logs), F3.4 (allowed_ips behind proxies) and F3.2 (a stored -infinity breaks no report)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text

from app.auth.roles import Role
from app.main import create_app
from app.webhooks.providers import get_adapter
from app.webhooks.traffic import simulator
from tests.factories import bearer, create_integration, make_key, settings_for
from tests.hardening.support import Office, ended_event, post_event
from tests.webhooks.delivery import spec


async def _client_of(application: FastAPI) -> AsyncIterator[AsyncClient]:
    async with application.router.lifespan_context(application):
        transport = ASGITransport(app=application)
        async with AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


async def test_a_500_is_logged_masked_without_parameters_and_gets_its_access_line(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    application = create_app(
        settings_for(database_url, tmp_path).model_copy(update={"log_level": "INFO"})
    )
    secret_id = "intg_abcdEFGHijklMNOPqrstUVWX0123"

    @application.get("/boom/{integration_id}")
    async def boom(integration_id: str) -> None:
        # The shape of the probe's leak: an error whose text quotes SQL parameters and a secret.
        raise RecursionError(
            f"[SQL: INSERT] [parameters: ('{integration_id}', '{{\"secret\": \"leaky-secret\"}}')]"
        )

    async for http in _client_of(application):
        response = await http.get(f"/boom/{secret_id}")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    logged = capsys.readouterr()
    lines = logged.err + logged.out
    assert "request.failed" in lines
    assert "http.request" in lines  # the access line of the 500
    assert "status=500" in lines or '"status": 500' in lines
    assert secret_id not in lines
    assert "leaky-secret" not in lines
    assert "intg_abcd…" in lines


async def test_integration_secret_never_reaches_the_log(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    application = create_app(
        settings_for(database_url, tmp_path).model_copy(update={"log_level": "DEBUG"})
    )
    async for http in _client_of(application):
        admin = bearer(await make_key(application.state.database, Role.ADMIN))
        response = await http.post(
            "/api/v1/integrations",
            json={
                "provider": "generic",
                "name": "a\u0000b",
                "config": {"secret": "nulprobe-secret"},
            },
            headers=admin,
        )
    assert response.status_code == 422
    logged = capsys.readouterr()
    assert "nulprobe-secret" not in logged.err + logged.out


ZADARMA = {"api_key": "key", "api_secret": "zadarma-secret", "allowed_ips": ["203.0.113.0/24"]}


async def _deliver_from(http: AsyncClient, admin: dict[str, str], forwarded: str) -> set[int]:
    integration = await create_integration(http, admin, provider="zadarma", config=ZADARMA)
    adapter = get_adapter("zadarma")
    config = adapter.config_model.model_validate(ZADARMA)
    statuses = set()
    for request in simulator("zadarma").signed_requests(
        spec("xff-1"), config, integration_id=str(integration["id"])
    ):
        url = f"/webhooks/zadarma/{integration['id']}/{request.subpath}".rstrip("/")
        response = await http.request(
            request.method,
            url + (f"?{request.query}" if request.query else ""),
            content=request.body,
            headers={**dict(request.headers), "X-Forwarded-For": forwarded},
        )
        statuses.add(response.status_code)
    return statuses


@pytest.mark.parametrize("forwarded", ["203.0.113.5", "1.2.3.4, 203.0.113.5"])
async def test_forwarded_for_is_not_trusted_from_unconfigured_peers(
    database_url: str, tmp_path: Path, forwarded: str
) -> None:
    application = create_app(settings_for(database_url, tmp_path))
    async for http in _client_of(application):
        admin = bearer(await make_key(application.state.database, Role.ADMIN))
        assert await _deliver_from(http, admin, forwarded) == {403}


async def test_forwarded_for_is_read_behind_a_configured_proxy(
    database_url: str, tmp_path: Path
) -> None:
    # The test client's peer is 127.0.0.1: here, a proxy on this host.
    application = create_app(settings_for(database_url, tmp_path, trusted_proxies="127.0.0.1"))
    async for http in _client_of(application):
        admin = bearer(await make_key(application.state.database, Role.ADMIN))
        assert await _deliver_from(http, admin, "203.0.113.5") == {200}
        # The client's own claim left of the proxy's entry proves nothing.
        assert await _deliver_from(http, admin, "203.0.113.5, 198.51.100.9") == {403}


# -infinity is PostgreSQL's: SQLite stores no such value, so the test runs on PostgreSQL only.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_stored_minus_infinity_breaks_no_report(
    client: AsyncClient, database: object, database_url: str
) -> None:
    office = await Office.build(client, database)  # type: ignore[arg-type]
    number = "+79167770001"
    ok = ended_event(
        "poison-ok",
        "poison-ok",
        number=number,
        started_at="2026-11-24T07:00:00Z",
        answered_at="2026-11-24T07:00:10Z",
        ended_at="2026-11-24T07:05:10Z",
    )
    assert (await post_event(client, office.integration_id, ok)).status_code == 200
    # What the probe's zero-date event left behind before events were checked at the edge.
    async with database.unit_of_work() as session:  # type: ignore[attr-defined]
        await session.execute(
            text(
                "UPDATE call SET started_at = '-infinity', answered_at = '-infinity', "
                "ended_at = '-infinity'"
            )
        )
    second = ended_event(
        "poison-2",
        "poison-2",
        number=number,
        started_at="2026-11-25T07:00:00Z",
        answered_at="2026-11-25T07:00:10Z",
        ended_at="2026-11-25T07:05:10Z",
    )
    assert (await post_event(client, office.integration_id, second)).status_code == 200
    for path in (
        "/api/v1/reports/weekly?week=2026-W48",
        "/api/v1/reports/weekly?week=2026-W48&format=csv",
        "/api/v1/leads?stage=3",
        "/api/v1/leads?stage=5",
        "/api/v1/metrics/funnel?from=2026-11-23&to=2026-11-30",
        "/api/v1/metrics/calls?from=2026-11-23&to=2026-11-30",
    ):
        response = await client.get(path, headers=office.head)
        assert response.status_code == 200, (path, response.text)
