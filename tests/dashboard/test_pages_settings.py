"""Settings (admins only): the forms change what the API's routes change, and a value the
settings model refuses comes back on the form as a 422, never a 500."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient

from app.auth.roles import Role
from app.db import Database
from app.employees.models import Employee
from tests.dashboard.browsing import browser
from tests.dashboard.pages import csrf_of, figures_of
from tests.factories import create_employee, create_integration


async def _economics(client: AsyncClient, admin: dict[str, str]) -> dict[str, Any]:
    answer = await client.get("/api/v1/settings/economics", headers=admin)
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    return body


async def test_only_admins_open_settings(app: object, database: Database) -> None:
    async with browser(app, database, Role.ADMIN) as page:
        assert (await page.get("/settings")).status_code == 200
    for role, employee in ((Role.HEAD, None), (Role.MANAGER, "emp_anna")):
        if employee is not None:
            async with database.unit_of_work() as session:
                session.add(Employee(id=employee, name="Anna"))
        async with browser(app, database, role, employee) as page:
            assert (await page.get("/settings")).status_code == 403
            other = await page.get("/calls")
            assert 'href="/settings"' not in other.text
            refused = await page.post(
                "/settings/economics", data={"currency": "EUR", "csrf_token": csrf_of(other)}
            )
            assert refused.status_code == 403


async def test_economics_and_callbacks_are_saved_through_the_settings_service(
    app: object, client: AsyncClient, database: Database, admin: dict[str, str]
) -> None:
    async with browser(app, database, Role.ADMIN) as page:
        form = await page.get("/settings")
        token = csrf_of(form)
        saved = await page.post(
            "/settings/economics",
            data={
                "telephony_cost_per_minute": "2,50",
                "thresholds.reached_s": "15",
                "forecast.prior_win_rate": "",
                "csrf_token": token,
            },
        )
        assert saved.status_code == 303
        callbacks = await page.post(
            "/settings/economics",
            content=(
                "callbacks.sla_minutes=30&callbacks.business_hours_clock=false"
                "&callbacks.working_hours.sat.start=10:00&callbacks.working_hours.sat.end=14:00"
                "&callbacks.working_hours.mon.start=&callbacks.working_hours.mon.end="
                f"&csrf_token={token}"
            ),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert callbacks.status_code == 303
    stored = await _economics(client, admin)
    assert stored["telephony_cost_per_minute"] == "2.50"
    assert stored["thresholds"]["reached_s"] == 15
    assert stored["forecast"]["prior_win_rate"] is None
    assert stored["callbacks"]["sla_minutes"] == 30
    assert stored["callbacks"]["business_hours_clock"] is False
    assert stored["callbacks"]["working_hours"]["sat"] == ["10:00", "14:00"]
    assert stored["callbacks"]["working_hours"]["mon"] is None
    assert stored["callbacks"]["working_hours"]["tue"] == ["09:00", "18:00"]  # untouched


async def test_refused_values_come_back_on_the_form(
    app: object, client: AsyncClient, database: Database, admin: dict[str, str]
) -> None:
    before = await _economics(client, admin)
    async with browser(app, database, Role.ADMIN) as page:
        token = csrf_of(await page.get("/settings"))
        for field, value in (
            ("thresholds.reached_s", "lots"),
            ("default_margin_rate", "1.5"),
            ("timezone", "Mars/Olympus"),
            ("callbacks.working_hours.wed.start", "19:00"),
            ("labor_cost_per_hour", "600.001"),
        ):
            answer = await page.post(
                "/settings/economics", data={field: value, "csrf_token": token}
            )
            assert answer.status_code == 422, (field, answer.text)
            assert 'aria-invalid="true"' in answer.text
            assert value in answer.text  # the value typed is kept on the form
    assert await _economics(client, admin) == before


async def test_api_keys_created_once_and_revoked(
    app: object, client: AsyncClient, database: Database, admin: dict[str, str]
) -> None:
    anna = await create_employee(client, admin, "Anna", "101")
    integration = await create_integration(client, admin)
    async with browser(app, database, Role.ADMIN) as page:
        shown = await page.get("/settings")
        assert (
            figures_of(shown)[f"webhook-{integration['id']}-events"] == (integration["webhook_url"])
        )
        token = csrf_of(shown)
        created = await page.post(
            "/settings/api-keys",
            data={
                "name": "Anna",
                "role": "manager",
                "employee_id": anna["id"],
                "csrf_token": token,
            },
        )
        assert created.status_code == 200
        key = figures_of(created)["created-key"]
        assert (
            await client.get("/api/v1/calls", headers={"Authorization": f"Bearer {key}"})
        ).status_code == 200
        again = await page.get("/settings")
        assert key not in again.text  # shown once
        missing = await page.post(
            "/settings/api-keys", data={"name": "x", "role": "manager", "csrf_token": token}
        )
        assert missing.status_code == 422
        listed = (await client.get("/api/v1/api-keys", headers=admin)).json()["items"]
        (mine,) = [item for item in listed if item["name"] == "Anna"]
        revoked = await page.post(
            f"/settings/api-keys/{mine['id']}/revoke", data={"csrf_token": token}
        )
        assert revoked.status_code == 303
        assert figures_of(await page.get("/settings"))[f"key-{mine['id']}"] == "revoked"
    assert (
        await client.get("/api/v1/calls", headers={"Authorization": f"Bearer {key}"})
    ).status_code == 401
