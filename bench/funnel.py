"""Time the funnel over a generated history, against the floor of one plain SQL aggregate.

    .venv/bin/python bench/funnel.py --url postgresql+asyncpg://postgres@127.0.0.1:5432/cf_bench

The spec's size by default: 1,000,000 calls to 200,000 leads (``--calls``/``--leads`` for
others), generated in chunks of 10,000 rows, COPYed on PostgreSQL. The database is emptied and
migrated first: point it at a database used for nothing else. Prints the timings and the
process's peak memory growth, for each ``--source`` in turn (both by default: the kept
evidence first, since peak memory only grows, then the raw evidence pass, in one run). The kept
rows are rebuilt once after the generator wrote the calls past the application; that is timed too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app import migrations
from app.auth.roles import Role
from app.auth.service import Principal
from app.calls.models import Call
from app.calls.outcomes import Outcome
from app.config import Settings
from app.db import Base, Database, create_engine
from app.dialect import dialect_of, table_of
from app.employees.models import Employee
from app.integrations.models import Integration
from app.leads.models import Application, Lead
from app.metrics.evidence import rebuild_evidence
from app.metrics.service import FunnelParams, FunnelSource, metrics_service
from app.settings.service import settings_service

START = datetime(2026, 1, 5, 6, tzinfo=UTC)
OUTCOMES = [None] * 6 + [o.value for o in Outcome]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def six_months(rng: random.Random) -> datetime:
    return START + timedelta(seconds=rng.randrange(180 * 86_400))


async def generate(
    database: Database,
    calls: int,
    leads: int,
    seed: int,
    started_at: Callable[[random.Random], datetime] = six_months,
) -> None:
    """Employees, leads, calls starting at ``started_at(rng)``, and applications."""
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
            await _insert(
                session,
                Lead,
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
        batch: list[dict[str, Any]] = []
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
                    "started_at": started_at(rng),
                    "talk_seconds": talk,
                    "duration_seconds": ring + talk,
                    "outcome": rng.choice(OUTCOMES) if answered else None,
                    "merge_state": {},
                    "created_at": now,
                    "updated_at": now,
                }
            )
            if len(batch) == 10_000:
                await _insert(session, Call, batch)
                batch = []
        await _insert(session, Call, batch)
        await _insert(
            session,
            Application,
            [
                {
                    "id": f"app_{n:06d}",
                    "lead_id": lead_id,
                    "status": "open",
                    "created_at": START + timedelta(days=rng.randrange(180)),
                }
                # Distinct leads: a lead has at most one open application.
                for n, lead_id in enumerate(
                    rng.sample(lead_ids, min(len(lead_ids), max(1, calls // 200)))
                )
            ],
        )


async def _insert(session: AsyncSession, model: type[Base], rows: list[dict[str, Any]]) -> None:
    """COPY on PostgreSQL (multi-row INSERTs took four minutes for a million calls), else INSERT.

    Rows hold every column without a database default: COPY applies no Python-side defaults.
    """
    if not rows:
        return
    if dialect_of(session) != "postgresql":
        await session.execute(insert(model), rows)
        return
    columns = list(rows[0])
    driver = (await (await session.connection()).get_raw_connection()).driver_connection
    assert driver is not None
    await driver.copy_records_to_table(
        table_of(model).name,
        columns=columns,
        # asyncpg sends json columns as text.
        records=[
            tuple(json.dumps(v) if isinstance(v, dict) else v for v in (row[c] for c in columns))
            for row in rows
        ],
    )


async def run(args: argparse.Namespace) -> None:
    database = Database(create_engine(Settings(database_url=args.url, _env_file=None)))
    began = time.perf_counter()
    await generate(database, args.calls, args.leads, args.seed)
    took = time.perf_counter() - began
    print(f"generated {args.calls} calls for {args.leads} leads in {took:.1f} s")
    if database.engine.dialect.name == "postgresql":
        async with database.engine.begin() as connection:
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
    began = time.perf_counter()
    async with database.unit_of_work() as session:
        kept = await rebuild_evidence(session)
    print(f"kept evidence rebuilt: {kept} leads in {time.perf_counter() - began:.1f} s")
    if database.engine.dialect.name == "postgresql":
        async with database.engine.begin() as connection:
            await connection.execute(text("ANALYZE lead_evidence"))
    async with database.unit_of_work(read_only=True) as session:
        floor_began = time.perf_counter()
        await session.execute(
            select(Call.lead_id, func.count(), func.sum(Call.talk_seconds)).group_by(Call.lead_id)
        )
        floor = time.perf_counter() - floor_began
    print(f"floor (one GROUP BY over the same calls): {floor:.3f} s")
    for source in args.source:
        await _time_cases(database, cases, head, floor, source)


async def _time_cases(
    database: Database,
    cases: list[tuple[str, FunnelParams]],
    head: Principal,
    floor: float,
    source: FunnelSource,
) -> None:
    rss_before = _rss_mb()
    async with database.unit_of_work(read_only=True) as session:
        economics = await settings_service.economics(session, default_timezone="Europe/Moscow")
        for name, params in cases:
            began = time.perf_counter()
            result = await metrics_service.funnel(
                session,
                params,
                head,
                economics,
                now=datetime(2026, 9, 1, tzinfo=UTC),
                source=source,
            )
            took = time.perf_counter() - began
            print(
                f"[{source}] {name}: {took:.3f} s ({took / floor:.2f}x the floor), "
                f"{result.total.leads_dialed} leads, {result.total.dials} dials"
            )
    print(
        f"[{source}] peak RSS growth during the funnel queries: {_rss_mb() - rss_before:.1f} MB "
        f"(peak {_rss_mb():.0f} MB)"
    )
    await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--leads", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--source", choices=["kept", "raw"], action="append", help="default: kept, then raw"
    )
    args = parser.parse_args()
    args.source = args.source or ["kept", "raw"]
    migrations.downgrade(args.url, "base")
    migrations.upgrade(args.url)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
