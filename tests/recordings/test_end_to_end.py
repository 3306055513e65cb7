"""A recording's whole way: webhook → pending → the real worker and client → stored → played.

Once with the local folder, once with an S3 bucket (moto, on loopback) that the worker uploads to
and the API plays from. A small HTTP server on 127.0.0.1 stands in for the PBX's file host
(private addresses are allowed by this test's settings only); the webhook goes through the real
endpoint, the download through the real worker, downloader and guarded HTTP client.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from httpx import AsyncClient

from app.config import Settings
from app.db import Database, utcnow
from app.recordings.worker import recording_worker
from app.webhooks.providers.generic import sign_body
from tests.factories import create_integration, settings_for
from tests.recordings.conftest import storage_overrides
from tests.recordings.fake_pbx import wav_bytes

SECRET = "generic-end-to-end-secret"


AUDIO = wav_bytes(2, pattern=bytes(range(256)))


class FilePbx(BaseHTTPRequestHandler):
    """Answers 503 until the file is "ready", then the WAV."""

    ready_after = 1
    hits = 0

    def do_GET(self) -> None:
        type(self).hits += 1
        if self.path != "/rec/call-1.wav" or type(self).hits <= self.ready_after:
            self.send_response(503 if self.path == "/rec/call-1.wav" else 404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "audio/wav")
        self.send_header("Content-Length", str(len(AUDIO)))
        self.end_headers()
        self.wfile.write(AUDIO)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def pbx() -> Iterator[str]:
    FilePbx.hits = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), FilePbx)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(params=["local", "s3"])
def settings(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> Settings:
    # Only this test's PBX lives on a private address (loopback).
    return settings_for(
        database_url,
        tmp_path,
        recordings_allow_private_hosts=True,
        **storage_overrides(request, request.param),
    )


async def test_webhook_to_playback_through_the_real_worker(
    client: AsyncClient,
    database: Database,
    settings: Settings,
    admin: dict[str, str],
    pbx: str,
) -> None:
    created = await create_integration(
        client, admin, config={"secret": SECRET, "recording_hosts": ["127.0.0.1"]}, name="bridge"
    )
    body = json.dumps(
        {
            "event_id": "rec-1",
            "call_id": "call-1",
            "type": "recording.ready",
            "occurred_at": "2026-11-16T07:02:05Z",
            "recording_url": f"{pbx}/rec/call-1.wav",
        }
    ).encode()
    delivered = await client.post(
        created["webhook_url"],
        content=body,
        headers={
            "content-type": "application/json",
            "X-Callfunnel-Signature": sign_body(SECRET, body),
        },
    )
    assert delivered.status_code == 200, delivered.text
    [call] = (await client.get("/api/v1/calls", headers=admin)).json()["items"]
    assert call["recording"]["status"] == "pending"

    async with recording_worker(database, settings) as worker:
        assert await worker.run_once() == 1  # 503: not ready yet
    call = (await client.get(f"/api/v1/calls/{call['id']}", headers=admin)).json()
    assert call["recording"]["status"] == "pending"
    assert call["recording"]["attempts"] == 1
    assert "503" in call["recording"]["error"]
    # Another worker process, a minute later (the back-off), finds the file ready.
    later = utcnow() + timedelta(minutes=1, seconds=1)
    async with recording_worker(database, settings, clock=lambda: later) as worker:
        assert await worker.run_once() == 1
    call = (await client.get(f"/api/v1/calls/{call['id']}", headers=admin)).json()
    assert call["recording"]["status"] == "stored"
    assert call["recording"]["duration_seconds"] == 2
    assert call["recording"]["size_bytes"] == len(AUDIO)

    url = call["recording"]["url"]
    whole = await client.get(url, headers=admin)
    assert (whole.status_code, whole.content) == (200, AUDIO)
    assert whole.headers["content-type"] == "audio/wav"
    part = await client.get(url, headers={**admin, "Range": "bytes=44-1043"})
    assert (part.status_code, part.content) == (206, AUDIO[44:1044])
    # The file outlives the worker that fetched it.
    async with recording_worker(database, settings, clock=lambda: later) as worker:
        assert await worker.run_once() == 0
    assert (await client.get(url, headers=admin)).content == AUDIO
    assert FilePbx.hits == 2
    on_disk = [path for path in settings.recordings_dir.rglob("*") if path.is_file()]
    assert len(on_disk) == (0 if settings.recordings_storage == "s3" else 1)
