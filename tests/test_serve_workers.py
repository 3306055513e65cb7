"""``callfunnel serve --workers 2``: two API processes on one port, one recording worker beside.

The server runs as a real process tree. Which process holds what is read from ``/proc``: the API
processes are the descendants holding the listening socket, and a connection is traced to the
process that accepted it through its socket inode, so no endpoint has to give a process id away.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from app.webhooks.models import WebhookEvent
from app.webhooks.providers import get_adapter
from app.webhooks.traffic import EXAMPLE_CONFIGS, Delivery, deliveries, random_calls

KEY = "cf_test_serve_workers_admin_key_0123456789"
_LISTEN, _ESTABLISHED = "0A", "01"  # TCP states as /proc/net/tcp writes them
# Connections opened until both API processes have accepted one: the kernel hands each to
# whichever process accepts first, so a few may go to the same one in a row.
MAX_CONNECTIONS = 200
CALLS = 12


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError):
            continue  # gone meanwhile
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _descendants(pid: int) -> set[int]:
    tree, found, todo = _children(), set(), [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _living(pids: set[int]) -> set[int]:
    """Those of ``pids`` still running (a zombie has ended: only its exit status is left)."""
    living = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            living.add(pid)
    return living


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def _tcp_inode(*, local_port: int, state: str, remote_port: int | None = None) -> str:
    """The inode of the IPv4 socket on ``local_port`` in ``state`` (and from ``remote_port``)."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, st, inode = fields[1], fields[2], fields[3], fields[9]
        if (
            st == state
            and int(local.split(":")[1], 16) == local_port
            and (remote_port is None or int(remote.split(":")[1], 16) == remote_port)
        ):
            return inode
    raise LookupError(f"no socket on port {local_port} in state {state}")


def _exchange(connection: socket.socket, request: bytes) -> tuple[int, bytes]:
    """Send one HTTP/1.1 request on a kept-alive connection; the answer's status and body."""
    connection.sendall(request)
    reader = connection.makefile("rb")
    status = int(reader.readline().split()[1])
    length = 0
    while (line := reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, reader.read(length)


def _wire(delivery: Delivery) -> bytes:
    headers = "".join(f"{name}: {value}\r\n" for name, value in delivery.headers.items())
    head = (
        f"{delivery.method} {delivery.path} HTTP/1.1\r\nhost: 127.0.0.1\r\n{headers}"
        f"content-length: {len(delivery.body)}\r\n\r\n"
    )
    return head.encode("latin-1") + delivery.body


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_events(self) -> list[str]:
        events = []
        for line in self.log.read_text().splitlines():
            try:
                events.append(json.loads(line)["event"])
            except (ValueError, KeyError, TypeError):
                continue  # uvicorn's own lines are not ours
        return events

    def api_processes(self) -> set[int]:
        listening = _tcp_inode(local_port=self.port, state=_LISTEN)
        return {pid for pid in _descendants(self.process.pid) if listening in _socket_inodes(pid)}

    def spawned(self) -> set[int]:
        """The parent's worker processes: multiprocessing's own resource tracker aside."""
        return {
            pid
            for pid in _descendants(self.process.pid)
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
        }


def _serve(database_url: str, tmp_path: Path) -> Served:
    port = _free_port()
    log = tmp_path / "serve.log"
    env = {
        **os.environ,
        "CALLFUNNEL_DATABASE_URL": database_url,
        "CALLFUNNEL_BOOTSTRAP_ADMIN_KEY": KEY,
        "CALLFUNNEL_RECORDINGS_DIR": str(tmp_path / "recordings"),
        "CALLFUNNEL_LOG_LEVEL": "INFO",
        "CALLFUNNEL_LOG_JSON": "1",
    }
    command = [sys.executable, "-c", "from app.cli import main; main()"]
    command += ["serve", "--workers", "2", "--port", str(port)]
    # Its own session: a Ctrl-C can be sent to the group as a terminal would; cwd: no .env.
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 (our own command line)
            command, env=env, cwd=tmp_path, stderr=output, stdout=output, start_new_session=True
        )
    served = Served(process, port, log)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            ready = httpx.get(f"{served.url}/readyz").status_code == 200
            # Both API processes must have started: readiness says only that one answers.
            if ready and len(served.api_processes()) == 2:
                return served
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise AssertionError(f"the server did not become ready:\n{log.read_text()}")


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[Served]:
    server = _serve(database_url, tmp_path)
    yield server
    if server.process.poll() is None:
        server.process.kill()
        server.process.wait()


