"""Several processes, one scrape: the counters of every process are summed, whichever answers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from app.db import Database
from app.telemetry.multiprocess import ENV, prepare_multiprocess_dir
from app.webhooks.providers import get_adapter
from tests.factories import GENERIC_CONFIG, insert_integration
from tests.telemetry.support import METRICS_TOKEN, TOKEN, Samples
from tests.webhooks.delivery import spec

ROOT = Path(__file__).resolve().parents[2]
STORED = "callfunnel_webhook_events_stored_total"
WEBHOOK_ROUTE = "/webhooks/{provider}/{integration_id}"


def test_a_given_directory_is_emptied_of_other_processes_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, str(tmp_path / "metrics"))
    (tmp_path / "metrics").mkdir()
    stale = tmp_path / "metrics" / "counter_999999.db"
    stale.write_bytes(b"left by an earlier run")
    own = tmp_path / "metrics" / f"counter_{os.getpid()}.db"
    own.write_bytes(b"this process's open file")
    assert prepare_multiprocess_dir(1) == tmp_path / "metrics"
    assert not stale.exists()
    assert own.exists()


def test_one_process_and_no_directory_needs_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    assert prepare_multiprocess_dir(1) is None
    assert ENV not in os.environ


def test_several_processes_get_a_fresh_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    path = prepare_multiprocess_dir(2)
    assert path is not None
    assert os.environ[ENV] == str(path)
    assert path.is_dir()
    assert list(path.iterdir()) == []


def _child(directory: Path, *args: str) -> str:
    env = {**os.environ, ENV: str(directory), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(  # noqa: S603 (our own command line)
        [sys.executable, "-m", "tests.telemetry.child", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_two_processes_are_summed_in_a_third_ones_scrape(
    database: Database, database_url: str, tmp_path: Path
) -> None:
    integration_id = await insert_integration(database, config=GENERIC_CONFIG)
    directory = tmp_path / "metrics"
    directory.mkdir()
    recordings = str(tmp_path / "recordings")
    _child(directory, "deliver", database_url, recordings, integration_id, "mp-call-1")
    _child(directory, "deliver", database_url, recordings, integration_id, "mp-call-2")
    samples = Samples(_child(directory, "scrape", database_url, recordings))
    # Three events a call, each process stored its own call's.
    assert samples.get(STORED, provider="generic") == 6
    assert samples.get("callfunnel_webhook_deliveries_total", provider="generic") == 6
    count = "callfunnel_http_request_duration_seconds_count"
    assert samples.get(count, method="POST", route=WEBHOOK_ROUTE) == 6
    # The queue is the database's: the same for whichever process answers.
    assert samples.get("callfunnel_database_up") == 1


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.mark.slow
def test_serve_with_two_workers_answers_the_sum_from_either(tmp_path: Path) -> None:
    port, key = _free_port(), "admin-key-for-the-multiprocess-test-0123456789"
    directory = tmp_path / "metrics"
    env = {
        **os.environ,
        "CALLFUNNEL_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'serve.db'}",
        "CALLFUNNEL_BOOTSTRAP_ADMIN_KEY": key,
        "CALLFUNNEL_METRICS_TOKEN": METRICS_TOKEN,
        "CALLFUNNEL_RECORDINGS_DIR": str(tmp_path / "recordings"),
        "CALLFUNNEL_LOG_LEVEL": "WARNING",
        ENV: str(directory),
    }
    (directory).mkdir()
    (directory / "counter_999999.db").write_bytes(b"stale")  # an earlier run's: removed at start
    command = [sys.executable, "-c", "from app.cli import main; main()", "serve"]
    command += ["--port", str(port), "--workers", "2", "--no-worker"]
    server = subprocess.Popen(  # noqa: S603 (our own command line)
        command, cwd=tmp_path, env=env, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(server, url)
        admin = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=url) as http:
            created = http.post(
                "/api/v1/integrations",
                json={"provider": "generic", "name": "g", "config": GENERIC_CONFIG},
                headers=admin,
            )
            assert created.status_code == 201, created.text
        integration_id = created.json()["id"]
        adapter = get_adapter("generic")
        config = adapter.config_model.model_validate(GENERIC_CONFIG)
        calls = 8
        for number in range(calls):
            requests = adapter.signed_requests(
                spec(f"serve-call-{number}"), config, integration_id=integration_id
            )
            for request in requests:
                # A connection each, so that the kernel hands them to either process.
                with httpx.Client(base_url=url) as http:
                    answer = http.post(
                        f"/webhooks/generic/{integration_id}",
                        content=request.body,
                        headers=dict(request.headers),
                    )
                    assert answer.status_code == 200, answer.text
        for _ in range(6):
            with httpx.Client(base_url=url) as http:
                samples = Samples(http.get("/metrics", headers=TOKEN).text)
            assert samples.get(STORED, provider="generic") == 3 * calls
        pids = {path.stem.rsplit("_", 1)[1] for path in directory.glob("counter_*.db")}
        assert "999999" not in pids
        # Both API processes write files of their own (beside their parent's, which counts none).
        assert len(pids - {str(server.pid)}) == 2
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait_ready(server: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert server.poll() is None, "the server exited while starting"
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("the server did not become ready")
