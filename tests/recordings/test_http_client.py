"""The download client's own guard: it resolves each host itself, checks every address, and connects
to the address it checked — so DNS that changes its answer after the downloader's check (rebinding)
still reaches nothing private.

DNS is injected; the only server is a tiny one on 127.0.0.1, reached under a made-up name that no
real resolver knows, which shows the connection went to the address the guard resolved.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.config import Settings
from app.recordings.download import RecordingDownloader
from app.recordings.errors import RecordingFetchError
from app.recordings.http_client import Resolver, make_http_client
from app.recordings.storage import LocalStorage
from app.webhooks.providers.generic import GenericConfig
from tests.recordings.fake_pbx import AUDIO, FakeResolver, stored_files

NAME = "recordings.test"


@dataclass
class LoopbackServer:
    port: int = 0
    hosts: list[str] = field(default_factory=list)  # the Host header of each request

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        for line in head.decode("latin-1").split("\r\n"):
            if line.lower().startswith("host:"):
                self.hosts.append(line.split(":", 1)[1].strip())
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: audio/mpeg\r\nconnection: close\r\n"
            + f"content-length: {len(AUDIO)}\r\n\r\n".encode()
            + AUDIO
        )
        await writer.drain()
        writer.close()


@pytest.fixture
async def server() -> AsyncIterator[LoopbackServer]:
    loopback = LoopbackServer()
    listener = await asyncio.start_server(loopback.serve, "127.0.0.1", 0)
    loopback.port = listener.sockets[0].getsockname()[1]
    async with listener:
        yield loopback


def settings(*, allow_private: bool) -> Settings:
    return Settings(
        _env_file=None,
        recordings_allow_private_hosts=allow_private,
        recordings_connect_timeout_seconds=2,
        recordings_read_timeout_seconds=5,
    )


async def fetch(
    server: LoopbackServer,
    tmp_path: Path,
    *,
    allow_private: bool,
    client_dns: Resolver,
    scheme: str = "https",
) -> None:
    storage = LocalStorage(tmp_path / "recordings")
    async with make_http_client(settings(allow_private=allow_private), resolver=client_dns) as http:
        downloader = RecordingDownloader(
            http,
            storage,
            max_bytes=1_000_000,
            allow_private_hosts=allow_private,
            resolver=FakeResolver(),  # the downloader's own check sees a public address
        )
        await downloader.fetch(
            "generic",
            GenericConfig(secret="s", recording_hosts=[NAME]),
            provider_ref="r1",
            source_url=f"{scheme}://{NAME}:{server.port}/r1.mp3",
            provider_call_id="c1",
        )


async def test_the_client_connects_to_the_address_it_resolved(
    server: LoopbackServer, tmp_path: Path
) -> None:
    await fetch(
        server,
        tmp_path,
        allow_private=True,
        client_dns=FakeResolver({NAME: ["127.0.0.1"]}),
        scheme="http",
    )

    assert server.hosts == [f"{NAME}:{server.port}"]  # the name stays in Host (and TLS SNI)
    assert len(stored_files(tmp_path / "recordings")) == 1


async def test_dns_rebinding_to_a_private_address_is_refused_at_connect(
    server: LoopbackServer, tmp_path: Path
) -> None:
    with pytest.raises(
        RecordingFetchError, match=r"127\.0\.0\.1 is not a public address"
    ) as caught:
        await fetch(
            server, tmp_path, allow_private=False, client_dns=FakeResolver({NAME: ["127.0.0.1"]})
        )

    assert not caught.value.retryable
    assert server.hosts == []  # reachable, and never reached


async def test_the_next_address_is_tried_when_one_refuses(
    server: LoopbackServer, tmp_path: Path
) -> None:
    # Nothing listens on 127.0.0.2: that connection is refused, 127.0.0.1 answers.
    dns = FakeResolver({NAME: ["127.0.0.2", "127.0.0.1"]})

    await fetch(server, tmp_path, allow_private=True, client_dns=dns, scheme="http")

    assert len(server.hosts) == 1


async def test_a_name_the_client_cannot_resolve_is_retried(
    server: LoopbackServer, tmp_path: Path
) -> None:
    async def no_dns(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(RecordingFetchError, match=f"connection to {NAME} failed") as caught:
        await fetch(server, tmp_path, allow_private=True, client_dns=no_dns, scheme="http")

    assert caught.value.retryable
    assert stored_files(tmp_path / "recordings") == []


async def test_the_client_takes_its_limits_from_the_settings() -> None:
    async with make_http_client(settings(allow_private=False)) as http:
        assert http.timeout.connect == 2
        assert http.timeout.read == 5
        assert not http.follow_redirects
        assert not http.trust_env


def test_download_settings_defaults_and_bounds() -> None:
    defaults = Settings(_env_file=None)

    assert defaults.recordings_allow_private_hosts is False
    assert defaults.recordings_max_bytes == 200 * 1024 * 1024
    assert defaults.recordings_connect_timeout_seconds == 10
    assert defaults.recordings_read_timeout_seconds == 60
    for field_name in (
        "recordings_max_bytes",
        "recordings_connect_timeout_seconds",
        "recordings_read_timeout_seconds",
    ):
        with pytest.raises(ValidationError):
            Settings.model_validate({field_name: 0})
