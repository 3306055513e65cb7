"""Webhook ingest under load: a fixed arrival rate and full speed, against a bare endpoint.

For each database it starts one ``callfunnel serve`` process (uvicorn, one worker, the recording
worker off; ``--workers N``: N API processes on the port) on a fresh database, with
``CALLFUNNEL_BENCH_BARE_ENDPOINT=1`` so that the same processes also serve ``POST /bench/bare/…``:
the same route shape, reading and parsing the same form, storing nothing. That endpoint is the
ceiling — what the HTTP stack alone costs. Then, on loopback:

* **fixed rate** (open loop): requests are sent on a schedule (``--rate`` per second for
  ``--seconds``) whatever the answers; latency is measured from the scheduled moment, so a server
  that falls behind shows it in p99 rather than by slowing the sender down;
* **full speed** (closed loop): ``--requests`` requests over ``--concurrency`` connections.

Each run goes to the bare endpoint and then to the real one, so that the ratio (real ÷ bare at full
speed; target ≥ 0.4) is measured side by side. The requests are signed Mango Office form posts of
calls to a cold base imported first (``app.webhooks.traffic``): the real endpoint checks each
signature, stores a new raw event and merges it into its call. Every event is unique. The server's
own CPU time per request (from /proc) is reported too: it is steadier than throughput on a shared
machine.

Prints the figures and replaces the generated block of ``docs/benchmarks.md`` (``--no-docs`` to
leave it). The PostgreSQL database is emptied first: give one used for nothing else.

    .venv/bin/python bench/ingest.py --sqlite \\
        --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/cf_ingest --port 18010
    .venv/bin/python bench/ingest.py --workers 2 --batch 0 \\
        --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/cf_ingest --port 18010
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from loadgen import (  # bench/ is the script's directory
    Pool,
    Server,
    call_stream,
    cold_base,
    command_line,
    cpu_seconds,
    generic_batches,
    load_average,
    machine,
    postgres_version,
    raw_request,
    write_docs_block,
)

from app import migrations

WARM_UP = 300
FULL_SPEED = "full speed"
# Batches in flight at once: a bridge that batches has few connections.
BATCH_CONCURRENCY = 4


@dataclass(frozen=True, slots=True)
class RunResult:
    endpoint: str  # "bare", "ingest" or "ingest, generic batches of N"
    load: str  # "300/s" or "full speed"
    requests: int
    seconds: float
    latencies: Sequence[float]  # seconds, sorted
    non_200: int
    server_cpu: float  # seconds of user + system time of the server process
    events_per_request: int = 1

    @property
    def events(self) -> int:
        return self.requests * self.events_per_request

    @property
    def throughput(self) -> float:
        """Events per second."""
        return self.events / self.seconds

    def ms(self, share: float) -> float:
        """The latency percentile ``share`` (0.99: p99), in milliseconds."""
        return self.latencies[min(len(self.latencies) - 1, int(len(self.latencies) * share))] * 1e3

    @property
    def cpu_ms(self) -> float:
        """Server CPU per event."""
        return self.server_cpu / self.events * 1e3


async def _fixed_rate(
    pool: Pool, requests: Sequence[bytes], rate: float
) -> tuple[float, list[float], int]:
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    failures = 0
    start = loop.time() + 0.05

    async def one(request: bytes, due: float) -> None:
        nonlocal failures
        status, _ = await pool.send(request)
        latencies.append(loop.time() - due)
        failures += status != 200

    tasks = []
    for n, request in enumerate(requests):
        due = start + n / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(request, due)))
    await asyncio.gather(*tasks)
    return loop.time() - start, latencies, failures


async def _full_speed(
    pool: Pool, requests: Sequence[bytes], concurrency: int
) -> tuple[float, list[float], int]:
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    failures = 0
    queue: Iterator[bytes] = iter(requests)

    async def worker() -> None:
        nonlocal failures
        for request in queue:
            began = loop.time()
            status, _ = await pool.send(request)
            latencies.append(loop.time() - began)
            failures += status != 200

    start = loop.time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return loop.time() - start, latencies, failures


async def _run(
    server: Server,
    endpoint: str,
    load: str,
    pool: Pool,
    requests: Sequence[bytes],
    *,
    rate: float = 0,
    concurrency: int = 0,
    events_per_request: int = 1,
) -> RunResult:
    """``requests`` at ``rate`` (fixed rate) or over ``concurrency`` connections (full speed)."""
    cpu_before = cpu_seconds(server.pid)
    if load == FULL_SPEED:
        seconds, latencies, failures = await _full_speed(pool, requests, concurrency)
    else:
        seconds, latencies, failures = await _fixed_rate(pool, requests, rate)
    result = RunResult(
        endpoint=endpoint,
        load=load,
        requests=len(requests),
        seconds=seconds,
        latencies=sorted(latencies),
        non_200=failures,
        server_cpu=cpu_seconds(server.pid) - cpu_before,
        events_per_request=events_per_request,
    )
    print(
        f"{endpoint} {load}: {result.events} events, {result.throughput:.0f}/s, "
        f"p50 {result.ms(0.5):.1f} ms, p99 {result.ms(0.99):.1f} ms, "
        f"server CPU {result.cpu_ms:.2f} ms/event, non-200 {result.non_200}",
        flush=True,
    )
    return result


async def _bench_database(url: str, args: argparse.Namespace) -> list[RunResult]:
    server = Server(
        url, args.port, "bench-" + secrets.token_hex(20), bare_endpoint=True, workers=args.workers
    )
    await server.start()
    try:
        fixed = int(args.rate * args.seconds)
        total = WARM_UP + fixed + args.requests
        integration_id = await server.add_integration("mango")
        await server.import_cold_base(cold_base(total))
        stream = call_stream("mango", integration_id, total, args.seed)

        def wire(start: int, stop: int, *, bare: bool) -> list[bytes]:
            return [
                raw_request(
                    item,
                    port=args.port,
                    path=item.path.replace("/webhooks/", "/bench/bare/", 1) if bare else None,
                )
                for item in stream[start:stop]
            ]

        pool = Pool(args.port, args.connections)
        for bare in (True, False):
            await _full_speed(pool, wire(0, WARM_UP, bare=bare), args.concurrency)
        results = []
        rated = (f"{args.rate:g}/s", WARM_UP, WARM_UP + fixed)
        for load, start, stop in (rated, (FULL_SPEED, WARM_UP + fixed, total)):
            for endpoint, bare in (("bare", True), ("ingest", False)):
                requests = wire(start, stop, bare=bare)
                results.append(
                    await _run(
                        server,
                        endpoint,
                        load,
                        pool,
                        requests,
                        rate=args.rate,
                        concurrency=args.concurrency,
                    )
                )
        if args.batch:
            # By now every extension has its employee and every number its lead: steady state.
            generic = await server.add_integration("generic")
            events = call_stream("generic", generic, args.requests, args.seed + 1)
            batches = generic_batches(events, args.batch, port=args.port)
            endpoint = f"ingest, generic JSON, {args.batch} events per request"
            results.append(
                await _run(
                    server,
                    endpoint,
                    FULL_SPEED,
                    pool,
                    batches,
                    concurrency=BATCH_CONCURRENCY,
                    events_per_request=args.batch,
                )
            )
        pool.close()
        return results
    finally:
        server.stop()


def _report(results: dict[str, list[RunResult]], loads: tuple[str, str], workers: int) -> list[str]:
    day = datetime.now(UTC).date().isoformat()
    rows = [
        "| date | database | endpoint | load | events | sustained | p50 | p99 "
        "| server CPU per event | non-200 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    ratios = []
    for label, runs in results.items():
        rows += [
            f"| {day} | {label} | {run.endpoint} | {run.load} | {run.events:,} "
            f"| {run.throughput:,.0f}/s | {run.ms(0.5):,.1f} ms | {run.ms(0.99):,.1f} ms "
            f"| {run.cpu_ms:.2f} ms | {run.non_200} |"
            for run in runs
        ]
        full = {run.endpoint: run for run in runs if run.load == FULL_SPEED}
        ingest, bare = full["ingest"], full["bare"]
        ratios.append(
            f"{label} **{ingest.throughput / bare.throughput:.2f}** "
            f"({ingest.throughput:,.0f} ÷ {bare.throughput:,.0f} requests/s; "
            f"server CPU per request {bare.cpu_ms:.2f} ÷ {ingest.cpu_ms:.2f} ms = "
            f"{bare.cpu_ms / ingest.cpu_ms:.2f})"
        )
    return [
        *rows,
        "",
        f"Ingest ÷ bare at full speed (target ≥ 0.4): {'; '.join(ratios)}. One Mango event per "
        "request; latencies are per request.",
        "",
        f"Machine: {machine()}; {_processes(workers)} (server CPU counts them all), the load "
        f"generator on the same machine. Load average (1 min) before and after the run: "
        f"{loads[0]} and {loads[1]}.",
        "",
        "```sh",
        command_line(),
        "```",
    ]


def _processes(workers: int) -> str:
    return "one server process" if workers == 1 else f"`serve --workers {workers}`"


async def run(args: argparse.Namespace) -> int:
    databases: list[tuple[str, str]] = []
    scratch = tempfile.TemporaryDirectory(prefix="callfunnel-ingest-")
    if args.sqlite:
        databases.append(("SQLite", f"sqlite+aiosqlite:///{scratch.name}/ingest.db"))
    if args.postgres:
        databases.append((await postgres_version(args.postgres), args.postgres))
    load_before = load_average()
    with scratch:
        results = {}
        for label, url in databases:
            print(label, flush=True)
            results[label] = await _bench_database(url, args)
    report = _report(results, (load_before, load_average()), args.workers)
    print("\n".join(report))
    if not args.no_docs:
        # Several workers have their own table (issue 15), beside the one-process one.
        if args.workers == 1:
            block = ("bench/ingest.py", "Webhook ingest: fixed rate, full speed, ceiling")
        else:
            block = ("bench/ingest.py --workers", "Ingest with workers")
        write_docs_block(*block, report)
    return 1 if any(run.non_200 for runs in results.values() for run in runs) else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sqlite", action="store_true", help="bench a fresh SQLite file")
    parser.add_argument("--postgres", metavar="URL", help="this PostgreSQL database (emptied)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--rate", type=float, default=300, help="fixed arrival rate, requests/s")
    parser.add_argument("--seconds", type=float, default=20, help="length of the fixed-rate run")
    parser.add_argument("--requests", type=int, default=6000, help="size of the full-speed run")
    parser.add_argument("--concurrency", type=int, default=32, help="connections at full speed")
    parser.add_argument(
        "--connections", type=int, default=256, help="most connections open at the fixed rate"
    )
    parser.add_argument(
        "--batch", type=int, default=100, help="events per generic JSON request (0: no such run)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--workers", type=int, default=1, help="API processes of the server (serve --workers)"
    )
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
