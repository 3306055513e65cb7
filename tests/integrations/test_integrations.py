from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient

from app.auth.roles import Role
from app.db import Database
from tests.factories import bearer, make_key

CONFIGS: dict[str, dict[str, Any]] = {
    "mango": {
        "api_key": "mk_live_secret_1",
        "api_salt": "salt_secret_2",
        "timezone": "Europe/Moscow",
    },
    "zadarma": {
        "api_key": "zk_secret_3",
        "api_secret": "zs_secret_4",
        "allowed_ips": ["185.45.152.42"],
    },
    "novofon": {"api_key": "nk_secret_5", "api_secret": "ns_secret_6"},
    "twilio": {
        "account_sid": "AC00000000000000000000000000000001",
        "auth_token": "tw_secret_7",
        "public_base_url": "https://calls.example.com",
        "default_region": "US",
    },
    "generic": {"secret": "gen_secret_8", "recording_hosts": ["files.example.com"]},
}
SECRETS = [
    "secret_1",
    "secret_2",
    "secret_3",
    "secret_4",
    "secret_5",
    "secret_6",
    "secret_7",
    "secret_8",
]


@pytest.mark.parametrize("provider", sorted(CONFIGS))
async def test_secrets_are_write_only(
    client: AsyncClient, admin: dict[str, str], provider: str
) -> None:
    created = await client.post(
        "/api/v1/integrations",
        json={"provider": provider, "name": f"{provider} main", "config": CONFIGS[provider]},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["id"].startswith("intg_")
    assert len(body["id"]) >= 5 + 32
    path = f"/webhooks/{provider}/{body['id']}"
    if provider == "twilio":
        base = "https://calls.example.com" + path
        assert body["webhook_urls"] == {
            "status": f"{base}/status#rc=3&rp=all",
            "recording": f"{base}/recording#rc=3&rp=all",
        }
        assert body["webhook_url"] == body["webhook_urls"]["status"]
    else:
        assert body["webhook_url"] == path
        assert body["webhook_urls"] == {"events": path}
    listed = await client.get("/api/v1/integrations", headers=admin)
    fetched = await client.get(f"/api/v1/integrations/{body['id']}", headers=admin)
    for response in (created, listed, fetched):
        assert not any(secret in response.text for secret in SECRETS), response.text
    assert "timezone" in fetched.json()["config"]


async def test_ids_are_random(client: AsyncClient, admin: dict[str, str]) -> None:
    ids = set()
    for _ in range(3):
        created = await client.post(
            "/api/v1/integrations",
            json={"provider": "generic", "name": "g", "config": {"secret": "s"}},
            headers=admin,
        )
        ids.add(created.json()["id"])
    assert len(ids) == 3


async def test_invalid_config_names_field_without_echoing(
    client: AsyncClient, admin: dict[str, str]
) -> None:
    response = await client.post(
        "/api/v1/integrations",
        json={
            "provider": "mango",
            "name": "m",
            "config": {"api_key": "k", "api_salt": "hidden_salt_value", "timezone": "Nowhere/Zone"},
        },
        headers=admin,
    )
    assert response.status_code == 422
    assert ["body", "config", "timezone"] in [e["loc"] for e in response.json()["errors"]]
    assert "hidden_salt_value" not in response.text
    unknown = await client.post(
        "/api/v1/integrations",
        json={"provider": "carrier-pigeon", "name": "x", "config": {}},
        headers=admin,
    )
    assert unknown.status_code == 422
    missing = await client.post(
        "/api/v1/integrations", json={"provider": "mango", "name": "m", "config": {}}, headers=admin
    )
    assert missing.status_code == 422


async def test_patch_keeps_secrets_not_resent(
    client: AsyncClient, admin: dict[str, str], database: Database
) -> None:
    created = (
        await client.post(
            "/api/v1/integrations",
            json={"provider": "generic", "name": "g", "config": {"secret": "keep_me_secret"}},
            headers=admin,
        )
    ).json()
    patched = await client.patch(
        f"/api/v1/integrations/{created['id']}",
        json={"name": "renamed", "config": {"timezone": "Asia/Novosibirsk"}},
        headers=admin,
    )
    assert patched.status_code == 200
    assert patched.json()["name"] == "renamed"
    assert patched.json()["config"]["timezone"] == "Asia/Novosibirsk"
    assert "keep_me_secret" not in patched.text
    async with database.read_sessions() as session:
        from app.integrations.models import Integration

        row = await session.get(Integration, created["id"])
        assert row is not None
        assert row.config["secret"] == "keep_me_secret"


async def test_delete_hides_integration(client: AsyncClient, admin: dict[str, str]) -> None:
    created = (
        await client.post(
            "/api/v1/integrations",
            json={"provider": "generic", "name": "g", "config": {"secret": "s"}},
            headers=admin,
        )
    ).json()
    deleted = await client.delete(f"/api/v1/integrations/{created['id']}", headers=admin)
    assert deleted.status_code == 204
    gone = await client.get(f"/api/v1/integrations/{created['id']}", headers=admin)
    assert gone.status_code == 404
    listed = await client.get("/api/v1/integrations", headers=admin)
    assert created["id"] not in {item["id"] for item in listed.json()["items"]}


@pytest.mark.parametrize("role", [Role.HEAD, Role.MANAGER])
async def test_integrations_are_admin_only(
    client: AsyncClient, admin: dict[str, str], database: Database, role: Role
) -> None:
    employee_id = None
    if role is Role.MANAGER:
        employee = await client.post("/api/v1/employees", json={"name": "M"}, headers=admin)
        employee_id = employee.json()["id"]
    key = bearer(await make_key(database, role, employee_id))
    assert (await client.get("/api/v1/integrations", headers=key)).status_code == 403
    created = await client.post(
        "/api/v1/integrations",
        json={"provider": "generic", "name": "g", "config": {"secret": "s"}},
        headers=key,
    )
    assert created.status_code == 403


async def test_integrations_paginate_in_creation_order(
    client: AsyncClient, admin: dict[str, str]
) -> None:
    ids = []
    for n in range(3):
        created = await client.post(
            "/api/v1/integrations",
            json={"provider": "generic", "name": f"g{n}", "config": {"secret": "s"}},
            headers=admin,
        )
        ids.append(created.json()["id"])
    first = (await client.get("/api/v1/integrations?limit=2", headers=admin)).json()
    second = (
        await client.get(
            "/api/v1/integrations",
            params={"limit": 2, "cursor": first["next_cursor"]},
            headers=admin,
        )
    ).json()
    assert [i["id"] for i in first["items"] + second["items"]] == ids
    assert second["next_cursor"] is None
