"""CDR import speed and memory: a large generated Master.csv into SQLite and PostgreSQL.

Writes a ``cdr_csv`` file (21 columns) of ``--rows`` rows from ``app.cdr.simulate.history`` (ring
groups of Local pairs, missed, IVR-only, outbound, busy, transfers), then imports it in a fresh
process per database exactly as ``callfunnel import cdr`` does (``app.cdr.service.import_file``),
and reports rows/s and the process's peak memory. Memory is measured at two file sizes to show it
flat: the importer holds one batch, whatever the file's size. Replaces its block in
``docs/benchmarks.md`` (``--no-docs`` to leave it). The PostgreSQL database is emptied first: give
one used for nothing else.

    .venv/bin/python bench/cdr.py --rows 200000 \\
        --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/cf_bench_cdr
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DOCS = ROOT / "docs" / "benchmarks.md"
BEGIN = "<!-- bench/cdr.py begin -->"
END = "<!-- bench/cdr.py end -->"
TARGET_ROWS_PER_SECOND = 50_000


def write_master_csv(path: Path, rows: int, seed: int = 18) -> int:
    from app.cdr.simulate import csv_line, history

    written = 0
    with path.open("w", encoding="utf-8") as out:
        for call in history(seed=seed, calls=rows):  # more calls than needed; stop at `rows`
            for row in call.rows:
                out.write(csv_line(row))
                written += 1
            if written >= rows:
                break
    return written


async def _import(database_url: str, path: Path) -> dict[str, float]:
    from app import migrations
    from app.config import Settings
    from app.db import Database, create_engine
    from tests.factories import insert_integration

    settings = Settings(database_url=database_url, log_level="WARNING", _env_file=None)  # type: ignore[call-arg]
    await asyncio.to_thread(migrations.downgrade, database_url, "base")
    await asyncio.to_thread(migrations.upgrade, database_url)
    database = Database(create_engine(settings))
    from app.cdr.service import import_file

    try:
        integration_id = await insert_integration(
            database,
            provider="asterisk",
            config={"times_in_utc": True, "extension_pattern": r"^\d{3}$"},
        )
        started = time.perf_counter()
        with path.open("rb") as stream:
            report = await import_file(database, integration_id, stream)
        elapsed = time.perf_counter() - started
    finally:
        await database.dispose()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "rows": report.rows_read,
        "stored": report.stored,
        "calls": report.calls_created,
        "seconds": elapsed,
        "rows_per_second": report.rows_read / elapsed,
        "peak_rss_mib": peak_kib / 1024,
    }


def child(database_url: str, path: str) -> None:
    result = asyncio.run(_import(database_url, Path(path)))
    print(json.dumps(result))


def run_child(database_url: str, path: Path) -> dict[str, float]:
    output = subprocess.run(
        [sys.executable, __file__, "--child", database_url, str(path)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    result: dict[str, float] = json.loads(output.strip().splitlines()[-1])
    return result


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--small-rows", type=int, default=20_000)
    parser.add_argument("--postgres", default=None, help="an empty PostgreSQL database's URL")
    parser.add_argument("--no-docs", action="store_true")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    results: list[tuple[str, int, dict[str, float]]] = []
    with tempfile.TemporaryDirectory() as folder:
        files = {}
        for rows in (args.small_rows, args.rows):
            path = Path(folder) / f"Master-{rows}.csv"
            files[rows] = (path, write_master_csv(path, rows))
        databases = [("SQLite", lambda n: f"sqlite+aiosqlite:///{folder}/cdr-{n}.db")]
        if args.postgres:
            databases.append(("PostgreSQL", lambda _n: args.postgres))
        for name, url_of in databases:
            for rows, (path, _written) in files.items():
                result = run_child(url_of(rows), path)
                results.append((name, path.stat().st_size, result))
                print(
                    f"{name:10} {result['rows']:>8.0f} rows ({path.stat().st_size / 2**20:.1f} MiB)"
                    f" {result['seconds']:7.1f} s {result['rows_per_second']:>8.0f} rows/s"
                    f"  peak RSS {result['peak_rss_mib']:.0f} MiB"
                )
    if not args.no_docs:
        write_docs(results, args)


def write_docs(results: list[tuple[str, int, dict[str, float]]], args: argparse.Namespace) -> None:
    lines = [
        BEGIN,
        "## CDR import (`bench/cdr.py`)",
        "",
        f"Machine: {machine()}. Command: `.venv/bin/python bench/cdr.py --rows {args.rows} "
        f"--small-rows {args.small_rows}"
        + (" --postgres postgresql+asyncpg://…/cf_bench_cdr`" if args.postgres else "`")
        + ". A generated 21-column `Master.csv` (ring groups of Local pairs, missed, IVR-only, "
        "outbound, busy, transfers; about 2 rows per call) imported as `callfunnel import cdr` "
        "does, in a fresh process per run; peak RSS is the whole process's (Python, SQLAlchemy, "
        "the app).",
        "",
        "| database | rows | file | seconds | rows/s | peak RSS |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, size, result in results:
        lines.append(
            f"| {name} | {result['rows']:.0f} | {size / 2**20:.1f} MiB | {result['seconds']:.1f} "
            f"| {result['rows_per_second']:.0f} | {result['peak_rss_mib']:.0f} MiB |"
        )
    best = min(result["rows_per_second"] for _, _, result in results)
    lines += [
        "",
        f"Target: {TARGET_ROWS_PER_SECOND:,} rows/s on each database. "
        + (
            "Met."
            if best >= TARGET_ROWS_PER_SECOND
            else "Not met. The database side is batched (per batch of 2000 rows: one multi-row "
            "INSERT of the raw rows, one SELECT of the existing calls, one of employees and leads, "
            "multi-row INSERTs of new leads and calls, one executemany UPDATE); what is left is "
            "Python CPU, about 170-250 µs per row on this machine: reading and hashing the row, "
            "normalising it into a call event, the generic merge's fold (immutable state objects "
            "per event), reading the state (call_fields) and serialising it to JSON with pydantic "
            "per call, phone parsing. Closing the gap needs that work off the single core: "
            "parsing and normalising in worker processes, a cheaper state serialisation, and a "
            "fold that builds a call complete within one batch without the per-event lattice "
            "objects (same result, tested against the merge)."
        ),
        END,
    ]
    text = DOCS.read_text(encoding="utf-8") if DOCS.exists() else "# Benchmarks\n"
    block = "\n".join(lines) + "\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        text = head + block + tail.lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + block
    DOCS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
