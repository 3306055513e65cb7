from __future__ import annotations

import pytest
from httpx import AsyncClient

URL = "/api/v1/settings/operations"


async def test_defaults_keep_everything(client: AsyncClient, admin: dict[str, str]) -> None:
    response = await client.get(URL, headers=admin)
    assert response.status_code == 200
    assert response.json() == {
        "recording_max_attempts": 10,
        "recordings_retention_days": None,
        "webhook_events_retention_days": None,
    }


async def test_admin_only(client: AsyncClient, admin: dict[str, str], head: dict[str, str]) -> None:
    wanted = {
        "recording_max_attempts": 5,
        "recordings_retention_days": 365,
        "webhook_events_retention_days": 90,
    }
    assert (await client.put(URL, json=wanted, headers=head)).status_code == 403
    assert (await client.get(URL, headers=head)).status_code == 403
    put = await client.put(URL, json=wanted, headers=admin)
    assert (put.status_code, put.json()) == (200, wanted)
    assert (await client.get(URL, headers=admin)).json() == wanted


@pytest.mark.parametrize(
    "body",
    [
        {"recording_max_attempts": 0},
        {"recordings_retention_days": 0},
        {"webhook_events_retention_days": -1},
        {"retention": 5},
    ],
)
async def test_invalid_values_are_422(
    client: AsyncClient, admin: dict[str, str], body: dict[str, object]
) -> None:
    response = await client.put(URL, json=body, headers=admin)
    assert response.status_code == 422
    assert response.json()["errors"]
