"""What only the S3 store has: objects under the prefix, multipart uploads, its settings, and the
start-up check. The behaviour it shares with the local folder is in test_storage.py."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from httpx import ASGITransport, AsyncClient
from pydantic import ValidationError
from sqlalchemy import update
from structlog.testing import capture_logs

from app.auth.roles import Role
from app.config import ConfigurationError, Settings
from app.db import Database, utcnow
from app.main import create_app
from app.recordings.models import Recording, RecordingStatus
from app.recordings.s3 import RecordingStorageUnavailable, S3Storage
from app.recordings.worker import storage_for
from tests.factories import bearer, make_key, settings_for
from tests.recordings.conftest import REGION, isolate_aws
from tests.recordings.support import make_recording, recording_row
from tests.recordings.test_worker import FakeFetcher, make_worker

MIB = 1024 * 1024
VALID = "2026/11/audio_01jd3k4m5n6p7q8r9s0t1v2w3x.mp3"


def client_for(endpoint: str, **config: Any) -> Any:
    return boto3.session.Session().client(
        "s3", endpoint_url=endpoint, region_name=REGION, config=Config(**config)
    )


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def s3_settings(tmp_path: Path, overrides: dict[str, Any], **more: Any) -> Settings:
    return settings_for(
        f"sqlite+aiosqlite:///{tmp_path}/unused.db", tmp_path, **{**overrides, **more}
    )


async def test_objects_go_under_the_prefix_and_the_spool_empties(
    tmp_path: Path, s3_overrides: dict[str, Any], s3_endpoint: str, s3_bucket: str
) -> None:
    storage = storage_for(s3_settings(tmp_path, s3_overrides))
    assert isinstance(storage, S3Storage)
    temp = storage.temp_path()
    temp.write_bytes(b"ID3 audio")

    key = await storage.save(temp, extension="mp3")

    listing = client_for(s3_endpoint).list_objects_v2(Bucket=s3_bucket)
    assert [item["Key"] for item in listing["Contents"]] == [f"callfunnel/recordings/{key}"]
    assert not temp.exists()
    assert storage.discard_partials() == 0


async def test_a_large_file_is_uploaded_in_parts_and_read_across_them(
    tmp_path: Path, s3_endpoint: str, s3_bucket: str
) -> None:
    # 5 MiB is the smallest part S3 accepts; 11 MiB makes three.
    storage = S3Storage(
        client_for(s3_endpoint),
        s3_bucket,
        spool_root=tmp_path,
        transfer=TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB),
    )
    data = bytes(range(256)) * (11 * MIB // 256)
    temp = storage.temp_path()
    temp.write_bytes(data)

    key = await storage.save(temp, extension="wav")

    head = client_for(s3_endpoint).head_object(Bucket=s3_bucket, Key=key)
    assert head["ETag"].endswith('-3"')  # a multipart object's ETag counts its parts
    assert await storage.size(key) == len(data)
    boundary = 5 * MIB
    chunks = [c async for c in storage.read_range(key, boundary - 3, boundary + 2, 4)]
    assert chunks == [data[boundary - 3 : boundary + 1], data[boundary + 1 : boundary + 3]]


async def test_the_prefix_is_normalised(tmp_path: Path, s3_endpoint: str, s3_bucket: str) -> None:
    storage = S3Storage(client_for(s3_endpoint), s3_bucket, spool_root=tmp_path, prefix="/a/b/")
    temp = storage.temp_path()
    temp.write_bytes(b"x")
    key = await storage.save(temp, extension="ogg")

    assert client_for(s3_endpoint).head_object(Bucket=s3_bucket, Key=f"a/b/{key}")


def test_the_settings_are_read_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, s3_endpoint: str, s3_bucket: str
) -> None:
    for name, value in {
        "RECORDINGS_STORAGE": "s3",
        "S3_BUCKET": s3_bucket,
        "S3_ENDPOINT_URL": s3_endpoint,
        "S3_REGION": REGION,
        "S3_PREFIX": "recordings",
        "RECORDINGS_DIR": str(tmp_path),
    }.items():
        monkeypatch.setenv(f"CALLFUNNEL_{name}", value)

    settings = Settings(_env_file=None)  # type: ignore[call-arg]

    assert (settings.s3_bucket, settings.s3_prefix) == (s3_bucket, "recordings")
    assert isinstance(storage_for(settings), S3Storage)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"recordings_storage": "s3"}, "CALLFUNNEL_S3_BUCKET"),
        ({"recordings_storage": "s3", "s3_bucket": "Not_A_Bucket"}, "s3_bucket"),
        ({"recordings_storage": "gcs"}, "recordings_storage"),
        ({"s3_endpoint_url": "minio:9000"}, "s3_endpoint_url"),
        ({"s3_prefix": "../up"}, "s3_prefix"),
    ],
)
def test_a_bad_configuration_is_refused(
    tmp_path: Path, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        settings_for("sqlite+aiosqlite:///:memory:", tmp_path, **overrides)


async def test_a_missing_bucket_stops_the_start_up(
    tmp_path: Path, s3_overrides: dict[str, Any]
) -> None:
    settings = s3_settings(tmp_path, s3_overrides, s3_bucket="no-such-bucket")
    app = create_app(settings)

    with pytest.raises(ConfigurationError, match="'no-such-bucket' does not exist"):
        async with app.router.lifespan_context(app):
            pass


async def test_no_credentials_stop_the_start_up(
    tmp_path: Path, s3_overrides: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    isolate_aws(monkeypatch, tmp_path / "none")
    storage = storage_for(s3_settings(tmp_path, s3_overrides))

    with pytest.raises(ConfigurationError, match="no credentials for the S3 bucket"):
        await storage.verify()


async def test_an_existing_bucket_passes_the_check(
    tmp_path: Path, s3_overrides: dict[str, Any]
) -> None:
    await storage_for(s3_settings(tmp_path, s3_overrides)).verify()


@pytest.mark.usefixtures("aws_credentials")
async def test_an_unreachable_endpoint_warns_and_answers_503(tmp_path: Path) -> None:
    # The endpoint may only be down for a while: webhooks must be taken in meanwhile.
    client = client_for(f"http://127.0.0.1:{closed_port()}", retries={"max_attempts": 1})
    storage = S3Storage(client, "callfunnel", spool_root=tmp_path)

    with capture_logs() as logs:
        await storage.verify()

    assert [line["event"] for line in logs] == ["recordings.storage.unreachable"]
    with pytest.raises(RecordingStorageUnavailable) as raised:
        await storage.size(VALID)
    assert raised.value.status == 503
    with pytest.raises(RecordingStorageUnavailable):
        _ = [chunk async for chunk in storage.read_range(VALID, 0, 1)]
    temp = storage.temp_path()
    temp.write_bytes(b"x")
    with pytest.raises(RecordingStorageUnavailable, match="upload"):
        await storage.save(temp, extension="mp3")


@pytest.mark.usefixtures("aws_credentials")
async def test_playback_is_503_while_the_bucket_cannot_be_reached(
    database_url: str, tmp_path: Path
) -> None:
    settings = settings_for(
        database_url,
        tmp_path,
        recordings_storage="s3",
        s3_bucket="callfunnel",
        s3_endpoint_url=f"http://127.0.0.1:{closed_port()}",
        s3_region=REGION,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):  # the start-up only warns
        database: Database = app.state.database
        call_id, recording_id = await make_recording(database)
        async with database.unit_of_work() as session:
            await session.execute(
                update(Recording)
                .where(Recording.id == recording_id)
                .values(status="stored", storage_key=VALID, sha256="0" * 64)
            )
        head = bearer(await make_key(database, Role.HEAD))
        transport = ASGITransport(app=app)
        async with AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.get(f"/api/v1/calls/{call_id}/recording", headers=head)

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == (
        "the recording storage is unavailable (size); try again shortly"
    )


@pytest.mark.usefixtures("aws_credentials")
async def test_a_download_the_bucket_cannot_take_is_retried(
    database: Database, tmp_path: Path
) -> None:
    client = client_for(f"http://127.0.0.1:{closed_port()}", retries={"max_attempts": 1})
    storage = S3Storage(client, "callfunnel", spool_root=tmp_path)
    _, recording_id = await make_recording(database)

    assert await make_worker(database, storage, FakeFetcher(storage), utcnow).run_once() == 1

    row = await recording_row(database, recording_id)
    assert (row.status, row.attempts) == (RecordingStatus.PENDING, 1)
    assert row.last_error == "the recording storage is unavailable (upload); try again shortly"
