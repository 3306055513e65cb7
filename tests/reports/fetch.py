"""Asking the API for reports and funnels in the tests."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient, Response

WEEK = "2026-W47"
DAYS = {"from": "2026-11-16", "to": "2026-11-23"}  # the same week as local dates
AS_OF = ("2026-11-22T21:00:00Z", "2026-12-31T21:00:00Z")  # the worked example's two


async def report_file(client: AsyncClient, headers: dict[str, str], **params: Any) -> Response:
    response = await client.get("/api/v1/reports/weekly", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response


async def report(client: AsyncClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    body: dict[str, Any] = (await report_file(client, headers, **params)).json()
    return body


async def api(
    client: AsyncClient, headers: dict[str, str], path: str, **params: Any
) -> dict[str, Any]:
    response = await client.get(f"/api/v1/{path}", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
