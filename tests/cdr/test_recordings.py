"""Recordings named by ``recordingfile`` come from the integration's ``recordings_dir`` through the
recording worker, and never from outside that folder."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import pytest
from httpx import AsyncClient
from sqlalchemy import select

from app.config import Settings
from app.db import Database
from app.recordings.models import Recording
from app.recordings.worker import recording_worker
from app.webhooks.providers.asterisk import recording_path
from app.webhooks.providers.base import RecordingNotReadyError, RecordingSourceError
from tests.cdr.support import create_asterisk, upload

HEADER = (
    "calldate,src,dst,channel,dstchannel,lastapp,duration,billsec,disposition,uniqueid,"
    "recordingfile\n"
)


def _wav() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(8000)
        audio.writeframes(b"\x00\x00" * 8000 * 2)
    return buffer.getvalue()


def _row(uniqueid: str, name: str) -> str:
    return (
        f"2026-11-02 10:00:00,101,89161234567,SIP/101-1,SIP/trunk-2,Dial,65,60,ANSWERED,"
        f"{uniqueid},{name}\n"
    )


def test_names_are_checked_before_any_file_is_opened(tmp_path: Path) -> None:
    root = tmp_path / "monitor"
    (root / "2026" / "11" / "02").mkdir(parents=True)
    (root / "2026" / "11" / "02" / "ok.wav").write_bytes(_wav())
    (tmp_path / "secret.wav").write_bytes(_wav())
    (root / "link.wav").symlink_to(tmp_path / "secret.wav")
    # FreePBX names the file only; it lives under YYYY/MM/DD.
    assert recording_path(str(root), "ok.wav") == (root / "2026/11/02/ok.wav").resolve()
    assert recording_path(str(root), "2026/11/02/ok.wav") == (root / "2026/11/02/ok.wav").resolve()
    for name in ("../secret.wav", "/etc/passwd", "2026/../../secret.wav", "..", "a\\..\\b.wav"):
        with pytest.raises(RecordingSourceError):
            recording_path(str(root), name)
    # A link leading out of the folder is outside it too.
    with pytest.raises(RecordingSourceError, match="outside"):
        recording_path(str(root), "link.wav")
    with pytest.raises(RecordingNotReadyError):
        recording_path(str(root), "not-yet.wav")
    with pytest.raises(RecordingSourceError, match="recordings_dir"):
        recording_path(None, "ok.wav")


async def test_the_worker_fetches_from_recordings_dir_and_refuses_traversal(
    client: AsyncClient,
    admin: dict[str, str],
    database: Database,
    settings: Settings,
    tmp_path: Path,
) -> None:
    root = tmp_path / "monitor"
    day = root / "2026" / "11" / "02"
    day.mkdir(parents=True)
    audio = _wav()
    (day / "out-101.wav").write_bytes(audio)
    (tmp_path / "outside.wav").write_bytes(audio)
    integration_id = await create_asterisk(
        client, admin, recordings_dir=str(root), timezone="Europe/Moscow"
    )
    content = HEADER + _row("1.1", "out-101.wav") + _row("1.2", "../../outside.wav")
    content += _row("1.3", str(tmp_path / "outside.wav"))
    report = await upload(client, admin, integration_id, content.encode())
    assert report["calls_created"] == 3
    async with recording_worker(database, settings) as worker:
        assert await worker.run_once() == 3
    async with database.unit_of_work(read_only=True) as session:
        rows = {r.provider_ref: r for r in (await session.execute(select(Recording))).scalars()}
    good = rows["out-101.wav"]
    assert good.status == "stored"
    assert good.size_bytes == len(audio)
    assert good.content_type == "audio/wav"
    for name in ("../../outside.wav", str(tmp_path / "outside.wav")):
        assert rows[name].status == "failed"  # refused for good, not retried
        assert "outside recordings_dir" in (rows[name].last_error or "")
        assert rows[name].storage_key is None
