"""The dashboard served for a browser (uvicorn in a thread on a free port, with demo data), and the
browser that reads it."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn

from app.auth.roles import Role
from app.config import Settings
from app.db import Database, create_engine, utcnow
from app.demo import DemoBuilder, DemoSummary, store_recordings
from app.main import create_app
from tests.factories import bearer, make_key

CHROMIUM = Path("/usr/bin/chromium")
# Headless and quiet: no sandbox (CI runs as root), no GPU, and nothing fetched from the internet.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTEFACTS = Path(__file__).resolve().parents[2] / "tmp" / "artefacts"
VIEWPORT = {"width": 1280, "height": 800}


@dataclass(frozen=True)
class Served:
    """The running app, its demo history, and API keys of every role (a manager's per employee)."""

    url: str
    settings: Settings
    summary: DemoSummary
    admin: str
    head: str
    managers: dict[str, str]  # employee id → a key acting as that employee

    def api(self, key: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=bearer(key), timeout=60)


@contextlib.contextmanager
def serving(settings: Settings) -> Iterator[str]:
    """``create_app(settings)`` under uvicorn in a thread of its own, on a free port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(
        create_app(settings), log_level="warning", access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the dashboard server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
        listener.close()


async def load(url: str, settings: Settings) -> Served:
    """Two weeks of demo history before this week, through the server's own endpoints."""
    database = Database(create_engine(settings))
    try:
        admin = await make_key(database, Role.ADMIN)
        async with httpx.AsyncClient(base_url=url, headers=bearer(admin), timeout=120) as http:
            builder = DemoBuilder(http, seed=7, weeks=2, leads=250, dials_per_day=5, today=utcnow())
            summary = await builder.build()
            employees = (await http.get("/api/v1/employees", params={"limit": 100})).json()
        summary.recordings = await store_recordings(database, settings)
        return Served(
            url=url,
            settings=settings,
            summary=summary,
            admin=admin,
            head=await make_key(database, Role.HEAD),
            managers={
                e["id"]: await make_key(database, Role.MANAGER, e["id"]) for e in employees["items"]
            },
        )
    finally:
        await database.dispose()
