"""Where recording files live: a small interface, and the local directory that implements it.

A download is written to ``temp_path()`` and moved into place by ``save``, which names it: keys are
generated here (``YYYY/MM/audio_<id>.<ext>``), never taken from input, and every method refuses a
key that is not of that shape, so no key can reach outside the storage. Both stores spool a
download to a local file (``Spool``): ``LocalStorage`` renames it into place, ``S3Storage``
(``app.recordings.s3``) uploads it.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Protocol

from app.config import ConfigurationError
from app.ids import new_id

EXTENSIONS = frozenset({"mp3", "wav", "ogg", "m4a"})
DEFAULT_CHUNK_BYTES = 64 * 1024
PARTIAL_DIR = ".partial"

_KEY_PREFIX = "audio"
# new_id's body: lower-case Crockford base32 (no i, l, o, u).
_KEY = re.compile(
    rf"\d{{4}}/\d{{2}}/{_KEY_PREFIX}_[0-9a-hjkmnp-tv-z]{{26}}\.(?:{'|'.join(sorted(EXTENSIONS))})"
)


class RecordingStorage(Protocol):
    """Recording files by key. A malformed key is a ``ValueError``; a missing file, on reads,
    a ``FileNotFoundError``."""

    def temp_path(self) -> Path:
        """A fresh local path to write a download in progress to."""

    async def save(self, temp: Path, *, extension: str) -> str:
        """Move a finished ``temp_path()`` file into place under a new key, and return the key."""

    def read_range(
        self, key: str, start: int, end_inclusive: int, chunk_size: int = DEFAULT_CHUNK_BYTES
    ) -> AsyncIterator[bytes]:
        """Bytes ``start``..``end_inclusive`` of the file, in chunks; reading stops at its end."""

    async def size(self, key: str) -> int: ...

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str) -> None:
        """Remove the file; one that is already gone is fine."""

    def discard_partials(self) -> int:
        """Delete downloads a crashed worker left half-written; returns how many."""

    async def verify(self) -> None:
        """Raise ``ConfigurationError`` when the storage, as configured, cannot work at all."""


def validate_key(key: str) -> str:
    if not _KEY.fullmatch(key):
        raise ValueError("not a recording storage key")
    return key


def new_key(extension: str) -> str:
    """A fresh key for a file of that extension; the only way keys are made."""
    if extension not in EXTENSIONS:
        raise ValueError(f"not a recording file extension: {extension!r}")
    return f"{datetime.now(UTC):%Y/%m}/{new_id(_KEY_PREFIX)}.{extension}"


def check_range(start: int, end_inclusive: int, chunk_size: int) -> None:
    if start < 0 or end_inclusive < start:
        raise ValueError(f"not a byte range: {start}-{end_inclusive}")
    if chunk_size <= 0:
        raise ValueError("chunk_size must be positive")


class Spool:
    """Local files of downloads in progress, in one folder: ``root/.partial``."""

    def __init__(self, root: Path) -> None:
        self.directory = root / PARTIAL_DIR

    def temp_path(self) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        return self.directory / f"{secrets.token_hex(16)}.part"

    def check_owns(self, temp: Path) -> None:
        if temp.parent != self.directory:
            raise ValueError("only a file from temp_path() can be saved")

    def discard(self) -> int:
        if not self.directory.is_dir():
            return 0
        removed = 0
        for leftover in self.directory.iterdir():
            if leftover.is_file():
                leftover.unlink(missing_ok=True)
                removed += 1
        return removed


class LocalStorage:
    """Files under ``root``; downloads in progress under ``root/.partial``, on the same file
    system, so that moving one into place is an atomic rename."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._spool = Spool(root)

    def temp_path(self) -> Path:
        return self._spool.temp_path()

    async def save(self, temp: Path, *, extension: str) -> str:
        key = new_key(extension)
        self._spool.check_owns(temp)
        await asyncio.to_thread(_move_into_place, temp, self._path(key))
        return key

    def read_range(
        self, key: str, start: int, end_inclusive: int, chunk_size: int = DEFAULT_CHUNK_BYTES
    ) -> AsyncIterator[bytes]:
        # Checked now, not on the first iteration, so a bad request fails before any answer starts.
        path = self._path(key)
        check_range(start, end_inclusive, chunk_size)
        return _chunks(path, start, end_inclusive - start + 1, chunk_size)

    async def size(self, key: str) -> int:
        stat = await asyncio.to_thread(self._path(key).stat)
        return stat.st_size

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).is_file)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)

    def discard_partials(self) -> int:
        return self._spool.discard()

    async def verify(self) -> None:
        try:
            await asyncio.to_thread(self._root.mkdir, parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigurationError(
                f"CALLFUNNEL_RECORDINGS_DIR {self._root} cannot be created: {exc.strerror}"
            ) from exc

    def _path(self, key: str) -> Path:
        return self._root.joinpath(*validate_key(key).split("/"))


def _move_into_place(temp: Path, target: Path) -> None:
    # Flushed before the rename, so that a crash never leaves a stored key naming an empty file.
    with temp.open("rb") as file:
        os.fsync(file.fileno())
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(temp, target)


async def _chunks(path: Path, start: int, length: int, chunk_size: int) -> AsyncIterator[bytes]:
    file: BinaryIO = await asyncio.to_thread(path.open, "rb")
    try:
        await asyncio.to_thread(file.seek, start)
        while length > 0:
            chunk = await asyncio.to_thread(file.read, min(chunk_size, length))
            if not chunk:
                return
            length -= len(chunk)
            yield chunk
    finally:
        await asyncio.to_thread(file.close)
