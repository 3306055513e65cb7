"""Time the funnel over a generated history, against the floor of one plain SQL aggregate.

    .venv/bin/python bench/funnel.py --url postgresql+asyncpg://postgres@127.0.0.1:5432/cf_bench \
        --calls 100000 --leads 20000

The database is emptied and migrated first: point it at a database used for nothing else.
Prints the timings and the process's peak memory growth.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select, text

from app import migrations
from app.auth.roles import Role
from app.auth.service import Principal
from app.calls.models import Call
from app.calls.outcomes import Outcome
from app.config import Settings
from app.db import Database, create_engine
from app.employees.models import Employee
from app.integrations.models import Integration
from app.leads.models import Application, Lead
from app.metrics.service import FunnelParams, metrics_service
from app.settings.service import settings_service

START = datetime(2026, 1, 5, 6, tzinfo=UTC)
OUTCOMES = [None] * 6 + [o.value for o in Outcome]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def generate(database: Database, calls: int, leads: int, seed: int) -> None:
    rng = random.Random(seed)
    employees = [f"emp_{n:03d}" for n in range(20)]
    async with database.unit_of_work() as session:
        session.add(Integration(id="intg_bench", provider="generic", name="bench", config={}))
        for n, emp in enumerate(employees):
            session.add(
                Employee(id=emp, name=f"Manager {n}", hourly_cost=rng.choice([None, 60000]))
            )
        await session.flush()
        lead_ids = [f"lead_{n:07d}" for n in range(leads)]
        now = datetime.now(UTC)
        for chunk in range(0, leads, 10_000):
            await session.execute(
                insert(Lead),
                [
                    {
                        "id": lead,
                        "status": "active",
                        "campaign": rng.choice(["a", "b", "c"]),
                        "created_at": now,
                        "updated_at": now,
                    }
                    for lead in lead_ids[chunk : chunk + 10_000]
                ],
            )
        batch = []
        for n in range(calls):
            answered = rng.random() < 0.35
            talk = rng.randint(5, 400) if answered else 0
            ring = rng.randint(3, 30)
            batch.append(
                {
                    "id": f"call_{n:08d}",
                    "integration_id": "intg_bench",
                    "provider_call_id": f"p{n}",
                    "direction": "outbound" if rng.random() < 0.9 else "inbound",
                    "status": "answered" if answered else "no_answer",
                    "employee_id": rng.choice(employees),
                    "lead_id": rng.choice(lead_ids),
                    "started_at": START + timedelta(seconds=rng.randrange(180 * 86_400)),
                    "talk_seconds": talk,
                    "duration_seconds": ring + talk,
                    "outcome": rng.choice(OUTCOMES) if answered else None,
                    "merge_state": {},
                    "created_at": now,
                    "updated_at": now,
                }
            )
            if len(batch) == 10_000:
                await session.execute(insert(Call), batch)
                batch = []
        if batch:
            await session.execute(insert(Call), batch)
        await session.execute(
            insert(Application),
            [
                {
                    "id": f"app_{n:06d}",
                    "lead_id": rng.choice(lead_ids),
                    "status": "open",
                    "created_at": START + timedelta(days=rng.randrange(180)),
                }
                for n in range(max(1, calls // 200))
            ],
        )


async def run(args: argparse.Namespace) -> None:
    database = Database(create_engine(Settings(database_url=args.url, _env_file=None)))
    began = time.perf_counter()
    await generate(database, args.calls, args.leads, args.seed)
    took = time.perf_counter() - began
    print(f"generated {args.calls} calls for {args.leads} leads in {took:.1f} s")
    if database.engine.dialect.name == "postgresql":
        async with database.engine.connect() as connection:
            await connection.execute(text("ANALYZE"))
    head = Principal(key_id="bench", role=Role.HEAD, employee_id=None)
    whole = ("2026-01-01", "2026-08-01")
    week = ("2026-03-02", "2026-03-09")
    cases = [
        ("cohort, whole range", FunnelParams(*whole, "cohort", None, None, None, None)),
        ("cohort, group_by=employee", FunnelParams(*whole, "cohort", None, "employee", None, None)),
        ("cohort, one week", FunnelParams(*week, "cohort", None, None, None, None)),
        ("activity, one week", FunnelParams(*week, "activity", None, None, None, None)),
    ]
    rss_before = _rss_mb()
    async with database.unit_of_work(read_only=True) as session:
        economics = await settings_service.economics(session, default_timezone="Europe/Moscow")
        floor_began = time.perf_counter()
        await session.execute(
            select(Call.lead_id, func.count(), func.sum(Call.talk_seconds)).group_by(Call.lead_id)
        )
        floor = time.perf_counter() - floor_began
        print(f"floor (one GROUP BY over the same calls): {floor:.3f} s")
        for name, params in cases:
            began = time.perf_counter()
            result = await metrics_service.funnel(
                session, params, head, economics, now=datetime(2026, 9, 1, tzinfo=UTC)
            )
            took = time.perf_counter() - began
            print(
                f"{name}: {took:.3f} s ({took / floor:.1f}x the floor), "
                f"{result.total['leads_dialed']} leads, {result.total['dials']} dials"
            )
    print(
        f"peak RSS growth during the funnel queries: {_rss_mb() - rss_before:.1f} MB "
        f"(peak {_rss_mb():.0f} MB)"
    )
    await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--leads", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    migrations.downgrade(args.url, "base")
    migrations.upgrade(args.url)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
