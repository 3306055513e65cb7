"""The demo history: delivered through the real endpoints, deterministic, and worth looking at."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from httpx import ASGITransport, AsyncClient
from typer.testing import CliRunner

from app.cli import cli
from app.config import Settings, get_settings
from app.db import Database
from app.demo import AUDIO_RATE, DemoBuilder, history_span, store_recordings


def test_the_history_ends_on_moscows_monday() -> None:
    # Sunday 22:00 UTC is Monday 01:00 in Moscow: the history is the two weeks before that Monday.
    sunday_night = datetime(2026, 12, 6, 22, tzinfo=UTC)
    assert history_span(sunday_night, 2) == (date(2026, 11, 23), date(2026, 12, 7))
    monday_noon = datetime(2026, 11, 23, 9, tzinfo=UTC)
    assert history_span(monday_noon, 2) == (date(2026, 11, 9), date(2026, 11, 23))


async def test_small_demo_gives_a_real_funnel(
    app: object, admin: dict[str, str], database: Database, settings: Settings
) -> None:
    today = datetime(2026, 11, 23, 9, tzinfo=UTC)
    steps: list[tuple[str, int, int]] = []
    transport = ASGITransport(app=app)  # type: ignore[arg-type]
    async with AsyncClient(transport=transport, base_url="http://demo", headers=admin) as http:
        builder = DemoBuilder(
            http,
            seed=1,
            weeks=2,
            leads=300,
            dials_per_day=6,
            today=today,
            progress=lambda step, done, total: steps.append((step, done, total)),
        )
        summary = await builder.build()
        assert summary.leads == 300
        assert summary.calls == 2 * 5 * 4 * 6  # two weeks of workdays, four managers
        assert summary.requests > summary.calls
        assert (summary.first_day, summary.end_day) == ("2026-11-09", "2026-11-23")
        assert steps[-1] == ("calls", 10, 10)

        calls = (await http.get("/api/v1/calls", params={"limit": 500})).json()["items"]
        assert len(calls) == summary.calls + summary.inbound_calls + summary.callbacks
        assert {call["integration_id"] for call in calls}.__len__() == 3
        funnel = (
            await http.get(
                "/api/v1/metrics/funnel",
                params={"from": summary.first_day, "to": summary.end_day, "group_by": "employee"},
            )
        ).json()
        total = funnel["total"]
        # Every callback is a dial of the history too.
        assert total["dials"] == summary.calls + summary.callbacks
        stages = [stage["count"] for stage in total["stages"]]
        assert stages[0] > stages[1] > 0
        assert len(funnel["groups"]) == 4
        tagged = [call for call in calls if call["outcome"]]
        assert tagged
        assert all(call["script_id"] for call in tagged)

        # Missed calls were called back fast, slowly or never; a few are still waiting.
        assert summary.missed_calls > summary.callbacks > 0
        callbacks = (
            await http.get(
                "/api/v1/metrics/callbacks",
                params={
                    "from": summary.first_day,
                    "to": summary.end_day,
                    "as_of": today.isoformat(),
                },
            )
        ).json()["total"]
        assert callbacks["cases"] > 0
        assert callbacks["sla_met"] > 0
        assert callbacks["sla_breached"] > 0
        assert callbacks["lost"] > 0
        assert callbacks["contacted_by_callback"] > 0
        waiting = (
            await http.get(
                "/api/v1/callbacks", params={"status": "pending", "as_of": today.isoformat()}
            )
        ).json()["items"]
        assert waiting
        assert [case["opened_at"] for case in waiting] == sorted(c["opened_at"] for c in waiting)

        # A sales head scored a few calls per manager and week, with a spread of scores.
        assert summary.evaluations > 0
        quality = (
            await http.get(
                "/api/v1/metrics/script-quality",
                params={"from": summary.first_day, "to": summary.end_day, "group_by": "employee"},
            )
        ).json()
        assert quality["total"]["calls"] == summary.evaluations
        assert len(quality["groups"]) == 4
        scores = [group["score"] for group in quality["groups"]]
        assert max(scores) - min(scores) > 5
        assert sum(1 for count in quality["total"]["bands"].values() if count) >= 3
        evaluators = (await http.get("/api/v1/evaluations", params={"limit": 500})).json()
        assert {e["evaluator"] for e in evaluators["items"]} == {"Demo sales head"}
        assert any(
            c["passed"]["calls"] and c["failed"]["calls"] for c in quality["outcomes"]["criteria"]
        )

        # The answered dials' recordings come from the demo's own PBX, through the real worker
        # and downloader, into the real storage: every one is stored and plays with ranges.
        announced = [call for call in calls if call["recording"]]
        assert {call["recording"]["status"] for call in announced} == {"pending"}
        assert await store_recordings(database, settings) == len(announced)
        assert await store_recordings(database, settings) == 0
        stored = [
            (await http.get(f"/api/v1/calls/{call['id']}")).json()["recording"]
            for call in announced
        ]
        assert {recording["status"] for recording in stored} == {"stored"}
        assert {recording["content_type"] for recording in stored} == {"audio/wav"}
        # 8-bit mono: a byte a sample after the 44-byte header, so the size proves the duration.
        for recording in stored:
            assert recording["size_bytes"] == 44 + recording["duration_seconds"] * AUDIO_RATE
            assert 3 <= recording["duration_seconds"] <= 9
        played = await http.get(stored[0]["url"], headers={"Range": "bytes=0-11"})
        assert played.status_code == 206
        assert played.headers["content-type"] == "audio/wav"
        assert played.headers["content-range"] == f"bytes 0-11/{stored[0]['size_bytes']}"
        assert played.content[:4] == b"RIFF"
        assert played.content[8:12] == b"WAVE"
        # Under the normal storage's keys, in the test's own recordings folder.
        assert len(list(settings.recordings_dir.rglob("audio_*.wav"))) == len(announced)


def test_the_demo_command_prints_where_to_sign_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    # A previous demo's recordings go with its database.
    (tmp_path / "demo-recordings" / "2026" / "11").mkdir(parents=True)
    (tmp_path / "demo-recordings" / "2026" / "11" / "old.wav").write_bytes(b"RIFF")
    try:
        result = CliRunner().invoke(
            cli, ["demo", "--no-data", "--no-serve", "--port", "8123"], catch_exceptions=False
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[1] == (
        "dashboard: http://127.0.0.1:8123/login  (sign in with the admin API key below)"
    )
    assert lines[2].startswith("admin API key: cf_")
    assert (tmp_path / "demo.db").is_file()
    assert not (tmp_path / "demo-recordings").exists()
