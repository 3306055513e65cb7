"""A small scored world for the script-quality API tests: two managers, two scripts, calls
delivered through the generic webhook, each tagged with its script."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from httpx import AsyncClient

from app.auth.roles import Role
from app.db import Database
from app.quality.defaults import DEFAULT_CHECKLIST_ID, DEFAULT_CRITERIA
from tests.factories import bearer, make_key
from tests.webhooks.delivery import deliver_call, spec

CONFIG: dict[str, object] = {
    "secret": "quality-test-secret",
    "timezone": "UTC",
    "default_region": "RU",
}
DEFAULT = DEFAULT_CHECKLIST_ID
KEYS = [row[0] for row in DEFAULT_CRITERIA]
MONDAY = datetime(2026, 11, 16, 7, 0, tzinfo=UTC)  # 10:00 in Moscow, week 2026-W47


def all_yes(**changes: str) -> dict[str, str]:
    return {key: changes.get(key, "yes") for key in KEYS}


@dataclass
class World:
    client: AsyncClient
    admin: dict[str, str]
    head: dict[str, str]
    integration: dict[str, Any]
    employees: dict[str, str]
    scripts: dict[str, str]
    managers: dict[str, dict[str, str]] = field(default_factory=dict)
    calls: dict[str, str] = field(default_factory=dict)  # our name → call id
    leads: dict[str, str] = field(default_factory=dict)  # our call name → its lead id

    async def call(
        self,
        name: str,
        *,
        extension: str = "101",
        number: str = "+79161234567",
        start: datetime = MONDAY,
        talk: int = 95,
        script: str | None = None,
        outcome: str | None = None,
    ) -> str:
        await deliver_call(
            self.client,
            self.integration,
            CONFIG,
            spec(name, extension=extension, number=number, start=start, talk=talk),
        )
        listed = await self.client.get(
            "/api/v1/calls",
            params={
                "integration_id": self.integration["id"],
                "from": start.isoformat(),
                "to": (start + timedelta(seconds=1)).isoformat(),
            },
            headers=self.admin,
        )
        assert listed.status_code == 200, listed.text
        # Each provider's simulator spells the call id its own way ("g-c1" for "c1").
        found = [
            item
            for item in listed.json()["items"]
            if item["provider_call_id"] in (name, f"g-{name}")
        ]
        assert len(found) == 1, listed.text
        (call,) = found
        changes: dict[str, Any] = {}
        if script is not None:
            changes["script_id"] = self.scripts[script]
        if outcome is not None:
            changes["outcome"] = outcome
        if changes:
            patched = await self.client.patch(
                f"/api/v1/calls/{call['id']}", json=changes, headers=self.admin
            )
            assert patched.status_code == 200, patched.text
        self.calls[name] = call["id"]
        self.leads[name] = call["lead_id"]
        return str(call["id"])

    async def score(
        self,
        call: str,
        answers: dict[str, str],
        *,
        checklist: str = DEFAULT,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        response = await self.client.put(
            f"/api/v1/calls/{self.calls.get(call, call)}/evaluations/{checklist}",
            json={"answers": answers, **extra},
            headers=headers or self.head,
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


async def make_world(client: AsyncClient, database: Database, admin: dict[str, str]) -> World:
    created = await client.post(
        "/api/v1/integrations",
        json={"provider": "generic", "name": "bridge", "config": CONFIG},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    integration = created.json()
    employees = {}
    for name, ext in (("Anna", "101"), ("Boris", "102")):
        created = await client.post(
            "/api/v1/employees", json={"name": name, "extensions": [ext]}, headers=admin
        )
        employees[name] = created.json()["id"]
    scripts = {}
    for kind in ("first_call", "second_call"):
        created = await client.post(
            "/api/v1/scripts", json={"name": kind, "kind": kind, "text": "..."}, headers=admin
        )
        assert created.status_code == 201, created.text
        scripts[kind] = created.json()["id"]
    head = bearer(await make_key(database, Role.HEAD))
    world = World(client, admin, head, integration, employees, scripts)
    for name, employee in employees.items():
        world.managers[name] = bearer(await make_key(database, Role.MANAGER, employee))
    return world


def later(minutes: int) -> datetime:
    return MONDAY + timedelta(minutes=minutes)
