"""Recordings in an S3-compatible bucket (AWS S3, MinIO, Ceph…), so that every host can serve them.

The same contract as ``LocalStorage``: a download is spooled to a local file, and ``save`` uploads
it (multipart above ``TransferConfig.multipart_threshold``, streamed from the file, never read whole
into memory) under a key made by ``new_key``. Reads are ranged ``GetObject`` calls streamed in
chunks, so HTTP Range playback costs the bytes asked for, not the whole object.

boto3 blocks; every call runs in a worker thread (``asyncio.to_thread``) so the event loop keeps
serving webhooks meanwhile. An object that is not there is a ``FileNotFoundError`` as for a local
file; a bucket that cannot be reached is ``RecordingStorageUnavailable`` (answered 503).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import structlog
from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from app.config import ConfigurationError, Settings
from app.errors import ServiceUnavailable
from app.recordings.storage import DEFAULT_CHUNK_BYTES, Spool, check_range, new_key, validate_key

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = structlog.get_logger("callfunnel.recordings")

# What S3 and its imitators answer for a key or bucket that does not exist.
_NOT_FOUND = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchBucket"})
# Every playback holds a pooled connection while it streams; botocore's default is 10.
_MAX_CONNECTIONS = 50


class RecordingStorageUnavailable(ServiceUnavailable):
    """The bucket cannot be reached or refused the request; trying again later may work."""

    def __init__(self, action: str) -> None:
        super().__init__(f"the recording storage is unavailable ({action}); try again shortly")


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _failure(action: str, exc: ClientError | BotoCoreError, key: str) -> Exception:
    """What a failed request means to the caller: no such object, or no storage to ask."""
    if isinstance(exc, ClientError) and _code(exc) in _NOT_FOUND:
        return FileNotFoundError(f"no recording object {key}")
    return RecordingStorageUnavailable(action)


def make_s3_client(settings: Settings) -> S3Client:
    """A client for the configured endpoint, with credentials from the standard AWS chain."""
    config = Config(
        retries={"mode": "standard"},
        max_pool_connections=_MAX_CONNECTIONS,
        # Virtual-host addressing needs DNS per bucket, which MinIO and most others lack.
        s3={"addressing_style": "path" if settings.s3_endpoint_url else "auto"},
    )
    # A session of its own: boto3's default session is not safe to share between threads.
    return boto3.session.Session().client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        region_name=settings.s3_region,
        config=config,
    )


class S3Storage:
    """Objects ``prefix + key`` in ``bucket``; downloads in progress in ``spool_root/.partial``."""

    def __init__(
        self,
        client: S3Client,
        bucket: str,
        *,
        spool_root: Path,
        prefix: str = "",
        transfer: TransferConfig | None = None,
    ) -> None:
        self._client = client
        self._bucket = bucket
        self._prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        self._spool = Spool(spool_root)
        self._transfer = transfer or TransferConfig()

    def temp_path(self) -> Path:
        return self._spool.temp_path()

    async def save(self, temp: Path, *, extension: str) -> str:
        key = new_key(extension)
        self._spool.check_owns(temp)
        try:
            await asyncio.to_thread(
                self._client.upload_file,
                str(temp),
                self._bucket,
                self._object(key),
                Config=self._transfer,
            )
        except (S3UploadFailedError, ClientError, BotoCoreError) as exc:
            raise RecordingStorageUnavailable("upload") from exc
        # Uploaded: the spool file has done its work, as a local rename would have consumed it.
        await asyncio.to_thread(temp.unlink, missing_ok=True)
        return key

    def read_range(
        self, key: str, start: int, end_inclusive: int, chunk_size: int = DEFAULT_CHUNK_BYTES
    ) -> AsyncIterator[bytes]:
        # Checked now, not on the first iteration, so a bad request fails before any answer starts.
        name = self._object(key)
        check_range(start, end_inclusive, chunk_size)
        return self._chunks(name, start, end_inclusive, chunk_size)

    async def size(self, key: str) -> int:
        name = self._object(key)
        try:
            head = await asyncio.to_thread(self._client.head_object, Bucket=self._bucket, Key=name)
        except (ClientError, BotoCoreError) as exc:
            raise _failure("size", exc, key) from exc
        return head["ContentLength"]

    async def exists(self, key: str) -> bool:
        try:
            await self.size(key)
        except FileNotFoundError:
            return False
        return True

    async def delete(self, key: str) -> None:
        # S3 answers a missing key's delete with success, too: already gone is fine.
        name = self._object(key)
        try:
            await asyncio.to_thread(self._client.delete_object, Bucket=self._bucket, Key=name)
        except (ClientError, BotoCoreError) as exc:
            raise RecordingStorageUnavailable("delete") from exc

    def discard_partials(self) -> int:
        return self._spool.discard()

    async def verify(self) -> None:
        """A missing bucket, refused access or absent credentials stop the start-up; an endpoint
        that does not answer only warns, since webhooks must be taken in meanwhile."""
        where = f"S3 bucket {self._bucket!r}"
        try:
            await asyncio.to_thread(self._client.head_bucket, Bucket=self._bucket)
        except NoCredentialsError:
            raise ConfigurationError(
                f"no credentials for the {where}: set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or give the host a role"
            ) from None
        except ClientError as exc:
            code = _code(exc)
            if code in _NOT_FOUND:
                raise ConfigurationError(
                    f"the {where} does not exist (CALLFUNNEL_S3_BUCKET, CALLFUNNEL_S3_ENDPOINT_URL)"
                ) from None
            if code in {"403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"}:
                raise ConfigurationError(
                    f"the {where} refused these credentials ({code})"
                ) from None
            log.warning("recordings.storage.unreachable", bucket=self._bucket, error=code)
        except BotoCoreError as exc:
            log.warning(
                "recordings.storage.unreachable", bucket=self._bucket, error=type(exc).__name__
            )

    def _object(self, key: str) -> str:
        return self._prefix + validate_key(key)

    async def _chunks(
        self, name: str, start: int, end_inclusive: int, chunk_size: int
    ) -> AsyncIterator[bytes]:
        try:
            answer = await asyncio.to_thread(
                self._client.get_object,
                Bucket=self._bucket,
                Key=name,
                Range=f"bytes={start}-{end_inclusive}",
            )
        except (ClientError, BotoCoreError) as exc:
            if isinstance(exc, ClientError) and _code(exc) == "InvalidRange":
                return  # wholly past the end: nothing, as a local file read there gives
            raise _failure("read", exc, name) from exc
        body = answer["Body"]
        try:
            while chunk := await asyncio.to_thread(body.read, chunk_size):
                yield chunk
        finally:
            # Also when the listener hangs up mid-stream: the connection goes back to the pool.
            await asyncio.to_thread(body.close)
