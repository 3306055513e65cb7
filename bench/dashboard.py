"""Time every dashboard page server-side over a generated history.

    .venv/bin/python bench/dashboard.py --url postgresql+asyncpg://postgres@127.0.0.1:5432/cf_dash_bench

The spec's size by default: 1,000,000 calls to 200,000 leads (``bench/funnel.py``'s generator),
spread over the 26 weeks before now, so that the pages' default periods (last week, this month)
hold what they would in production; the kept funnel evidence is rebuilt after. The database is
emptied and migrated first (``--keep`` reuses what is there): point it at a database used for
nothing else. Each page is asked in-process (httpx over ASGI: the application's time, no network
and no browser), signed in through ``/login`` with an admin key, ``--repeat`` times; prints the
first and the best time of each.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import random
import re
import time
from datetime import UTC, datetime, timedelta

import httpx
from funnel import generate  # bench/ is the script's directory
from sqlalchemy import select, text, update

from app import migrations
from app.auth.roles import Role
from app.auth.service import api_key_service
from app.calls.models import Call
from app.config import Settings
from app.db import Database, create_engine
from app.integrations.models import Integration
from app.main import create_app
from app.metrics.evidence import rebuild_evidence

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
WEEKS = 26


async def prepare(database: Database, calls: int, leads: int, seed: int) -> None:
    now = datetime.now(UTC)

    def recent(rng: random.Random) -> datetime:
        return now - timedelta(seconds=rng.randrange(WEEKS * 7 * 86_400))

    began = time.perf_counter()
    await generate(database, calls, leads, seed, started_at=recent)
    print(f"generated {calls} calls for {leads} leads in {time.perf_counter() - began:.1f} s")
    async with database.unit_of_work() as session:
        # The generator's integration has no config; the Settings page shows a valid one.
        await session.execute(update(Integration).values(config={"secret": "bench-secret"}))
    began = time.perf_counter()
    async with database.unit_of_work() as session:
        kept = await rebuild_evidence(session)
    print(f"kept evidence rebuilt: {kept} leads in {time.perf_counter() - began:.1f} s")
    if database.engine.dialect.name == "postgresql":
        async with database.engine.begin() as connection:
            await connection.execute(text("ANALYZE"))


async def pages(database: Database) -> list[str]:
    """The dashboard's pages, those of one manager, call and lead included."""
    async with database.unit_of_work(read_only=True) as session:
        call_id, lead_id, employee_id = (
            await session.execute(
                select(Call.id, Call.lead_id, Call.employee_id)
                .where(Call.status == "answered", Call.lead_id.is_not(None))
                .order_by(Call.started_at.desc())
                .limit(1)
            )
        ).one()
    return [
        "/",
        "/?period=this_month",
        "/?mode=activity",
        "/managers",
        f"/managers/{employee_id}",
        "/calls",
        "/callbacks",
        "/quality",
        f"/quality/calls/{call_id}",
        "/leads",
        "/leads?stage=2",
        f"/leads/{lead_id}",
        "/reports",
        "/reports/weekly.html",
        "/settings",
    ]


async def run(args: argparse.Namespace) -> None:
    settings = Settings(database_url=args.url, log_level="WARNING", _env_file=None)
    database = Database(create_engine(settings))
    if not args.keep:
        await prepare(database, args.calls, args.leads, args.seed)
    async with database.unit_of_work() as session:
        _, key = await api_key_service.create(
            session, name="bench admin", role=Role.ADMIN, employee_id=None
        )
    paths = await pages(database)
    await database.dispose()
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=600) as client,
    ):
        form = await client.get("/login")
        match = _CSRF.search(form.text)
        assert match is not None, "no CSRF token on /login"
        signed = await client.post(
            "/login", data={"api_key": key, "next": "/", "csrf_token": match.group(1)}
        )
        assert signed.status_code == 303, signed.text
        print(f"{'page':<40} {'status':>6} {'first':>8} {'best':>8}  ({args.repeat} runs)")
        for path in [p for p in paths if not args.page or p in args.page]:
            times = []
            status = 0
            for _ in range(args.repeat):
                began = time.perf_counter()
                answer = await client.get(path)
                times.append(time.perf_counter() - began)
                status = answer.status_code
            print(f"{path[:40]:<40} {status:>6} {times[0]:>7.3f}s {min(times):>7.3f}s")
    print(
        f"machine: {platform.node()}, Python {platform.python_version()}, {args.url.split('@')[-1]}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--leads", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="time the data already there")
    parser.add_argument(
        "--page", action="append", help="time only this page (as listed; repeatable)"
    )
    args = parser.parse_args()
    if not args.keep:
        migrations.downgrade(args.url, "base")
        migrations.upgrade(args.url)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
