"""Kept evidence (``lead_evidence``) stays what the raw calls give, after every write path.

Each test writes through one path (call merges, the CDR bulk merge, tags and scripts, lead and
employee merges, an hourly cost, the economics settings) and then checks two things: exact
figures of the rows it touched, and that the whole table equals a recount from the calls — a
path that forgot to refresh leaves a stale row, and this comparison fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from httpx import AsyncClient
from sqlalchemy import insert, select

from app.calls.bulk import merge_batch
from app.calls.events import CallEvent, CallStatus, Direction
from app.calls.models import Call
from app.calls.service import call_service
from app.db import Database
from app.metrics import queries
from app.metrics.evidence import rebuild_evidence, refresh_evidence
from app.metrics.models import LeadEvidence
from app.settings.schemas import EconomicsSettings
from app.settings.service import settings_service
from tests.factories import insert_integration

T0 = datetime(2026, 11, 17, 9, tzinfo=UTC)
PHONE_A = "+74950000001"
PHONE_B = "+74950000002"
COLUMNS = [c.name for c in LeadEvidence.__table__.columns]


@dataclass(frozen=True)
class _Source:
    default_region: str = "RU"
    duration_from_span: bool = False


def _call(
    call_id: str,
    phone: str,
    start: datetime,
    *,
    talk: int,
    ext: str = "101",
    direction: Direction = Direction.OUTBOUND,
) -> CallEvent:
    return CallEvent(
        provider_call_id=call_id,
        final=True,
        direction=direction,
        status=CallStatus.ANSWERED if talk else CallStatus.NO_ANSWER,
        extension=ext,
        external_number=phone,
        started_at=start,
        ended_at=start + timedelta(seconds=talk + 5),
        ring_seconds=5,
        talk_seconds=talk,
        duration_seconds=talk + 5,
    )


async def _kept(database: Database) -> dict[str, dict[str, Any]]:
    async with database.unit_of_work(read_only=True) as session:
        rows = (await session.execute(select(LeadEvidence.__table__))).mappings().all()
    return {row["lead_id"]: dict(row) for row in rows}


async def _recounted(database: Database) -> dict[str, dict[str, Any]]:
    """The rows the raw calls give now, under the stored settings."""
    async with database.unit_of_work(read_only=True) as session:
        settings = await settings_service.economics(session, default_timezone="UTC")
        result = await session.execute(queries.kept_evidence(settings, None))
        rows = result.mappings().all()
    return {row["lead_id"]: {name: row[name] for name in COLUMNS} for row in rows}


async def _assert_current(database: Database) -> dict[str, dict[str, Any]]:
    kept = await _kept(database)
    assert kept == await _recounted(database)
    return kept


async def _merge(database: Database, integration: str, *events: CallEvent) -> None:
    async with database.unit_of_work() as session:
        await call_service.merge_call_events(session, integration, _Source(), events)


async def _lead_of(database: Database, call: str) -> str:
    async with database.unit_of_work(read_only=True) as session:
        found = await session.scalar(select(Call.lead_id).where(Call.provider_call_id == call))
    assert found is not None
    return found


async def _call_id(database: Database, call: str) -> str:
    async with database.unit_of_work(read_only=True) as session:
        found = await session.scalar(select(Call.id).where(Call.provider_call_id == call))
    assert found is not None
    return found


async def test_a_merged_call_is_kept_at_once(database: Database) -> None:
    integration = await insert_integration(database)
    await _merge(database, integration, _call("c1", PHONE_A, T0, talk=0))
    lead = await _lead_of(database, "c1")
    row = (await _assert_current(database))[lead]
    assert (row["dials"], row["talk_seconds"], row["reached_at"]) == (1, 0, None)
    assert row["busy_seconds"] == 5  # ring time, no wrap-up for an unanswered call
    assert row["labour"] == 5 * 60000  # the default 600.00 an hour, in minor-unit-seconds
    # A later event of another call of the lead: reached, a conversation (90 s ≥ 60 s).
    later = T0 + timedelta(hours=1)
    await _merge(database, integration, _call("c2", PHONE_A, later, talk=90))
    row = (await _assert_current(database))[lead]
    assert (row["dials"], row["talk_seconds"], row["billable_minutes"]) == (2, 90, 2)
    assert (row["first_dial_at"], row["reached_at"], row["conversation_at"]) == (T0, later, later)
    assert (row["last_call_at"], row["second_call_at"]) == (later, None)
    assert row["busy_seconds"] == 5 + 95 + 30


async def test_the_bulk_merge_keeps_the_leads_of_its_batch(database: Database) -> None:
    integration = await insert_integration(database)
    events = {
        "b1": [_call("b1", PHONE_A, T0, talk=15)],
        "b2": [_call("b2", PHONE_B, T0 + timedelta(minutes=5), talk=0)],
        "b3": [_call("b3", PHONE_B, T0 + timedelta(minutes=9), talk=200)],
    }
    async with database.unit_of_work() as session:
        await merge_batch(session, integration, _Source(), events)
    kept = await _assert_current(database)
    a, b = await _lead_of(database, "b1"), await _lead_of(database, "b2")
    assert (kept[a]["dials"], kept[a]["reached_at"], kept[a]["conversation_at"]) == (1, T0, None)
    assert (kept[b]["dials"], kept[b]["talk_seconds"]) == (2, 200)
    assert kept[b]["conversation_at"] == T0 + timedelta(minutes=9)


async def test_tags_and_scripts_refresh_the_lead(
    database: Database, client: AsyncClient, admin: dict[str, str]
) -> None:
    integration = await insert_integration(database)
    await _merge(database, integration, _call("c1", PHONE_A, T0, talk=30))
    lead, call = await _lead_of(database, "c1"), await _call_id(database, "c1")
    assert (await _assert_current(database))[lead]["conversation_at"] is None
    # "presented" is stage-2 evidence whatever the talk time.
    response = await client.patch(
        f"/api/v1/calls/{call}", json={"outcome": "presented"}, headers=admin
    )
    assert response.status_code == 200, response.text
    assert (await _assert_current(database))[lead]["conversation_at"] == T0
    # A voicemail is not even reached.
    response = await client.patch(
        f"/api/v1/calls/{call}", json={"outcome": "voicemail"}, headers=admin
    )
    assert response.status_code == 200, response.text
    row = (await _assert_current(database))[lead]
    assert (row["reached_at"], row["conversation_at"]) == (None, None)
    script = await client.post(
        "/api/v1/scripts", json={"name": "Opening", "kind": "first_call"}, headers=admin
    )
    assert script.status_code == 201, script.text
    await client.patch(f"/api/v1/calls/{call}", json={"outcome": None}, headers=admin)
    response = await client.patch(
        f"/api/v1/calls/{call}", json={"script_id": script.json()["id"]}, headers=admin
    )
    assert response.status_code == 200, response.text
    assert (await _assert_current(database))[lead]["script_id"] == script.json()["id"]


async def test_a_lead_merge_moves_the_evidence(
    database: Database, client: AsyncClient, admin: dict[str, str]
) -> None:
    integration = await insert_integration(database)
    await _merge(database, integration, _call("c1", PHONE_A, T0, talk=0))
    await _merge(database, integration, _call("c2", PHONE_B, T0 + timedelta(days=1), talk=70))
    a, b = await _lead_of(database, "c1"), await _lead_of(database, "c2")
    response = await client.post(f"/api/v1/leads/{b}/merge", json={"into": a}, headers=admin)
    assert response.status_code == 200, response.text
    kept = await _assert_current(database)
    assert b not in kept
    assert (kept[a]["dials"], kept[a]["talk_seconds"]) == (2, 70)
    assert kept[a]["conversation_at"] == T0 + timedelta(days=1)


async def test_an_hourly_cost_and_an_employee_merge_reprice_the_labour(
    database: Database, client: AsyncClient, admin: dict[str, str]
) -> None:
    integration = await insert_integration(database)
    await _merge(database, integration, _call("c1", PHONE_A, T0, talk=55, ext="201"))
    await _merge(database, integration, _call("c2", PHONE_B, T0, talk=0, ext="202"))
    a, b = await _lead_of(database, "c1"), await _lead_of(database, "c2")
    async with database.unit_of_work(read_only=True) as session:
        first = await session.scalar(select(Call.employee_id).where(Call.provider_call_id == "c1"))
        other = await session.scalar(select(Call.employee_id).where(Call.provider_call_id == "c2"))
    response = await client.patch(
        f"/api/v1/employees/{first}", json={"hourly_cost": "1200.00"}, headers=admin
    )
    assert response.status_code == 200, response.text
    kept = await _assert_current(database)
    assert kept[a]["labour"] == 120000 * (60 + 30)
    assert kept[b]["labour"] == 60000 * 5
    response = await client.post(
        f"/api/v1/employees/{other}/merge", json={"into": first}, headers=admin
    )
    assert response.status_code == 200, response.text
    kept = await _assert_current(database)
    assert (kept[b]["labour"], kept[b]["first_dialler"]) == (120000 * 5, first)


async def test_thresholds_changed_rebuild_every_row(
    database: Database, client: AsyncClient, admin: dict[str, str]
) -> None:
    integration = await insert_integration(database)
    await _merge(database, integration, _call("c1", PHONE_A, T0, talk=45))
    lead = await _lead_of(database, "c1")
    assert (await _assert_current(database))[lead]["conversation_at"] is None
    body = EconomicsSettings().model_dump(mode="json")
    body["thresholds"]["conversation_s"] = 40
    body["wrapup_seconds"] = 10
    response = await client.put("/api/v1/settings/economics", json=body, headers=admin)
    assert response.status_code == 200, response.text
    row = (await _assert_current(database))[lead]
    assert (row["conversation_at"], row["busy_seconds"]) == (T0, 50 + 10)


async def test_rows_written_past_the_application_are_rebuilt(database: Database) -> None:
    integration = await insert_integration(database)
    await _merge(database, integration, _call("c1", PHONE_A, T0, talk=0))
    lead = await _lead_of(database, "c1")
    async with database.unit_of_work() as session:
        await session.execute(
            insert(Call),
            [
                {
                    "id": "call_direct",
                    "integration_id": integration,
                    "provider_call_id": "direct",
                    "direction": "outbound",
                    "status": "answered",
                    "lead_id": lead,
                    "started_at": T0 - timedelta(days=1),
                    "talk_seconds": 12,
                    "duration_seconds": 12,
                    "merge_state": {},
                }
            ],
        )
    assert (await _kept(database))[lead]["dials"] == 1  # nothing saw the direct write
    async with database.unit_of_work() as session:
        assert await rebuild_evidence(session) == 1
    row = (await _assert_current(database))[lead]
    assert (row["dials"], row["first_dial_at"], row["reached_at"]) == (
        2,
        T0 - timedelta(days=1),
        T0 - timedelta(days=1),
    )
    # refresh_evidence of nothing, or of no lead, is a no-op.
    async with database.unit_of_work() as session:
        await refresh_evidence(session, [None])
    assert (await _kept(database))[lead]["dials"] == 2