def _stops_cleanly(served: Served, send: signal.Signals, *, group: bool) -> None:
    pids = _descendants(served.process.pid)
    if group:
        os.killpg(served.process.pid, send)
    else:
        served.process.send_signal(send)
    assert served.process.wait(timeout=60) == 0, served.log.read_text()
    # multiprocessing's resource tracker leaves once it sees its parent's end of the pipe close.
    deadline = time.monotonic() + 30
    while (alive := _living(pids)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert alive == set()
    assert served.log_events().count("recordings.worker.stopped") == 1


async def _stored_events(database_url: str, integration_id: str) -> dict[str, int]:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(WebhookEvent.status, func.count())
                .where(WebhookEvent.integration_id == integration_id)
                .group_by(WebhookEvent.status)
            )
            return {str(status): count for status, count in rows.all()}
    finally:
        await engine.dispose()


def _mango_traffic(integration_id: str) -> list[Delivery]:
    config = get_adapter("mango").config_model.model_validate(EXAMPLE_CONFIGS["mango"])
    calls = random_calls(
        random.Random(15),
        CALLS,
        start=datetime(2026, 11, 2, 6, tzinfo=UTC),
        extensions=["101", "102"],
        numbers=["+79161234567", "+79161234568"],
        prefix="w",
    )
    # No recordings: the worker would try to fetch them from Mango's servers.
    calls = [replace(call, recording_id=None) for call in calls]
    return deliveries("mango", integration_id, config, calls)


def test_two_api_processes_one_recording_worker(served: Served, database_url: str) -> None:
    api = served.api_processes()
    assert len(api) == 2
    recording = served.spawned() - api
    assert len(recording) == 1
    assert served.log_events().count("recordings.worker.started") == 1

    created = httpx.post(
        f"{served.url}/api/v1/integrations",
        headers={"Authorization": f"Bearer {KEY}"},
        json={"provider": "mango", "name": "workers", "config": EXAMPLE_CONFIGS["mango"]},
    )
    assert created.status_code == 201, created.text
    integration_id = created.json()["id"]
    traffic = iter(_mango_traffic(integration_id))
    sent = 0

    # Each new connection carries webhooks; it is traced to the API process that accepted it.
    answered_by: set[int] = set()
    connections: list[socket.socket] = []
    try:
        while answered_by != api and len(connections) < MAX_CONNECTIONS:
            connection = socket.create_connection(("127.0.0.1", served.port))
            connections.append(connection)
            status, body = _exchange(connection, b"GET /healthz HTTP/1.1\r\nhost: t\r\n\r\n")
            assert status == 200, body
            inode = _tcp_inode(
                local_port=served.port,
                state=_ESTABLISHED,
                remote_port=connection.getsockname()[1],
            )
            answered_by |= {pid for pid in api if inode in _socket_inodes(pid)}
        assert answered_by == api
        for delivery in traffic:
            status, body = _exchange(connections[sent % len(connections)], _wire(delivery))
            assert status == 200, body
            sent += 1
    finally:
        for connection in connections:
            connection.close()

    assert sent == len(_mango_traffic(integration_id))
    assert asyncio.run(_stored_events(database_url, integration_id)) == {"processed": sent}
    assert served.log_events().count("recordings.worker.started") == 1
    _stops_cleanly(served, signal.SIGTERM, group=False)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_ctrl_c_stops_every_process(served: Served) -> None:
    _stops_cleanly(served, signal.SIGINT, group=True)
