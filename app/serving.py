"""Running the service: the API in one process or several, and the background work beside it.

``callfunnel serve --workers N`` with N > 1 uses uvicorn's own supervisor: the parent binds the
port once and spawns N API processes that share it (and replaces any that dies or hangs). Each
builds its application from the environment (``api_app``): the ``CALLFUNNEL_*`` variables are
the configuration, so every process reads the same one. Migrations ran once, in the parent,
before any of them started.

The recording worker runs once, not N times: the API processes never run it, and the parent
spawns one process of its own for it. Its claims are safe with several workers (``FOR UPDATE
SKIP LOCKED``), but N of them would multiply the downloads at a time and the polling by N for
no gain. A process rather than a thread of the parent: it is spawned like the API processes,
after the parent has prepared the environment (the Prometheus multiprocess directory must be
set before ``prometheus_client`` is first imported, which in the parent already happened), and
a download never competes with the supervisor's health checks. A PostgreSQL advisory lock
among the API processes would have worked on PostgreSQL only.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import signal
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import structlog
import uvicorn
from fastapi import FastAPI

from app.cdr.sync import sync_all_forever
from app.config import Settings, get_settings
from app.db import Database, create_engine
from app.logging import configure_logging
from app.recordings.worker import SHUTDOWN_GRACE_SECONDS, recording_worker
from app.telemetry.multiprocess import prepare_multiprocess_dir

log = structlog.get_logger("callfunnel.serving")

# Our own middleware logs every request with integration ids masked; uvicorn's would not.
# X-Forwarded-For is read by the service itself, only from CALLFUNNEL_TRUSTED_PROXIES
# (app.proxies); uvicorn's default would trust any process on 127.0.0.1.
_UVICORN_OPTIONS: dict[str, Any] = {
    "access_log": False,
    "log_level": "warning",
    "proxy_headers": False,
}
# A recording process that died is started again after this long (not in a tight loop).
RESTART_DELAY_SECONDS = 1.0
_SPAWN = multiprocessing.get_context("spawn")


def serve_one(settings: Settings, host: str, port: int, *, worker: bool) -> None:
    """The API in this process, with the recording worker in it too when ``worker``."""
    # Imported when serving: the CLI's other commands need no web application.
    from app.main import create_app

    prepare_multiprocess_dir(1)
    uvicorn.run(create_app(settings, run_worker=worker), host=host, port=port, **_UVICORN_OPTIONS)


def serve_many(settings: Settings, host: str, port: int, *, workers: int, worker: bool) -> None:
    """``workers`` API processes on one port, and one recording worker process when ``worker``.

    Returns when SIGINT or SIGTERM has stopped them all. ``settings`` must be the environment's
    (``get_settings()``): the processes read theirs from it.
    """
    configure_logging(settings.log_level, json_output=settings.log_json)
    # Before any process is spawned: they find the metrics directory in the environment.
    prepare_multiprocess_dir(workers)
    with ExitStack() as stack:
        if worker:
            stack.enter_context(recording_process())
        uvicorn.run(
            "app.serving:api_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            **_UVICORN_OPTIONS,
        )


def api_app() -> FastAPI:
    """The factory each API process of ``serve_many`` calls: the API alone, configured by the
    environment."""
    from app.main import create_app

    return create_app(get_settings(), run_worker=False)


def stop_on_signals() -> asyncio.Event:
    """An event that SIGINT or SIGTERM sets: background loops finish their work and return."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return stop


async def run_background_work(settings: Settings, *, cdr_sync: bool, cdr_every: float) -> None:
    """Download recordings (and sync FreePBX CDRs with ``cdr_sync``) until SIGINT or SIGTERM."""
    database = Database(create_engine(settings))
    stop = stop_on_signals()
    try:
        async with recording_worker(database, settings) as recordings:
            tasks = [recordings.run(stop)]
            if cdr_sync:
                tasks.append(sync_all_forever(database, every=cdr_every, stop=stop))
            await asyncio.gather(*tasks)
    finally:
        await database.dispose()


def _recording_process_main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level, json_output=settings.log_json)
    asyncio.run(run_background_work(settings, cdr_sync=False, cdr_every=0))


@contextmanager
def recording_process() -> Iterator[None]:
    """One recording worker process for the block, started again if it dies, stopped at the end.

    Stopping sends SIGTERM (the worker finishes its downloads within its grace) and kills it
    only past that grace; a Ctrl-C reaches it directly, as the terminal signals the whole group.
    """
    stopping = threading.Event()
    lock = threading.Lock()
    current = [_start_recording_process()]

    def watch() -> None:
        while True:
            current[0].join()
            if stopping.wait(RESTART_DELAY_SECONDS):
                return
            with lock:
                if stopping.is_set():
                    return
                log.error("recordings.process.died", exitcode=current[0].exitcode)
                current[0] = _start_recording_process()

    watcher = threading.Thread(target=watch, name="recording-process-watch", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        with lock:
            stopping.set()
            process = current[0]
        process.terminate()
        process.join(SHUTDOWN_GRACE_SECONDS + 5)
        if process.is_alive():
            log.warning("recordings.process.killed", pid=process.pid)
            process.kill()
            process.join()
        watcher.join()


def _start_recording_process() -> multiprocessing.process.BaseProcess:
    process = _SPAWN.Process(target=_recording_process_main, name="callfunnel-recordings")
    process.start()
    return process
