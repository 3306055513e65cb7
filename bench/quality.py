"""Time the script-quality figures (and the evaluation queue) for a month at 1 M calls.

    .venv/bin/python bench/quality.py --url postgresql+asyncpg://postgres@127.0.0.1:5432/cf_bench

``bench/funnel.py``'s generator makes the history (by default its spec size: 1,000,000 calls over
six months to 200,000 leads, 20 managers); then a share of the answered calls of March with a
conversation (talk ≥ 60 s) is scored against the default checklist, with answers drawn from a
spread per manager (``--scored``: the share; 0.1 ≈ 5,000 evaluations in the month, twenty times
what the queue's three calls per manager and week would give). A tenth of them have a second
evaluator. The database is emptied and migrated first (``--keep`` reuses what is there): point it
at a database used for nothing else. Prints the median of ``--repeat`` runs of each query as the
API computes it (the service call, without HTTP).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from funnel import _insert, generate  # bench/ is the script's directory
from sqlalchemy import delete, func, select, text

from app import migrations
from app.auth.roles import Role
from app.auth.service import Principal
from app.calls.models import Call
from app.config import Settings
from app.db import Database, create_engine
from app.quality.defaults import DEFAULT_CHECKLIST_ID, DEFAULT_CRITERIA
from app.quality.models import Evaluation
from app.quality.service import script_quality_service
from app.settings.service import settings_service

MONTH = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
NOW = datetime(2026, 9, 1, tzinfo=UTC)
KEYS = [row[0] for row in DEFAULT_CRITERIA]


async def score_calls(database: Database, share: float, seed: int) -> int:
    rng = random.Random(seed)
    async with database.unit_of_work() as session:
        rows = (
            await session.execute(
                select(Call.id, Call.employee_id).where(
                    Call.started_at >= MONTH[0],
                    Call.started_at < MONTH[1],
                    Call.status == "answered",
                    Call.talk_seconds >= 60,
                )
            )
        ).all()
        skill: dict[str, float] = {}
        evaluations: list[dict[str, Any]] = []
        now = datetime.now(UTC)
        for call_id, employee_id in rows:
            if rng.random() >= share:
                continue
            level = skill.setdefault(employee_id, rng.uniform(0.55, 0.95))
            for evaluator in ("Sales head", "Reviewer")[: 2 if rng.random() < 0.1 else 1]:
                evaluations.append(
                    {
                        "id": f"eval_{len(evaluations):08d}",
                        "call_id": call_id,
                        "checklist_id": DEFAULT_CHECKLIST_ID,
                        "family_id": DEFAULT_CHECKLIST_ID,
                        "evaluator": evaluator,
                        "evaluator_employee_id": None,
                        "evaluator_key_id": None,
                        "source": "manual",
                        "answers": {
                            key: rng.choices(("yes", "no", "na"), (level, 1 - level, 0.05))[0]
                            for key in KEYS
                        },
                        "comment": None,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
        for chunk in range(0, len(evaluations), 10_000):
            await _insert(session, Evaluation, evaluations[chunk : chunk + 10_000])
    return len(evaluations)


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
        await generate(database, args.calls, args.leads, args.seed)
        took = time.perf_counter() - began
        print(f"generated {args.calls} calls for {args.leads} leads in {took:.1f} s")
    if args.rescore:
        async with database.unit_of_work() as session:
            await session.execute(delete(Evaluation))
    if not args.keep or args.rescore:
        began = time.perf_counter()
        scored = await score_calls(database, args.scored, args.seed)
        print(f"scored: {scored} evaluations in March in {time.perf_counter() - began:.1f} s")
        if database.engine.dialect.name == "postgresql":
            async with database.engine.begin() as connection:
                await connection.execute(text("ANALYZE"))
    head = Principal(key_id="bench", role=Role.HEAD, employee_id=None)
    async with database.unit_of_work(read_only=True) as session:
        count = await session.scalar(select(func.count()).select_from(Call))
        evaluations = await session.scalar(select(func.count()).select_from(Evaluation))
        print(f"database: {count} calls, {evaluations} evaluations")
        economics = await settings_service.economics(session, default_timezone="Europe/Moscow")
        for group_by in (None, "employee", "criterion", "week"):

            async def figures(group_by: Any = group_by) -> Any:
                return await script_quality_service.figures(
                    session,
                    start=MONTH[0],
                    end=MONTH[1],
                    as_of=NOW,
                    checklist_id=None,
                    group_by=group_by,
                    principal=head,
                    settings=economics,
                )

            took, answer = await timed(args.repeat, figures)
            total = answer.figures.total
            print(
                f"figures, a month, group_by={group_by}: {took:.3f} s "
                f"({total.calls} calls, {total.evaluations} evaluations, score {total.score:.1f})"
            )

        async def queue() -> Any:
            return await script_quality_service.queue(
                session,
                start=MONTH[0],
                end=MONTH[1],
                checklist_id=None,
                employee_id=None,
                principal=head,
                settings=economics,
            )

        took, queued = await timed(args.repeat, queue)
        print(f"queue, a month: {took:.3f} s ({len(queued)} calls offered)")
    await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--leads", type=int, default=200_000)
    parser.add_argument("--scored", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="Time what the database holds.")
    parser.add_argument(
        "--rescore",
        action="store_true",
        help="With --keep: replace the evaluations (at --scored) of the history kept, such as "
        "bench/callbacks.py's month of 1 M calls.",
    )
    args = parser.parse_args()
    if not args.keep:
        migrations.downgrade(args.url, "base")
        migrations.upgrade(args.url)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
