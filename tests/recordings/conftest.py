"""An S3-compatible server for the recording tests: moto in server mode, on a loopback port.

Real HTTP between boto3 and the server (signatures, ranges, multipart), nothing beyond 127.0.0.1.
Each test gets a bucket of its own; the server lives for the session.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from app.ids import new_id

REGION = "us-east-1"


def isolate_aws(env: pytest.MonkeyPatch, nowhere: Path) -> None:
    """No AWS credentials or configuration from this machine: no files, no profile, no
    instance metadata; what a test wants it sets itself."""
    env.setenv("AWS_CONFIG_FILE", str(nowhere))
    env.setenv("AWS_SHARED_CREDENTIALS_FILE", str(nowhere))
    env.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
    ):
        env.delenv(name, raising=False)


@pytest.fixture(scope="session")
def aws_credentials(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The standard credential chain, as production uses it, fed from the environment only."""
    with pytest.MonkeyPatch.context() as env:
        isolate_aws(env, tmp_path_factory.mktemp("aws") / "none")
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        yield


@pytest.fixture(scope="session")
def s3_endpoint(aws_credentials: None) -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(s3_endpoint: str) -> str:
    name = new_id("cf").replace("_", "-")
    boto3.session.Session().client(
        "s3", endpoint_url=s3_endpoint, region_name=REGION
    ).create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3_overrides(s3_endpoint: str, s3_bucket: str) -> dict[str, Any]:
    """The settings that put a test's recordings in its bucket, as an operator would set them."""
    return {
        "recordings_storage": "s3",
        "s3_bucket": s3_bucket,
        "s3_endpoint_url": s3_endpoint,
        "s3_region": REGION,
        "s3_prefix": "callfunnel/recordings",
    }


def storage_overrides(request: pytest.FixtureRequest, backend: str) -> dict[str, Any]:
    """Settings overrides for a test parametrised over ``backend`` ("local" or "s3")."""
    if backend == "local":
        return {}
    overrides: dict[str, Any] = request.getfixturevalue("s3_overrides")
    return overrides
