"""Recording storage, the local folder and an S3 bucket alike: generated keys only, placement,
byte ranges, crash leftovers. Every test runs against both stores, built from settings as the
service builds them; the few that look behind the interface say which store they are about."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.config import ConfigurationError
from app.recordings.storage import LocalStorage, RecordingStorage
from app.recordings.worker import storage_for
from tests.factories import settings_for
from tests.recordings.conftest import storage_overrides

DATA = bytes(range(10))  # b"\x00\x01…\x09": a byte's value is its offset


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "recordings"


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> RecordingStorage:
    settings = settings_for(
        "sqlite+aiosqlite:///:memory:", tmp_path, **storage_overrides(request, request.param)
    )
    return storage_for(settings)


async def save(storage: RecordingStorage, data: bytes = DATA, extension: str = "mp3") -> str:
    temp = storage.temp_path()
    temp.write_bytes(data)
    return await storage.save(temp, extension=extension)


async def read(
    storage: RecordingStorage, key: str, start: int, end: int, chunk: int = 4
) -> list[bytes]:
    return [part async for part in storage.read_range(key, start, end, chunk)]


def test_temp_paths_are_fresh_and_beside_the_store(storage: RecordingStorage, root: Path) -> None:
    first, second = storage.temp_path(), storage.temp_path()

    assert first != second
    assert first.parent == second.parent == root / ".partial"
    assert first.parent.is_dir()
    assert not first.exists()


async def test_save_moves_the_file_under_a_generated_key(storage: RecordingStorage) -> None:
    temp = storage.temp_path()
    temp.write_bytes(DATA)

    key = await storage.save(temp, extension="wav")

    now = datetime.now(UTC)
    assert re.fullmatch(rf"{now:%Y}/{now:%m}/audio_[0-9a-z]{{26}}\.wav", key)
    assert await read(storage, key, 0, 9, chunk=100) == [DATA]
    assert not temp.exists()
    assert await storage.exists(key)
    assert await storage.size(key) == len(DATA)


async def test_every_save_gets_its_own_key(storage: RecordingStorage) -> None:
    keys = {await save(storage) for _ in range(5)}

    assert len(keys) == 5


@pytest.mark.parametrize("extension", ["exe", "MP3", "", "mp3/../x", "html", ".mp3"])
async def test_only_audio_extensions_are_saved(storage: RecordingStorage, extension: str) -> None:
    temp = storage.temp_path()
    temp.write_bytes(DATA)

    with pytest.raises(ValueError, match="extension"):
        await storage.save(temp, extension=extension)
    assert temp.exists()  # the caller's to remove


async def test_a_file_from_elsewhere_is_not_saved(
    storage: RecordingStorage, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "secret.txt"
    elsewhere.write_bytes(DATA)

    with pytest.raises(ValueError, match="temp_path"):
        await storage.save(elsewhere, extension="mp3")
    assert elsewhere.exists()


VALID = "2026/11/audio_01jd3k4m5n6p7q8r9s0t1v2w3x.mp3"


@pytest.mark.parametrize(
    "key",
    [
        "../etc/passwd",
        "/etc/passwd",
        "/" + VALID,
        "2026/11/../../../etc/passwd",
        "2026/11/../11/audio_01jd3k4m5n6p7q8r9s0t1v2w3x.mp3",
        VALID.replace(".mp3", ".exe"),
        VALID + "/..",
        VALID + "\n",
        VALID.replace("/", "\\"),
        VALID.upper(),
        VALID.replace("audio_01", "audio_0i"),  # not a character new_id makes
        "2026/11/audio_short.mp3",
        ".partial/0123456789abcdef.part",
        "",
    ],
)
async def test_a_key_not_made_by_save_is_refused(storage: RecordingStorage, key: str) -> None:
    with pytest.raises(ValueError, match="key"):
        await storage.size(key)
    with pytest.raises(ValueError, match="key"):
        await storage.exists(key)
    with pytest.raises(ValueError, match="key"):
        await storage.delete(key)
    with pytest.raises(ValueError, match="key"):
        storage.read_range(key, 0, 1)


@pytest.mark.parametrize(
    ("start", "end", "chunks"),
    [
        (0, 0, [b"\x00"]),
        (9, 9, [b"\x09"]),
        (0, 9, [b"\x00\x01\x02\x03", b"\x04\x05\x06\x07", b"\x08\x09"]),
        (2, 5, [b"\x02\x03\x04\x05"]),
        (3, 8, [b"\x03\x04\x05\x06", b"\x07\x08"]),
        (7, 100, [b"\x07\x08\x09"]),  # past the end: up to the end
        (10, 12, []),  # wholly past the end
    ],
)
async def test_read_range_boundaries(
    storage: RecordingStorage, start: int, end: int, chunks: list[bytes]
) -> None:
    key = await save(storage)

    assert await read(storage, key, start, end) == chunks


@pytest.mark.parametrize(("start", "end", "chunk"), [(5, 4, 4), (-1, 3, 4), (0, 3, 0)])
async def test_read_range_refuses_a_bad_request_at_once(
    storage: RecordingStorage, start: int, end: int, chunk: int
) -> None:
    key = await save(storage)

    with pytest.raises(ValueError, match=r"range|chunk"):
        storage.read_range(key, start, end, chunk)


async def test_a_missing_file(storage: RecordingStorage) -> None:
    assert not await storage.exists(VALID)
    with pytest.raises(FileNotFoundError):
        await storage.size(VALID)
    with pytest.raises(FileNotFoundError):
        await read(storage, VALID, 0, 1)
    await storage.delete(VALID)  # already gone is fine


async def test_delete_removes_the_file(storage: RecordingStorage) -> None:
    key = await save(storage)

    await storage.delete(key)

    assert not await storage.exists(key)
    with pytest.raises(FileNotFoundError):
        await storage.size(key)
    await storage.delete(key)  # twice is fine


async def test_local_files_live_under_the_root(root: Path) -> None:
    storage = LocalStorage(root)
    key = await save(storage)

    assert (root / key).read_bytes() == DATA
    await storage.delete(key)
    assert not (root / key).exists()


async def test_discard_partials_removes_only_leftovers(storage: RecordingStorage) -> None:
    assert storage.discard_partials() == 0  # nothing was ever written
    key = await save(storage)
    for _ in range(3):
        storage.temp_path().write_bytes(b"half a download")

    assert storage.discard_partials() == 3

    assert storage.discard_partials() == 0
    assert await storage.exists(key)


async def test_a_folder_that_cannot_be_made_stops_the_start_up(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_bytes(b"")
    storage = LocalStorage(tmp_path / "a-file" / "recordings")

    with pytest.raises(ConfigurationError, match=r"CALLFUNNEL_RECORDINGS_DIR .* cannot be created"):
        await storage.verify()


async def test_verify_makes_the_folder(root: Path) -> None:
    await LocalStorage(root).verify()

    assert await asyncio.to_thread(root.is_dir)
