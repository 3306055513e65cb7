"""SIGKILL the server in the middle of a webhook load: nothing acknowledged may be lost or doubled.

For each database it starts one ``callfunnel serve`` process on a fresh database and sends
``--requests`` signed Mango requests, each a different event, over ``--concurrency`` connections.
Whenever another share of them has been answered it kills the server with SIGKILL (no shutdown;
requests in flight are cut off, some after their commit and before their answer) and starts it
again, ``--kills`` times. Like a PBX, the sender retries every request that got no 200 until all
have one. Then it counts, straight from the database:

* every request answered 200 has its ``webhook_event`` row (by the event's dedupe key) — none lost;
* no dedupe key has two rows — none doubled, although some requests were stored, cut off before
  their answer and sent again;
* every stored event was processed and every call exists once.

Exits non-zero on any loss, double or unprocessed event, and replaces its block in
``docs/benchmarks.md`` (``--no-docs`` to leave it). Not part of ``make test``: it takes a minute.
The PostgreSQL database is emptied first: give one used for nothing else.

    .venv/bin/python bench/durability.py --sqlite \\
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
class Outcome:
    requests: int
    kills: int
    attempts: int  # deliveries sent, retries included
    retried: int  # deliveries that got no 200 (cut off, refused while down) and were sent again
    stored_before_answer: int  # retries answered "duplicate": committed, then cut off
    rows: int
    lost: int
    doubled: int
    unprocessed: int
    calls_expected: int
    calls_found: int

    @property
    def passed(self) -> bool:
        return (
            not self.lost
            and not self.doubled
            and not self.unprocessed
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


async def _load_with_kills(
    server: Server, wire: list[bytes], args: argparse.Namespace
) -> tuple[int, int, int, int]:
    """Send everything until all is answered 200, killing the server on the way."""
    pool = Pool(server.port, args.concurrency)
    pending: asyncio.Queue[int] = asyncio.Queue()
    for index in range(len(wire)):
        pending.put_nowait(index)
    answered: set[int] = set()
    tried: Counter[int] = Counter()
    duplicates = kills = 0
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
            try:
                status, body = await pool.send(wire[index])
            except (OSError, EOFError):  # refused, reset, or cut off mid-answer
                status, body = 0, b""
            if status != 200:
                pending.put_nowait(index)
                await asyncio.sleep(0.05)  # the server is down or restarting
                continue
            answered.add(index)
            progress.set()
            duplicates += tried[index] > 1 and json.loads(body)["duplicates"] == 1
            if len(answered) == len(wire):
                done.set()

    async def killer() -> None:
        nonlocal kills
        for share in range(1, args.kills + 1):
            threshold = len(wire) * share // (args.kills + 1)
            while len(answered) < threshold:
                progress.clear()
                await progress.wait()
            server.kill()
            kills += 1
            pool.close()
            await server.start()

    await asyncio.gather(killer(), *(sender() for _ in range(args.concurrency)))
    pool.close()
    attempts = sum(tried.values())
    return kills, attempts, attempts - len(wire), duplicates


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
    server = Server(url, args.port, "bench-" + secrets.token_hex(20), bare_endpoint=False)
    await server.start()
    try:
        integration_id = await server.add_integration("mango")
        await server.import_cold_base(cold_base(args.requests))
        stream = call_stream("mango", integration_id, args.requests, args.seed)
        wire = [raw_request(item, port=args.port) for item in stream]
        kills, attempts, retried, stored_before_answer = await _load_with_kills(server, wire, args)
    finally:
        server.stop()
    expected = [_dedupe_key(item, integration_id) for item in stream]
    rows, unprocessed, calls = await _count(url, integration_id)
    outcome = Outcome(
        requests=len(stream),
        kills=kills,
        attempts=attempts,
        retried=retried,
        stored_before_answer=stored_before_answer,
        rows=sum(rows.values()),
        lost=sum(1 for key in expected if key not in rows),
        doubled=sum(1 for count in rows.values() if count > 1),
        unprocessed=unprocessed,
        calls_expected=len({item.call.call_id for item in stream}),
        calls_found=calls,
    )
    print(f"{label}: {outcome}", flush=True)
    return outcome


def _report(outcomes: dict[str, Outcome], loads: tuple[str, str]) -> list[str]:
    day = datetime.now(UTC).date().isoformat()
    rows = [
        "| date | database | requests (all answered 200 in the end) | SIGKILLs | deliveries "
        "| without a 200, sent again | of those already stored | `webhook_event` rows | lost "
        "| doubled | unprocessed | calls (expected) | result |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    rows += [
        f"| {day} | {label} | {o.requests:,} | {o.kills} | {o.attempts:,} | {o.retried:,} "
        f"| {o.stored_before_answer} | {o.rows:,} | {o.lost} | {o.doubled} | {o.unprocessed} "
        f"| {o.calls_found:,} ({o.calls_expected:,}) | {'pass' if o.passed else '**FAIL**'} |"
        for label, o in outcomes.items()
    ]
    return [
        *rows,
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
    report = _report(outcomes, (load_before, load_average()))
    print("\n".join(report))
    if not args.no_docs:
        write_docs_block("bench/durability.py", "SIGKILL in the middle of a load", report)
    return 0 if all(outcome.passed for outcome in outcomes.values()) else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sqlite", action="store_true", help="check a fresh SQLite file")
    parser.add_argument("--postgres", metavar="URL", help="this PostgreSQL database (emptied)")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--kills", type=int, default=3, help="SIGKILLs spread over the load")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--no-docs", action="store_true", help="do not update docs/benchmarks.md")
    args = parser.parse_args()
    if not (args.sqlite or args.postgres):
        parser.error("give --sqlite and/or --postgres URL")
    if args.postgres:
        # Emptied here; the server migrates it to head as it starts.
        migrations.downgrade(args.postgres, "base")
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
