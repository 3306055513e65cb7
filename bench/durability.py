"""Disrupt a webhook load: nothing acknowledged may be lost or doubled, nothing answered 500.

For each database it starts ``callfunnel serve`` (``--workers N`` API processes) on a fresh
database and sends ``--requests`` signed Mango requests, each a different event, over
``--concurrency`` connections. Whenever another share of them has been answered it disrupts:

* by default it kills the server with SIGKILL (no shutdown; requests in flight are cut off, some
  after their commit and before their answer) and starts it again, ``--kills`` times;
* with ``--pg-restarts K`` it restarts PostgreSQL instead (``pg_ctlcluster … restart``, which
  ends every connection of the server's pools), K times, and the server must carry on by itself:
  503 while the database is away, 200 again once it is back. The figure of recovery is the time
  from PostgreSQL accepting connections again to the first 200 of a request sent after it.

Like a PBX, the sender retries every request that got no 200 until all have one. Then it counts,
straight from the database:

* every request answered 200 has its ``webhook_event`` row (by the event's dedupe key) — none lost;
* no dedupe key has two rows — none doubled, although some requests were stored, cut off before
  their answer and sent again;
* every stored event was processed and every call exists once;
* no answer was anything but 200, 503 or none at all (a 500 fails the run).

Exits non-zero on any of those, and replaces its block in ``docs/benchmarks.md`` (``--no-docs`` to
leave it). Not part of ``make test``: it takes a minute. The PostgreSQL database is emptied first:
give one used for nothing else. A restart of PostgreSQL interrupts everyone else using it.

    .venv/bin/python bench/durability.py --sqlite \\
        --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/cf_durable --port 18020
    .venv/bin/python bench/durability.py --pg-restarts 1 --workers 2 \\
        --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/cf_durable --port 18020
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
import tempfile
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from loadgen import (  # bench/ is the script's directory
    Pool,
    Server,
    call_stream,
    cold_base,
    command_line,
    load_average,
    machine,
    postgres_version,
    raw_request,
    write_docs_block,
)
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from app import migrations
from app.calls.models import Call
from app.webhooks.models import WebhookEvent
from app.webhooks.providers import get_adapter
from app.webhooks.providers.base import InboundRequest
from app.webhooks.traffic import Delivery


@dataclass(frozen=True, slots=True)
class Load:
    """How a load went: every delivery sent, and the answers it got."""

    disruptions: int
    attempts: int  # deliveries sent, retries included
    retried: int  # deliveries that got no 200 and were sent again
    stored_before_answer: int  # retries answered "duplicate": committed, then cut off
    statuses: Counter[int]  # answers by status; 0: none (refused, reset, cut off)
    recovery: list[float]  # per disruption: its end to the first 200 of a request sent after


@dataclass(frozen=True, slots=True)
class Outcome:
    requests: int
    load: Load
    rows: int
    lost: int
    doubled: int
    unprocessed: int
    calls_expected: int
    calls_found: int

    @property
    def server_errors(self) -> int:
        """Answers that are neither a 200 nor the 503 of a database away (a 500, a 4xx…)."""
        return sum(n for status, n in self.load.statuses.items() if status not in {0, 200, 503})

    @property
    def passed(self) -> bool:
        return (
            not self.lost
            and not self.doubled
            and not self.unprocessed
            and not self.server_errors
            and self.rows == self.requests
            and self.calls_found == self.calls_expected
        )


def _dedupe_key(item: Delivery, integration_id: str) -> str:
    """The key the server stores the request's event under, as the adapter computes it."""
    subpath = item.path.split(f"/{integration_id}/", 1)[1]
    request = InboundRequest(
        method=item.method,
        subpath=subpath,
        query={},
        headers={name.lower(): value for name, value in item.headers.items()},
        body=item.body,
        integration_id=integration_id,
    )
    (event,) = get_adapter("mango").split(request)
    return event.dedupe_key


