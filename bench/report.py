"""Time the weekly report over a generated history with one busy week, and each of its parts.

    .venv/bin/python bench/report.py \
        --url postgresql+asyncpg://postgres@127.0.0.1:5432/cf_report_bench \
        --calls 350000 --week-calls 50000 --leads 70000

The database is emptied, migrated and filled first (``--keep`` migrates to head and reuses what
is there): point it at a database used for nothing else. ``bench/funnel.py``'s generator spreads
``--week-calls`` over the report week and the rest over the weeks before it. Prints the median
of ``--repeat`` runs: the report as the API computes it, rendered as json and xlsx, and the parts
inside the service call (the three funnels, the call statistics, the loss reasons, the shaping),
for each ``--source`` of the funnels (both by default, kept evidence then raw, in one run).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Any
from zoneinfo import ZoneInfo

from funnel import START, generate  # bench/ is the script's directory
from sqlalchemy import text

from app import migrations
from app.auth.roles import Role
from app.auth.service import Principal
from app.config import Settings
from app.db import Database, create_engine
from app.leads.repository import lead_repository
from app.metrics.evidence import rebuild_evidence
from app.metrics.service import FunnelSource, metrics_service
from app.reports import service as report_module
from app.reports.formats import RENDERINGS, render_json
from app.reports.weeks import IsoWeek

WEEK = IsoWeek(2026, 26)
ZONE = ZoneInfo("Europe/Moscow")  # the default time zone the report's weeks are bounded in
NOW = datetime(2026, 7, 1, 9, tzinfo=UTC)


def busy_week(calls: int, week_calls: int) -> Callable[[random.Random], datetime]:
    monday = datetime.combine(WEEK.monday, datetime.min.time(), tzinfo=ZONE)
    history = (monday - START).total_seconds()

    def started_at(rng: random.Random) -> datetime:
        if rng.random() < week_calls / calls:
            return monday + timedelta(seconds=rng.uniform(0, 7 * 86_400))
        return START + timedelta(seconds=rng.uniform(0, history))

    return started_at


def _part_name(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """Which of the report's calls this is: the funnels differ by mode, grouping and period."""
    if name == "funnel_results":
        funnels: list[str] = []
        for params in args[1]:
            if params.mode == "cohort":
                funnels.append("8 weekly cohorts")
            elif params.start == WEEK.monday.isoformat():
                funnels.append(f"this week by {params.group_by}")
            else:
                funnels.append("previous week")
        return f"funnels, {args[1][0].mode}: {' + '.join(funnels)}"
    if name == "call_stats":
        return f"call stats by {kwargs['group_by']}"
    return name


class Timings:
    """Wall time of the report's parts, gathered by wrapping the functions the service calls."""

    def __init__(self) -> None:
        self.runs: defaultdict[str, list[float]] = defaultdict(list)
        self.source: FunnelSource = "kept"

    def add(self, name: str, began: float) -> None:
        self.runs[f"[{self.source}] {name}"].append(time.perf_counter() - began)

    def wrap_async(self, owner: object, name: str) -> None:
        original: Callable[..., Awaitable[Any]] = getattr(owner, name)

        @wraps(original)
        async def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                self.add(_part_name(name, args, kwargs), began)

        setattr(owner, name, timed)

    def wrap(self, owner: object, name: str) -> None:
        original: Callable[..., Any] = getattr(owner, name)

        @wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.add(name, began)

        setattr(owner, name, timed)


async def run(args: argparse.Namespace) -> None:
    database = Database(create_engine(Settings(database_url=args.url, _env_file=None)))
    if not args.keep:
        began = time.perf_counter()
        await generate(
            database, args.calls, args.leads, args.seed, busy_week(args.calls, args.week_calls)
        )
        took = time.perf_counter() - began
        print(f"generated {args.calls} calls for {args.leads} leads in {took:.1f} s")
        # Written past the application: the kept evidence is rebuilt once, as after an upgrade.
        began = time.perf_counter()
        async with database.unit_of_work() as session:
            kept = await rebuild_evidence(session)
        print(f"kept evidence rebuilt: {kept} leads in {time.perf_counter() - began:.1f} s")
    # begin(), not connect(): statistics ANALYZE leaves in a rolled-back transaction are lost.
    async with database.engine.begin() as connection:
        await connection.execute(text("ANALYZE"))
    timings = Timings()
    for name in ("funnel_results", "call_stats"):
        timings.wrap_async(metrics_service, name)
    for name in ("refusal_reasons", "lost_reasons"):
        timings.wrap_async(lead_repository, name)
    timings.wrap(report_module, "weekly_report")
    head = Principal(key_id="bench", role=Role.HEAD, employee_id=None)
    for source in args.source:
        timings.source = source
        for _ in range(args.repeat):
            async with database.unit_of_work(read_only=True) as session:
                began = time.perf_counter()
                report = await report_module.report_service.weekly(
                    session,
                    week=WEEK.key,
                    as_of=None,
                    principal=head,
                    default_timezone=ZONE.key,
                    now=NOW,
                    source=source,
                )
                timings.add("report (service call)", began)
            began = time.perf_counter()
            render_json(report)
            timings.add("render json", began)
            began = time.perf_counter()
            RENDERINGS["xlsx"].render(report, "en")
            timings.add("render xlsx", began)
    steps = {step.step: step for step in report.funnel}
    print(
        f"{WEEK.key}: {steps['dials'].count} dials to {steps['leads_dialed'].count} leads, "
        f"{steps['dials'].previous} dials the week before; median of {args.repeat} runs:"
    )
    medians = {name: statistics.median(runs) for name, runs in timings.runs.items()}
    for name, seconds in medians.items():
        print(f"  {name}: {seconds:.3f} s")
    for source in args.source:
        service = medians[f"[{source}] report (service call)"]
        print(f"[{source}] report as json: {service + medians[f'[{source}] render json']:.3f} s")
        print(f"[{source}] report as xlsx: {service + medians[f'[{source}] render xlsx']:.3f} s")
    await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--calls", type=int, default=350_000)
    parser.add_argument("--week-calls", type=int, default=50_000)
    parser.add_argument("--leads", type=int, default=70_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="reuse the generated history")
    parser.add_argument(
        "--source", choices=["kept", "raw"], action="append", help="default: kept, then raw"
    )
    args = parser.parse_args()
    args.source = args.source or ["kept", "raw"]
    if not args.keep:
        migrations.downgrade(args.url, "base")
    migrations.upgrade(args.url)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
