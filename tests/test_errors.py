"""Every error is an RFC 9457 problem; nothing internal leaks."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from httpx import ASGITransport, AsyncClient

from app.config import Settings
from app.main import create_app

PROBLEM = "application/problem+json"


async def test_validation_error_lists_fields(client: AsyncClient, admin: dict[str, str]) -> None:
    response = await client.post(
        "/api/v1/employees", json={"name": "", "hourly_cost": "-5"}, headers=admin
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert set(body) >= {"type", "title", "status", "detail", "errors"}
    assert body["status"] == 422
    locs = {tuple(err["loc"]) for err in body["errors"]}
    assert ("body", "name") in locs
    assert ("body", "hourly_cost") in locs


async def test_malformed_json_is_422_problem(client: AsyncClient, admin: dict[str, str]) -> None:
    response = await client.post(
        "/api/v1/employees",
        content=b"{not json",
        headers={**admin, "content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM


async def test_unknown_route_is_404_problem(client: AsyncClient) -> None:
    response = await client.get("/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["title"] == "Not Found"


async def test_wrong_method_is_405_problem(client: AsyncClient, admin: dict[str, str]) -> None:
    response = await client.put("/api/v1/employees", headers=admin)
    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM


async def test_unexpected_error_is_500_without_internals(settings: Settings) -> None:
    app = create_app(settings)
    boom = APIRouter()

    @boom.get("/boom")
    async def explode() -> dict[str, Any]:
        raise RuntimeError("secret internal detail: password=hunter2")

    app.include_router(boom)
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await http.get("/boom", headers={"X-Request-ID": "req-test-1"})
    await app.state.database.dispose()
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text
    assert "req-test-1" in body["detail"]


async def test_request_id_is_echoed_or_generated(client: AsyncClient) -> None:
    given = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    junk = await client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert junk.headers["x-request-id"].startswith("req_")
