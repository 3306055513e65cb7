"""What the HTTP benchmarks share: a server they start, a cheap client, Mango traffic, the report.

Imported by ``bench/ingest.py`` and ``bench/durability.py`` (``bench/`` is the scripts' directory).
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import random
import re
import signal
import sqlite3
import subprocess
import sys
from collections import deque
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.webhooks.providers import get_adapter
from app.webhooks.providers.generic import SIGNATURE_HEADER, sign_body
from app.webhooks.traffic import EXAMPLE_CONFIGS, Delivery, deliveries, random_calls

DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
# Calls in progress at once: each sends its own requests in order, interleaved with the others'.
CALLS_IN_FLIGHT = 50
START = datetime(2026, 11, 2, 6, tzinfo=UTC)


# --- a minimal HTTP/1.1 client: the load generator shares the machine, so it must be cheap ----


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def send(self, request: bytes) -> tuple[int, bytes] | None:
        """The answer's status and body, or None when the server closed the connection instead."""
        try:
            self.writer.write(request)
            status_line = await self.reader.readline()
        except ConnectionError:
            return None
        if not status_line:
            return None
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return int(status_line.split()[1]), await self.reader.readexactly(length)


class Pool:
    """Keep-alive connections, opened as needed up to ``limit`` (then requests wait for one)."""

    def __init__(self, port: int, limit: int) -> None:
        self.port = port
        self.idle: list[Connection] = []
        self.slots = asyncio.Semaphore(limit)

    async def send(self, request: bytes) -> tuple[int, bytes]:
        """The answer's status and body; ``OSError`` when the server cannot answer."""
        async with self.slots:
            while self.idle:
                connection = self.idle.pop()
                # uvicorn closes connections idle for 5 s: such a one never read the request.
                answer = await connection.send(request)
                if answer is not None:
                    self.idle.append(connection)
                    return answer
                connection.writer.close()
            connection = Connection(*await asyncio.open_connection("127.0.0.1", self.port))
            answer = await connection.send(request)
            if answer is None:
                raise ConnectionError("the server closed a new connection without answering")
            self.idle.append(connection)
            return answer

    def close(self) -> None:
        for connection in self.idle:
            connection.writer.close()
        self.idle.clear()


def raw_request(delivery: Delivery, *, port: int, path: str | None = None) -> bytes:
    """The delivery as bytes on the wire (to ``path`` instead of its own, if given)."""
    headers = "".join(f"{name}: {value}\r\n" for name, value in delivery.headers.items())
    head = (
        f"POST {path or delivery.path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\n{headers}"
        f"content-length: {len(delivery.body)}\r\n\r\n"
    )
    return head.encode("latin-1") + delivery.body


# --- the server -----------------------------------------------------------------------------------


