"""Writes the property test does not generate: concurrent deliveries, an upgrade over existing
calls, rows written past the application and the command that repairs them, the demo history.

Each ends the way the property test does: the kept-evidence and the raw path answer the same
funnels (``World.compare``), field by field.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import create_async_engine
from typer.testing import CliRunner

from app import migrations
from app.auth.roles import Role
from app.calls.events import CallStatus, Direction
from app.calls.models import Call
from app.cli import cli
from app.config import get_settings
from app.db import Database
from app.demo import DemoBuilder
from app.employees.models import Employee
from app.ids import new_id
from app.integrations.models import Integration
from app.leads.models import Lead, LeadPhone
from app.main import create_app
from app.metrics.models import LeadEvidence
from app.webhooks.providers.simulation import CallSpec
from tests.factories import bearer, make_key, settings_for
from tests.metrics.exactness_ops import NUMBERS, T0, World, final_queries

BEFORE_EVIDENCE = "20261204_0007"


def _calls(rng: random.Random, count: int) -> list[CallSpec]:
    """Calls of two numbers only: every delivery touches the same two leads' evidence."""
    calls = []
    for n in range(count):
        start = T0 + timedelta(minutes=rng.randrange(0, 7 * 24 * 60))
        talk = rng.choice((0, 15, 70, 200))
        answered = start + timedelta(seconds=5) if talk else None
        calls.append(
            CallSpec(
                call_id=f"race{n:03d}",
                direction=Direction.OUTBOUND,
                extension=rng.choice(("101", "102")),
                external_number=NUMBERS[n % 2],
                started_at=start,
                answered_at=answered,
                ended_at=(answered or start) + timedelta(seconds=talk or 20),
                status=CallStatus.ANSWERED if talk else CallStatus.NO_ANSWER,
            )
        )
    return calls


async def test_concurrent_deliveries_to_the_same_leads(
    client: AsyncClient, database: Database
) -> None:
    world = await World.start(client, database)
    calls = _calls(random.Random(15), 40)
    gate = asyncio.Semaphore(8)

    async def deliver(spec: CallSpec) -> None:
        async with gate:
            await world.deliver_now(spec, "generic")

    await asyncio.gather(*(deliver(spec) for spec in calls))
    assert len(await world.calls()) == 40
    problems = await world.compare(final_queries(3 * 24 * 60))
    assert not problems, "\n".join(problems)


async def _seed_old_database(url: str) -> None:
    """A lead, an employee and two calls, written as a database before kept evidence held them."""
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            now = T0
            await connection.execute(
                insert(Integration.__table__),
                [{"id": "intg_old", "provider": "generic", "name": "old", "config": {}}],
            )
            await connection.execute(
                insert(Employee.__table__), [{"id": "emp_old", "name": "Old", "created_at": now}]
            )
            await connection.execute(
                insert(Lead.__table__),
                [
                    {
                        "id": "lead_old",
                        "status": "active",
                        "created_at": now,
                        "updated_at": now,
                    }
                ],
            )
            await connection.execute(
                insert(LeadPhone.__table__), [{"lead_id": "lead_old", "phone_e164": NUMBERS[0]}]
            )
            await connection.execute(
                insert(Call.__table__),
                [
                    {
                        "id": new_id("call"),
                        "integration_id": "intg_old",
                        "provider_call_id": f"old{n}",
                        "direction": "outbound",
                        "status": "answered",
                        "employee_id": "emp_old",
                        "lead_id": "lead_old",
                        "started_at": T0 + timedelta(hours=n),
                        "ended_at": T0 + timedelta(hours=n, seconds=130),
                        "talk_seconds": 120,
                        "duration_seconds": 130,
                        "merge_state": {},
                        "created_at": now,
                        "updated_at": now,
                    }
                    for n in range(2)
                ],
            )
    finally:
        await engine.dispose()


def test_an_upgrade_over_existing_calls_keeps_their_evidence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    migrations.upgrade(url, BEFORE_EVIDENCE)
    asyncio.run(_seed_old_database(url))
    monkeypatch.setenv("CALLFUNNEL_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        # The operator's upgrade: the command the release notes tell them to run.
        result = CliRunner().invoke(cli, ["migrate"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    problems = asyncio.run(_compare_on(url, tmp_path))
    assert not problems, "\n".join(problems)


async def _compare_on(url: str, folder: Path) -> list[str]:
    application = create_app(settings_for(url, folder))
    async with application.router.lifespan_context(application):
        transport = ASGITransport(app=application)
        async with AsyncClient(transport=transport, base_url="http://testserver") as client:
            database = application.state.database
            world = World(client, database, bearer(await make_key(database, Role.ADMIN)))
            return await world.compare(final_queries(60))


async def test_rows_written_past_the_application_need_the_rebuild_command(
    client: AsyncClient, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = await World.start(client, database)
    for spec in _calls(random.Random(3), 6):
        await world.deliver_now(spec, "mango")
    async with database.unit_of_work() as session:
        await session.execute(delete(LeadEvidence))
    # The check can fail: without the rows the kept path answers differently.
    assert await world.compare(final_queries(60)) != []

    url = database.engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("CALLFUNNEL_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        result = await asyncio.to_thread(CliRunner().invoke, cli, ["evidence", "rebuild"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    async with database.unit_of_work(read_only=True) as session:
        kept = (await session.execute(select(LeadEvidence.lead_id))).scalars().all()
    assert len(kept) == 2
    assert await world.compare(final_queries(60)) == []


async def test_the_demo_history_answers_alike_on_both_paths(
    app: object, client: AsyncClient, database: Database
) -> None:
    world = World(client, database, bearer(await make_key(database, Role.ADMIN)))
    transport = ASGITransport(app=app)  # type: ignore[arg-type]
    async with AsyncClient(
        transport=transport, base_url="http://demo", headers=world.admin
    ) as http:
        builder = DemoBuilder(
            http,
            seed=1,
            weeks=2,
            leads=120,
            dials_per_day=3,
            today=datetime(2026, 11, 23, 9, tzinfo=UTC),
            progress=lambda *_: None,
        )
        await builder.build()
    problems = await world.compare(final_queries(14 * 24 * 60))
    problems += await world.compare_weekly("2026-W47", None)
    assert not problems, "\n".join(problems)