async def _load(
    server: Server,
    wire: list[bytes],
    args: argparse.Namespace,
    disrupt: Callable[[Pool], Awaitable[None]],
    times: int,
) -> Load:
    """Send everything until all is answered 200, calling ``disrupt`` ``times`` on the way.

    Like a PBX, every request that got no 200 is sent again.
    """
    pool = Pool(server.port, args.concurrency)
    loop = asyncio.get_running_loop()
    pending: asyncio.Queue[int] = asyncio.Queue()
    for index in range(len(wire)):
        pending.put_nowait(index)
    answered: set[int] = set()
    tried: Counter[int] = Counter()
    statuses: Counter[int] = Counter()
    ok_sent_at: list[float] = []  # when each request later answered 200 was sent
    ended: list[float] = []
    duplicates = 0
    done, progress = asyncio.Event(), asyncio.Event()

    async def sender() -> None:
        nonlocal duplicates
        while not done.is_set():
            try:
                index = pending.get_nowait()
            except asyncio.QueueEmpty:
                await asyncio.sleep(0.01)
                continue
            tried[index] += 1
            sent_at = loop.time()
            try:
                status, body = await pool.send(wire[index])
            except (OSError, EOFError):  # refused, reset, or cut off mid-answer
                status, body = 0, b""
            statuses[status] += 1
            if status != 200:
                pending.put_nowait(index)
                await asyncio.sleep(0.05)  # the server or its database is away
                continue
            answered.add(index)
            ok_sent_at.append(sent_at)
            progress.set()
            duplicates += tried[index] > 1 and json.loads(body)["duplicates"] == 1
            if len(answered) == len(wire):
                done.set()

    async def disruptor() -> None:
        for share in range(1, times + 1):
            threshold = len(wire) * share // (times + 1)
            while len(answered) < threshold:
                progress.clear()
                await progress.wait()
            await disrupt(pool)
            ended.append(loop.time())

    await asyncio.gather(disruptor(), *(sender() for _ in range(args.concurrency)))
    pool.close()
    attempts = sum(tried.values())
    recovery = [min(t for t in ok_sent_at if t >= end) - end for end in ended]
    return Load(times, attempts, attempts - len(wire), duplicates, statuses, recovery)


def _killing(server: Server) -> Callable[[Pool], Awaitable[None]]:
    async def kill(pool: Pool) -> None:
        server.kill()
        pool.close()
        await server.start()

    return kill


