"""Helpers for the CDR tests: an asterisk integration, imports through the API, call snapshots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from httpx import AsyncClient
from sqlalchemy import select

from app.calls.models import Call
from app.db import Database
from app.webhooks.models import WebhookEvent

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "real_cdr"
RU_RINGGROUP = FIXTURES / "ru-ringgroup-21col-Master.csv"
US_TRUNK = FIXTURES / "us-trunk-18col-Master.csv"
IVR_INTERNAL = FIXTURES / "ivr-internal-18col-Master.csv"
FREEPBX_SQL = FIXTURES / "freepbx-gsm-cdr-table.sql"

CALL_COLUMNS = (
    "provider_call_id",
    "direction",
    "status",
    "extension",
    "external_number",
    "started_at",
    "answered_at",
    "ended_at",
    "ring_seconds",
    "talk_seconds",
    "duration_seconds",
)


async def create_asterisk(client: AsyncClient, admin: dict[str, str], **config: Any) -> str:
    response = await client.post(
        "/api/v1/integrations",
        json={"provider": "asterisk", "name": "office PBX", "config": config},
        headers=admin,
    )
    assert response.status_code == 201, response.text
    integration_id: str = response.json()["id"]
    return integration_id


async def upload(
    client: AsyncClient,
    admin: dict[str, str],
    integration_id: str,
    content: bytes,
    name: str = "Master.csv",
) -> Any:
    response = await client.post(
        f"/api/v1/integrations/{integration_id}/cdr",
        files={"file": (name, content, "text/csv")},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    return response.json()


async def calls_by_id(
    database: Database, integration_id: str | None = None
) -> dict[str, dict[str, Any]]:
    """Every call's columns (times as text, UTC) by provider_call_id, whether it has an employee
    and a lead, and its merge state; of one integration, or of all when there is only one."""
    query = select(Call)
    if integration_id is not None:
        query = query.where(Call.integration_id == integration_id)
    async with database.unit_of_work(read_only=True) as session:
        rows = (await session.execute(query)).scalars().all()
        result: dict[str, dict[str, Any]] = {}
        for row in rows:
            values = {name: getattr(row, name) for name in CALL_COLUMNS}
            for name in ("started_at", "answered_at", "ended_at"):
                if values[name] is not None:
                    values[name] = values[name].strftime("%Y-%m-%d %H:%M:%S")
            values["has_employee"] = row.employee_id is not None
            values["has_lead"] = row.lead_id is not None
            values["merge_state"] = row.merge_state
            result[row.provider_call_id] = values
        return result


def without_state(calls: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {k: {n: v for n, v in c.items() if n != "merge_state"} for k, c in calls.items()}


async def raw_count(database: Database) -> int:
    async with database.unit_of_work(read_only=True) as session:
        return len((await session.execute(select(WebhookEvent.id))).scalars().all())
