from __future__ import annotations

import pytest
from httpx import AsyncClient

from app.auth.roles import Role
from app.db import Database
from tests.factories import bearer, make_key

PROBLEM = "application/problem+json"


async def test_api_routes_need_a_key(client: AsyncClient) -> None:
    response = await client.get("/api/v1/employees")
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["status"] == 401
    assert "Bearer" in response.json()["detail"]


async def test_unknown_key_is_401(client: AsyncClient) -> None:
    response = await client.get("/api/v1/employees", headers=bearer("cf_not-a-real-key"))
    assert response.status_code == 401
    assert response.json()["detail"] == "the API key is unknown or revoked"


async def test_non_bearer_scheme_is_401(client: AsyncClient, database: Database) -> None:
    key = await make_key(database, Role.ADMIN)
    response = await client.get("/api/v1/employees", headers={"Authorization": f"Basic {key}"})
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("role", "expected"), [(Role.ADMIN, 201), (Role.HEAD, 403), (Role.MANAGER, 403)]
)
async def test_only_admins_create_keys(
    client: AsyncClient, database: Database, admin: dict[str, str], role: Role, expected: int
) -> None:
    employee = await client.post("/api/v1/employees", json={"name": "Anna"}, headers=admin)
    employee_id = employee.json()["id"] if role is Role.MANAGER else None
    key = await make_key(database, role, employee_id)
    response = await client.post(
        "/api/v1/api-keys", json={"name": "ci", "role": "head"}, headers=bearer(key)
    )
    assert response.status_code == expected
    if expected == 403:
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["detail"] == "this action needs one of the roles: admin"


async def test_key_is_shown_once_and_works(client: AsyncClient, admin: dict[str, str]) -> None:
    created = await client.post(
        "/api/v1/api-keys", json={"name": "dashboard", "role": "head"}, headers=admin
    )
    assert created.status_code == 201
    body = created.json()
    key = body["key"]
    assert key.startswith("cf_")
    assert len(key) >= 3 + 43  # 32 random bytes, base64url
    assert body["prefix"] == key[:10]

    listed = await client.get("/api/v1/api-keys", headers=admin)
    assert listed.status_code == 200
    assert all("key" not in item for item in listed.json()["items"])
    assert body["id"] in {item["id"] for item in listed.json()["items"]}

    used = await client.get("/api/v1/employees", headers=bearer(key))
    assert used.status_code == 200


async def test_revoked_key_is_refused(client: AsyncClient, admin: dict[str, str]) -> None:
    created = (
        await client.post("/api/v1/api-keys", json={"name": "tmp", "role": "head"}, headers=admin)
    ).json()
    revoked = await client.delete(f"/api/v1/api-keys/{created['id']}", headers=admin)
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    response = await client.get("/api/v1/employees", headers=bearer(created["key"]))
    assert response.status_code == 401


async def test_manager_key_needs_an_existing_employee(
    client: AsyncClient, admin: dict[str, str]
) -> None:
    missing = await client.post(
        "/api/v1/api-keys", json={"name": "m", "role": "manager"}, headers=admin
    )
    assert missing.status_code == 422
    assert missing.json()["errors"] == [
        {"loc": ["body", "employee_id"], "msg": "required for manager"}
    ]
    unknown = await client.post(
        "/api/v1/api-keys",
        json={"name": "m", "role": "manager", "employee_id": "emp_nope"},
        headers=admin,
    )
    assert unknown.status_code == 404
    head_bound = await client.post(
        "/api/v1/api-keys",
        json={"name": "h", "role": "head", "employee_id": "emp_nope"},
        headers=admin,
    )
    assert head_bound.status_code == 422


async def test_revoking_unknown_key_is_404(client: AsyncClient, admin: dict[str, str]) -> None:
    response = await client.delete("/api/v1/api-keys/key_missing", headers=admin)
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