class Server:
    """One ``callfunnel serve`` of ours (``workers`` API processes, no recording worker)."""

    def __init__(
        self, database_url: str, port: int, key: str, *, bare_endpoint: bool, workers: int = 1
    ) -> None:
        self.env = {
            **os.environ,
            "CALLFUNNEL_DATABASE_URL": database_url,
            "CALLFUNNEL_BOOTSTRAP_ADMIN_KEY": key,
            "CALLFUNNEL_LOG_LEVEL": "WARNING",
            "CALLFUNNEL_BENCH_BARE_ENDPOINT": "1" if bare_endpoint else "0",
        }
        self.port = port
        self.workers = workers
        self.url = f"http://127.0.0.1:{port}"
        self.auth = {"Authorization": f"Bearer {key}"}
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def _spawn(self) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-c", "from app.cli import main; main()"]
        command += ["serve", "--port", str(self.port), "--no-worker"]
        command += ["--workers", str(self.workers)]
        # A group of its own: a SIGKILL must take the API processes along with their parent.
        return subprocess.Popen(command, env=self.env, start_new_session=True)

    async def start(self) -> None:
        """Start the process (migrating the database) and wait until it is ready."""
        self.process = self._spawn()
        async with httpx.AsyncClient(base_url=self.url) as http:
            for _ in range(600):
                if self.process.poll() is not None:
                    raise RuntimeError("the server exited while starting")
                try:
                    if (await http.get("/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError("the server did not become ready")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flushing, whatever is in flight is cut off."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()

    async def add_integration(self, provider: str) -> str:
        """A new integration of ``provider`` with its example config; its id."""
        async with httpx.AsyncClient(base_url=self.url, headers=self.auth) as http:
            created = await http.post(
                "/api/v1/integrations",
                json={"provider": provider, "name": "bench", "config": EXAMPLE_CONFIGS[provider]},
            )
            created.raise_for_status()
        integration_id: str = created.json()["id"]
        return integration_id

    async def import_cold_base(self, numbers: list[str]) -> None:
        """Cold calling dials a base loaded beforehand: calls find their leads, not make them."""
        base = "company,phone\n" + "".join(
            f"Company {n},{number}\n" for n, number in enumerate(numbers)
        )
        async with httpx.AsyncClient(base_url=self.url, headers=self.auth, timeout=300) as http:
            imported = await http.post(
                "/api/v1/leads/import", files={"file": ("base.csv", base.encode(), "text/csv")}
            )
            imported.raise_for_status()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process and its living descendants (API workers) have used."""
    ticks = 0
    for stat in _process_tree(pid).values():
        ticks += int(stat[11]) + int(stat[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _process_tree(pid: int) -> dict[int, list[str]]:
    """``/proc/PID/stat`` fields (after the command name) of ``pid`` and its descendants."""
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stats[int(entry.name)] = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # ended meanwhile
    tree, todo = {pid: stats[pid]}, [pid]
    while todo:
        parent = todo.pop()
        for child, fields in stats.items():
            if int(fields[1]) == parent:
                tree[child] = fields
                todo.append(child)
    return tree


# --- traffic --------------------------------------------------------------------------------------


def cold_base(requests: int) -> list[str]:
    """The numbers the calls dial: half as many as requests, so most leads get several calls."""
    return [f"+7916{n:07d}" for n in range(requests // 2)]


def call_stream(provider: str, integration_id: str, count: int, seed: int) -> list[Delivery]:
    """``count`` signed requests of calls in progress at once, each call's in order."""
    rng = random.Random(seed)
    adapter = get_adapter(provider)
    config = adapter.config_model.model_validate(EXAMPLE_CONFIGS[provider])
    calls = random_calls(
        rng,
        count // 2 + CALLS_IN_FLIGHT,  # every provider sends at least two requests a call
        start=START,
        extensions=[str(n) for n in range(101, 131)],
        numbers=cold_base(count),
        prefix=provider[0],
    )
    pending = deque(deliveries(provider, integration_id, config, [call]) for call in calls)
    in_flight: list[deque[Delivery]] = []
    out: list[Delivery] = []
    while len(out) < count:
        while pending and len(in_flight) < CALLS_IN_FLIGHT:
            in_flight.append(deque(pending.popleft()))
        turn = rng.randrange(len(in_flight))
        out.append(in_flight[turn].popleft())
        if not in_flight[turn]:
            in_flight[turn] = in_flight[-1]
            in_flight.pop()
    return out


def generic_batches(stream: list[Delivery], size: int, *, port: int) -> list[bytes]:
    """The generic webhook's one-event requests of ``stream`` sent ``size`` events at a time."""
    secret = str(EXAMPLE_CONFIGS["generic"]["secret"])
    requests = []
    for start in range(0, len(stream), size):
        part = stream[start : start + size]
        body = json.dumps({"events": [json.loads(item.body) for item in part]}).encode()
        batch = Delivery(
            call=part[0].call,
            method="POST",
            path=part[0].path,
            headers={"content-type": "application/json", SIGNATURE_HEADER: sign_body(secret, body)},
            body=body,
        )
        requests.append(raw_request(batch, port=port))
    return requests


# --- the report -----------------------------------------------------------------------------------


def machine() -> str:
    memory = next(
        round(int(line.split()[1]) / 1024**2)
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    return (
        f"{os.cpu_count()} cores, {memory} GiB, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )


def load_average() -> str:
    return f"{os.getloadavg()[0]:.2f}"


async def postgres_version(url: str) -> str:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            version = str((await connection.execute(text("SHOW server_version"))).scalar())
    finally:
        await engine.dispose()
    return f"PostgreSQL {version.split()[0]}"


def command_line() -> str:
    return " ".join([".venv/bin/python", *sys.argv])


def write_docs_block(script: str, heading: str, lines: list[str]) -> str:
    """Replace the block ``script`` generated in docs/benchmarks.md (or append a section)."""
    begin, end = f"<!-- {script}: begin -->", f"<!-- {script}: end -->"
    block = "\n".join([begin, *lines, end])
    current = DOCS.read_text()
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.DOTALL)
    if pattern.search(current):
        updated = pattern.sub(lambda _: block, current)
    else:
        updated = f"{current.rstrip()}\n\n## {heading}\n\n{block}\n"
    DOCS.write_text(updated)
    return block
