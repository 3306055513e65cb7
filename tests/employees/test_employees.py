from __future__ import annotations

from httpx import AsyncClient

from app.auth.roles import Role
from app.db import Database
from tests.factories import bearer, make_key


async def test_create_and_read_employee(client: AsyncClient, admin: dict[str, str]) -> None:
    created = await client.post(
        "/api/v1/employees",
        json={
            "name": "Anna",
            "extensions": ["101", "1101"],
            "email": "anna@example.com",
            "hourly_cost": "600.00",
        },
        headers=admin,
    )
    assert created.status_code == 201
    body = created.json()
    assert body["id"].startswith("emp_")
    assert body["extensions"] == ["101", "1101"]
    assert body["hourly_cost"] == "600.00"
    assert body["active"] is True
    fetched = await client.get(f"/api/v1/employees/{body['id']}", headers=admin)
    assert fetched.json() == body


async def test_extension_belongs_to_one_employee(
    client: AsyncClient, admin: dict[str, str]
) -> None:
    anna = (
        await client.post(
            "/api/v1/employees", json={"name": "Anna", "extensions": ["101"]}, headers=admin
        )
    ).json()
    clash = await client.post(
        "/api/v1/employees", json={"name": "Boris", "extensions": ["101"]}, headers=admin
    )
    assert clash.status_code == 409
    assert clash.headers["content-type"] == "application/problem+json"
    assert clash.json()["detail"] == f"extension 101 already belongs to employee {anna['id']}"

    boris = (
        await client.post(
            "/api/v1/employees", json={"name": "Boris", "extensions": ["102"]}, headers=admin
        )
    ).json()
    steal = await client.patch(
        f"/api/v1/employees/{boris['id']}", json={"extensions": ["102", "101"]}, headers=admin
    )
    assert steal.status_code == 409
    unchanged = await client.get(f"/api/v1/employees/{boris['id']}", headers=admin)
    assert unchanged.json()["extensions"] == ["102"]


async def test_patch_keeps_own_extensions_and_changes_fields(
    client: AsyncClient, admin: dict[str, str]
) -> None:
    anna = (
        await client.post(
            "/api/v1/employees", json={"name": "Anna", "extensions": ["101"]}, headers=admin
        )
    ).json()
    patched = await client.patch(
        f"/api/v1/employees/{anna['id']}",
        json={"name": "Anna K.", "extensions": ["101", "103"], "hourly_cost": "750.50"},
        headers=admin,
    )
    assert patched.status_code == 200
    assert patched.json()["name"] == "Anna K."
    assert patched.json()["extensions"] == ["101", "103"]
    assert patched.json()["hourly_cost"] == "750.50"
    cleared = await client.patch(
        f"/api/v1/employees/{anna['id']}", json={"hourly_cost": None}, headers=admin
    )
    assert cleared.json()["hourly_cost"] is None


async def test_unknown_employee_is_404(client: AsyncClient, admin: dict[str, str]) -> None:
    assert (await client.get("/api/v1/employees/emp_nope", headers=admin)).status_code == 404
    patched = await client.patch("/api/v1/employees/emp_nope", json={"name": "X"}, headers=admin)
    assert patched.status_code == 404


async def test_roles_on_employees(
    client: AsyncClient, database: Database, admin: dict[str, str]
) -> None:
    anna = (
        await client.post(
            "/api/v1/employees",
            json={"name": "Anna", "extensions": ["101"], "hourly_cost": "600.00"},
            headers=admin,
        )
    ).json()
    head = bearer(await make_key(database, Role.HEAD))
    manager = bearer(await make_key(database, Role.MANAGER, anna["id"]))

    assert (
        await client.post("/api/v1/employees", json={"name": "X"}, headers=head)
    ).status_code == 403
    assert (
        await client.post("/api/v1/employees", json={"name": "X"}, headers=manager)
    ).status_code == 403

    seen_by_head = (await client.get("/api/v1/employees", headers=head)).json()["items"]
    assert seen_by_head[0]["hourly_cost"] == "600.00"
    seen_by_manager = (await client.get("/api/v1/employees", headers=manager)).json()["items"]
    assert seen_by_manager[0]["name"] == "Anna"
    assert seen_by_manager[0]["hourly_cost"] is None


async def test_list_paginates(client: AsyncClient, admin: dict[str, str]) -> None:
    ids = []
    for n in range(5):
        created = await client.post("/api/v1/employees", json={"name": f"E{n}"}, headers=admin)
        ids.append(created.json()["id"])
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/employees", params=params, headers=admin)).json()
        seen.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(ids)
    bad = await client.get("/api/v1/employees", params={"cursor": "%%%"}, headers=admin)
    assert bad.status_code == 400
    too_many = await client.get("/api/v1/employees", params={"limit": 501}, headers=admin)
    assert too_many.status_code == 422


async def test_merge_moves_extensions(client: AsyncClient, admin: dict[str, str]) -> None:
    auto = (
        await client.post(
            "/api/v1/employees",
            json={"name": "Extension 105", "extensions": ["105"]},
            headers=admin,
        )
    ).json()
    anna = (
        await client.post(
            "/api/v1/employees", json={"name": "Anna", "extensions": ["101"]}, headers=admin
        )
    ).json()
    merged = await client.post(
        f"/api/v1/employees/{auto['id']}/merge", json={"into": anna["id"]}, headers=admin
    )
    assert merged.status_code == 200
    assert merged.json()["extensions"] == ["101", "105"]
    assert (await client.get(f"/api/v1/employees/{auto['id']}", headers=admin)).status_code == 404
    itself = await client.post(
        f"/api/v1/employees/{anna['id']}/merge", json={"into": anna["id"]}, headers=admin
    )
    assert itself.status_code == 422
