"""What every provider's recording download promises: stored whole, or refused and retried right.

The providers' servers are fakes behind ``httpx.MockTransport`` and DNS is a fake resolver: nothing
here touches the network.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from app.recordings.download import RecordingDownloader
from app.recordings.storage import LocalStorage
from tests.recordings.fake_pbx import (
    PROVIDERS,
    FakePbx,
    FakeResolver,
    file_answer,
    make_pbx,
    redirect_to,
    status_answer,
    stored_files,
    wav_bytes,
)


@pytest.fixture(params=PROVIDERS)
def pbx(request: pytest.FixtureRequest) -> FakePbx:
    return make_pbx(request.param)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "recordings"


@pytest.fixture
def storage(root: Path) -> LocalStorage:
    return LocalStorage(root)


@pytest.fixture
def resolver() -> FakeResolver:
    return FakeResolver()


@pytest.fixture
async def client(pbx: FakePbx) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(pbx.handle)) as client:
        yield client


def downloader(
    client: httpx.AsyncClient,
    storage: LocalStorage,
    resolver: FakeResolver,
    *,
    max_bytes: int = 1_000_000,
    allow_private_hosts: bool = False,
) -> RecordingDownloader:
    return RecordingDownloader(
        client,
        storage,
        max_bytes=max_bytes,
        allow_private_hosts=allow_private_hosts,
        resolver=resolver,
    )


@pytest.fixture
def fetcher(
    client: httpx.AsyncClient, storage: LocalStorage, resolver: FakeResolver
) -> RecordingDownloader:
    return downloader(client, storage, resolver)


async def stored_bytes(storage: LocalStorage, key: str) -> bytes:
    size = await storage.size(key)
    return b"".join([chunk async for chunk in storage.read_range(key, 0, size - 1)])


async def test_a_recording_is_stored_whole(
    pbx: FakePbx, fetcher: RecordingDownloader, storage: LocalStorage, root: Path
) -> None:
    stored = await pbx.fetch(fetcher)

    assert stored.size_bytes == len(pbx.body)
    assert stored.sha256 == hashlib.sha256(pbx.body).hexdigest()
    assert stored.content_type == pbx.content_type
    assert stored.storage_key.endswith(".mp3" if pbx.content_type == "audio/mpeg" else ".wav")
    assert await stored_bytes(storage, stored.storage_key) == pbx.body
    assert stored_files(root) == [root / stored.storage_key]  # and nothing left in .partial
    assert pbx.to(pbx.file_host)  # the file came from the provider's file host


async def test_not_ready_is_retried_then_stored(
    pbx: FakePbx, fetcher: RecordingDownloader, root: Path
) -> None:
    pbx.not_ready = 1

    error = await pbx.failure(fetcher)
    assert error.retryable
    assert stored_files(root) == []

    stored = await pbx.fetch(fetcher)
    assert stored.sha256 == hashlib.sha256(pbx.body).hexdigest()


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        *[(status, True) for status in (500, 502, 503, 404, 409, 425, 429)],
        *[(status, False) for status in (400, 401, 403, 410)],
    ],
)
async def test_http_errors_are_classified(
    pbx: FakePbx, fetcher: RecordingDownloader, root: Path, status: int, retryable: bool
) -> None:
    pbx.file = status_answer(status)

    error = await pbx.failure(fetcher)

    assert error.retryable is retryable
    assert f"HTTP {status}" in error.message
    assert pbx.file_host in error.message
    assert stored_files(root) == []


async def test_a_file_too_large_by_its_content_length_is_refused(
    pbx: FakePbx,
    client: httpx.AsyncClient,
    storage: LocalStorage,
    resolver: FakeResolver,
    root: Path,
) -> None:
    small = downloader(client, storage, resolver, max_bytes=len(pbx.body) - 1)

    error = await pbx.failure(small)

    assert not error.retryable
    assert f"{len(pbx.body)} bytes, over the limit" in error.message
    assert stored_files(root) == []


async def test_a_file_growing_too_large_while_streamed_is_refused(
    pbx: FakePbx,
    client: httpx.AsyncClient,
    storage: LocalStorage,
    resolver: FakeResolver,
    root: Path,
) -> None:
    pbx.file = file_answer(pbx.body, pbx.content_type, streamed=True)
    small = downloader(client, storage, resolver, max_bytes=len(pbx.body) - 1)

    error = await pbx.failure(small)

    assert not error.retryable
    assert "over the limit" in error.message
    assert stored_files(root) == []
    assert not any((root / ".partial").iterdir())


async def test_a_streamed_file_within_the_limit_is_stored(
    pbx: FakePbx, client: httpx.AsyncClient, storage: LocalStorage, resolver: FakeResolver
) -> None:
    pbx.file = file_answer(pbx.body, pbx.content_type, streamed=True)
    exact = downloader(client, storage, resolver, max_bytes=len(pbx.body))

    stored = await pbx.fetch(exact)

    assert stored.size_bytes == len(pbx.body)
    assert stored.sha256 == hashlib.sha256(pbx.body).hexdigest()


@pytest.mark.parametrize("content_type", ["text/html", "application/json", "video/mp4", None])
async def test_a_file_that_is_not_audio_is_refused(
    pbx: FakePbx, fetcher: RecordingDownloader, root: Path, content_type: str | None
) -> None:
    pbx.file = file_answer(b"<html>sign in</html>", content_type)

    error = await pbx.failure(fetcher)

    assert not error.retryable
    assert "not a supported audio type" in error.message
    assert stored_files(root) == []


async def test_a_redirect_off_the_providers_hosts_is_refused(
    pbx: FakePbx, fetcher: RecordingDownloader, root: Path
) -> None:
    pbx.file = redirect_to("https://evil.example/steal?token=1")

    error = await pbx.failure(fetcher)

    assert not error.retryable
    assert "evil.example is not an allowed recording host" in error.message
    assert pbx.to("evil.example") == []
    assert stored_files(root) == []


@pytest.mark.parametrize("address", ["10.0.0.1", "127.0.0.1", "169.254.169.254", "::1"])
async def test_a_host_resolving_to_a_private_address_is_refused(
    pbx: FakePbx, fetcher: RecordingDownloader, resolver: FakeResolver, root: Path, address: str
) -> None:
    resolver.answers[pbx.file_host] = [address]

    error = await pbx.failure(fetcher)

    assert not error.retryable
    assert f"refused {pbx.file_host}: {address} is not a public address" == error.message
    assert pbx.to(pbx.file_host) == []  # never asked
    assert stored_files(root) == []


@pytest.mark.parametrize("address", ["10.0.0.1", "127.0.0.1", "169.254.169.254", "::1"])
async def test_private_addresses_are_reached_when_allowed(
    pbx: FakePbx,
    client: httpx.AsyncClient,
    storage: LocalStorage,
    resolver: FakeResolver,
    address: str,
) -> None:
    resolver.answers[pbx.file_host] = [address]
    closed_network = downloader(client, storage, resolver, allow_private_hosts=True)

    stored = await pbx.fetch(closed_network)

    assert stored.size_bytes == len(pbx.body)


async def test_the_duration_is_read_from_the_audio(
    pbx: FakePbx, fetcher: RecordingDownloader
) -> None:
    pbx.body, pbx.content_type = wav_bytes(3), "audio/wav"
    stored = await pbx.fetch(fetcher)
    assert stored.duration_seconds == 3


async def test_audio_that_states_no_length_has_no_duration(
    pbx: FakePbx, fetcher: RecordingDownloader
) -> None:
    assert (await pbx.fetch(fetcher)).duration_seconds is None
