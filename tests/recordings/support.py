"""Rows for recording tests: an integration, a call and its pending recording."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from app.calls.models import Call
from app.db import Database, utcnow
from app.employees.models import Employee
from app.ids import new_id
from app.recordings.models import Recording
from tests.factories import insert_integration


async def make_recording(
    database: Database,
    *,
    provider: str = "generic",
    config: dict[str, Any] | None = None,
    source_url: str | None = "https://recordings.example.com/1.mp3",
    employee_id: str | None = None,
    started_at: datetime | None = None,
) -> tuple[str, str]:
    """(call id, recording id) of a new call with one pending recording, due now."""
    now = utcnow()
    call_id, recording_id = new_id("call"), new_id("rec")
    integration_id = await insert_integration(
        database,
        provider=provider,
        config=config
        or {"secret": "generic-example", "recording_hosts": ["recordings.example.com"]},
    )
    async with database.unit_of_work() as session:
        session.add(
            Call(
                id=call_id,
                integration_id=integration_id,
                provider_call_id=f"pc-{call_id}",
                employee_id=employee_id,
                started_at=started_at or now - timedelta(minutes=5),
                talk_seconds=60,
            )
        )
        await session.flush()
        session.add(
            Recording(
                id=recording_id,
                call_id=call_id,
                provider_ref=f"ref-{recording_id}",
                source_url=source_url,
                next_attempt_at=now - timedelta(seconds=1),
            )
        )
    return call_id, recording_id


async def make_employee(database: Database) -> str:
    employee_id = new_id("emp")
    async with database.unit_of_work() as session:
        session.add(Employee(id=employee_id, name="Manager"))
    return employee_id


async def recording_row(database: Database, recording_id: str) -> Recording:
    async with database.unit_of_work(read_only=True) as session:
        row = (
            await session.execute(select(Recording).where(Recording.id == recording_id))
        ).scalar_one()
        session.expunge(row)
        return row
