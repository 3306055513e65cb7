"""Time the callback figures and the work list over a generated month of calls.

    .venv/bin/python bench/callbacks.py \
        --url postgresql+asyncpg://postgres@127.0.0.1:5432/cf_callbacks_bench

The spec's size by default: 1,000,000 calls in one month to 200,000 leads (``bench/funnel.py``'s
generator: 10 % inbound, 35 % answered, ring 3-30 s, so some unanswered inbound calls are short
abandons), plus the two weeks before the month (``--before``, 10 % as many calls per day) so that
cases open at the month's start reach back. The database is emptied and migrated first
(``--keep`` reuses what is there): point it at a database used for nothing else. Prints the
median of ``--repeat`` runs of each query as the API computes it (the service call, without HTTP)
and the time of the parts: SQL (calls, lead facts) and Python (the case walk, the figures).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from funnel import generate  # bench/ is the script's directory
from sqlalchemy import func, select, text

from app import migrations
from app.auth.roles import Role
from app.auth.scope import Scope
from app.callbacks import queries
from app.callbacks.cases import Rules, figures, lead_cases
from app.callbacks.service import callbacks_service
from app.calls.models import Call
from app.config import Settings
from app.db import Database, create_engine
from app.metrics.evidence import rebuild_evidence
from app.pagination import PageParams
from app.settings.service import settings_service

MONTH_START = datetime(2026, 3, 1, tzinfo=UTC)  # 2026-03-01 03:00 in Moscow: inside March
MONTH_DAYS = 31
NOW = datetime(2026, 4, 3, 9, tzinfo=UTC)


def month_then_some(calls: int, before_days: int) -> Callable[[random.Random], datetime]:
    """Start times: ``calls`` in March, and a tenth of March's daily rate for the days before."""
    share_before = before_days * 0.1 / (MONTH_DAYS + before_days * 0.1)

    def started_at(rng: random.Random) -> datetime:
        if rng.random() < share_before:
            return MONTH_START - timedelta(seconds=rng.randrange(before_days * 86_400))
        return MONTH_START + timedelta(seconds=rng.randrange(MONTH_DAYS * 86_400))

    return started_at


async def timed(repeat: int, run: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        began = time.perf_counter()
        result = await run()
        times.append(time.perf_counter() - began)
    return statistics.median(times), result


async def run(args: argparse.Namespace) -> None:
    database = Database(create_engine(Settings(database_url=args.url, _env_file=None)))
    if not args.keep:
        began = time.perf_counter()
        total = int(args.calls * (1 + args.before * 0.1 / MONTH_DAYS))
        await generate(
            database, total, args.leads, args.seed, month_then_some(args.calls, args.before)
        )
        print(
            f"generated {total} calls for {args.leads} leads in {time.perf_counter() - began:.1f} s"
        )
        # Written straight into the tables: the kept evidence the lead facts read is rebuilt,
        # as after any import past the write paths.
        began = time.perf_counter()
        async with database.unit_of_work() as session:
            kept = await rebuild_evidence(session)
        print(f"kept evidence rebuilt: {kept} leads in {time.perf_counter() - began:.1f} s")
    if database.engine.dialect.name == "postgresql":
        async with database.engine.begin() as connection:
            await connection.execute(text("ANALYZE"))
    head = Scope.of(Role.HEAD, None)
    month = ("2026-03-01", "2026-04-01")
    async with database.unit_of_work(read_only=True) as session:
        economics = await settings_service.economics(session, default_timezone="Europe/Moscow")
        in_month = await session.scalar(
            select(func.count()).where(
                Call.started_at >= datetime(2026, 2, 28, 21, tzinfo=UTC),
                Call.started_at < datetime(2026, 3, 31, 21, tzinfo=UTC),
            )
        )
        print(f"calls in the month: {in_month}")
        floor, _ = await timed(
            args.repeat,
            lambda: session.execute(
                select(Call.lead_id, func.count())
                .where(
                    Call.direction == "inbound",
                    Call.started_at >= datetime(2026, 2, 28, 21, tzinfo=UTC),
                    Call.started_at < datetime(2026, 3, 31, 21, tzinfo=UTC),
                )
                .group_by(Call.lead_id)
            ),
        )
        print(f"floor (one GROUP BY of the month's inbound calls by lead): {floor:.3f} s")
        for name, group_by in (("month, total", None), ("month, group_by=employee", "employee")):
            took, answer = await timed(
                args.repeat,
                lambda group_by=group_by: callbacks_service.metrics(
                    session,
                    economics,
                    start=month[0],
                    end=month[1],
                    as_of=None,
                    group_by=group_by,
                    employee_id=None,
                    scope=head,
                    now=NOW,
                ),
            )
            total = answer.total
            print(
                f"{name}: {took:.3f} s — {total.cases} cases, {total.missed_calls} missed calls, "
                f"{total.short_abandoned} short abandons, {total.lost} lost"
            )
        took, page = await timed(
            args.repeat,
            lambda: callbacks_service.cases(
                session,
                economics,
                PageParams(limit=50, after=None),
                status="pending",
                employee_id=None,
                start=None,
                end=None,
                as_of="2026-03-20T09:00:00Z",
                scope=head,
                now=NOW,
            ),
        )
        print(
            f"work list (pending, as of 2026-03-20 12:00 local): {took:.3f} s, "
            f"{len(page.items)} shown"
        )

        # The parts of the month's total, once each.
        start, end = datetime(2026, 2, 28, 21, tzinfo=UTC), datetime(2026, 3, 31, 21, tzinfo=UTC)
        window = timedelta(hours=economics.callbacks.window_hours)
        began = time.perf_counter()
        calls = await queries.calls_for_cases(session, start, end, NOW, window)
        sql_calls = time.perf_counter() - began
        began = time.perf_counter()
        leads = await queries.lead_facts(session, queries.touched_leads(start, end, NOW), NOW)
        sql_facts = time.perf_counter() - began
        assert economics.timezone is not None
        rules = Rules(
            economics.callbacks, economics.thresholds.reached_s, ZoneInfo(economics.timezone)
        )
        began = time.perf_counter()
        cases = [
            case
            for lead_id, rows in calls.items()
            for case in lead_cases(rows, leads[lead_id], rules, NOW)
        ]
        walk = time.perf_counter() - began
        began = time.perf_counter()
        figures(cases, [])
        maths = time.perf_counter() - began
        rows = sum(len(rows) for rows in calls.values())
        print(
            f"parts: SQL calls {sql_calls:.3f} s ({rows} rows, {len(calls)} leads), "
            f"SQL lead facts {sql_facts:.3f} s, case walk {walk:.3f} s, figures {maths:.3f} s"
        )
    await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--leads", type=int, default=200_000)
    parser.add_argument("--before", type=int, default=14, help="days of history before the month")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="reuse the generated history")
    args = parser.parse_args()
    if not args.keep:
        migrations.downgrade(args.url, "base")
    migrations.upgrade(args.url)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