def _restarting_postgres(cluster: str) -> Callable[[Pool], Awaitable[None]]:
    version, name = cluster.split("/")

    async def restart(_pool: Pool) -> None:
        # pg_ctlcluster waits until the server accepts connections again (or fails).
        command = ["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "restart"]
        process = await asyncio.create_subprocess_exec(*command)
        if await process.wait() != 0:
            raise RuntimeError(f"{' '.join(command)} failed")

    return restart


async def _count(url: str, integration_id: str) -> tuple[Counter[str], int, int]:
    """Rows per dedupe key, events not processed, and calls, as stored."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            mine = WebhookEvent.integration_id == integration_id
            keys = (
                await connection.execute(
                    select(WebhookEvent.dedupe_key, func.count())
                    .where(mine)
                    .group_by(WebhookEvent.dedupe_key)
                )
            ).all()
            unprocessed = await connection.scalar(
                select(func.count()).where(
                    mine, WebhookEvent.status.not_in(["processed", "ignored"])
                )
            )
            calls = await connection.scalar(
                select(func.count()).where(Call.integration_id == integration_id)
            )
    finally:
        await engine.dispose()
    return Counter(dict(keys)), int(unprocessed or 0), int(calls or 0)


async def _check(label: str, url: str, args: argparse.Namespace) -> Outcome:
    key = "bench-" + secrets.token_hex(20)
    server = Server(url, args.port, key, bare_endpoint=False, workers=args.workers)
    await server.start()
    try:
        integration_id = await server.add_integration("mango")
        await server.import_cold_base(cold_base(args.requests))
        stream = call_stream("mango", integration_id, args.requests, args.seed)
        wire = [raw_request(item, port=args.port) for item in stream]
        if args.pg_restarts:
            disrupt, times = _restarting_postgres(args.pg_cluster), args.pg_restarts
        else:
            disrupt, times = _killing(server), args.kills
        load = await _load(server, wire, args, disrupt, times)
    finally:
        server.stop()
    expected = [_dedupe_key(item, integration_id) for item in stream]
    rows, unprocessed, calls = await _count(url, integration_id)
    outcome = Outcome(
        requests=len(stream),
        load=load,
        rows=sum(rows.values()),
        lost=sum(1 for key in expected if key not in rows),
        doubled=sum(1 for count in rows.values() if count > 1),
        unprocessed=unprocessed,
        calls_expected=len({item.call.call_id for item in stream}),
        calls_found=calls,
    )
    print(f"{label}: {outcome}", flush=True)
    return outcome


def _kills_table(outcomes: dict[str, Outcome]) -> list[str]:
    day = datetime.now(UTC).date().isoformat()
    rows = [
        "| date | database | requests (all answered 200 in the end) | SIGKILLs | deliveries "
        "| without a 200, sent again | of those already stored | `webhook_event` rows | lost "
        "| doubled | unprocessed | calls (expected) | result |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    return rows + [
        f"| {day} | {label} | {o.requests:,} | {o.load.disruptions} | {o.load.attempts:,} "
        f"| {o.load.retried:,} | {o.load.stored_before_answer} | {o.rows:,} | {o.lost} "
        f"| {o.doubled} | {o.unprocessed} | {o.calls_found:,} ({o.calls_expected:,}) "
        f"| {'pass' if o.passed else '**FAIL**'} |"
        for label, o in outcomes.items()
    ]


def _restarts_table(outcomes: dict[str, Outcome], workers: int) -> list[str]:
    day = datetime.now(UTC).date().isoformat()
    rows = [
        "| date | database | API processes | requests (all answered 200 in the end) "
        "| PostgreSQL restarts | deliveries | answered 503 | no answer | 500 or other "
        "| first 200 after PostgreSQL was back | of the retries, already stored "
        "| `webhook_event` rows | lost | doubled | unprocessed | calls (expected) | result |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    return rows + [
        f"| {day} | {label} | {workers} | {o.requests:,} | {o.load.disruptions} "
        f"| {o.load.attempts:,} | {o.load.statuses[503]:,} | {o.load.statuses[0]:,} "
        f"| {o.server_errors} | {', '.join(f'{s:.2f} s' for s in o.load.recovery)} "
        f"| {o.load.stored_before_answer} | {o.rows:,} | {o.lost} | {o.doubled} "
        f"| {o.unprocessed} | {o.calls_found:,} ({o.calls_expected:,}) "
        f"| {'pass' if o.passed else '**FAIL**'} |"
        for label, o in outcomes.items()
    ]


def _report(
    outcomes: dict[str, Outcome], loads: tuple[str, str], args: argparse.Namespace
) -> list[str]:
    table = _restarts_table(outcomes, args.workers) if args.pg_restarts else _kills_table(outcomes)
    return [
        *table,
        "",
        f"Machine: {machine()}. Load average (1 min) before and after the run: {loads[0]} and "
        f"{loads[1]}.",
        "",
        "```sh",
        command_line(),
        "```",
    ]


async def run(args: argparse.Namespace) -> int:
    databases: list[tuple[str, str]] = []
    scratch = tempfile.TemporaryDirectory(prefix="callfunnel-durability-")
    if args.sqlite:
        databases.append(("SQLite", f"sqlite+aiosqlite:///{scratch.name}/durability.db"))
    if args.postgres:
        databases.append((await postgres_version(args.postgres), args.postgres))
    load_before = load_average()
    with scratch:
        outcomes = {label: await _check(label, url, args) for label, url in databases}
    report = _report(outcomes, (load_before, load_average()), args)
    print("\n".join(report))
    if not args.no_docs:
        if args.pg_restarts:
            block = ("bench/durability.py --pg-restarts", "A database restart during a load")
        else:
            block = ("bench/durability.py", "SIGKILL in the middle of a load")
        write_docs_block(*block, report)
    return 0 if all(outcome.passed for outcome in outcomes.values()) else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sqlite", action="store_true", help="check a fresh SQLite file")
    parser.add_argument("--postgres", metavar="URL", help="this PostgreSQL database (emptied)")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--kills", type=int, default=3, help="SIGKILLs spread over the load")
    parser.add_argument(
        "--pg-restarts",
        type=int,
        default=0,
        help="restart PostgreSQL this many times instead of killing the server (--postgres only)",
    )
    parser.add_argument("--pg-cluster", default="15/main", help="VERSION/NAME for pg_ctlcluster")
    parser.add_argument("--workers", type=int, default=1, help="API processes (serve --workers)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--no-docs", action="store_true", help="do not update docs/benchmarks.md")
    args = parser.parse_args()
    if not (args.sqlite or args.postgres):
        parser.error("give --sqlite and/or --postgres URL")
    if args.pg_restarts and (args.sqlite or not args.postgres):
        parser.error("--pg-restarts restarts PostgreSQL: give --postgres URL and no --sqlite")
    if args.postgres:
        # Emptied here; the server migrates it to head as it starts.
        migrations.downgrade(args.postgres, "base")
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
