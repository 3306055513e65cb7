"""callfunnel report weekly: the same report, written to a file."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from app.cli import cli
from app.config import Settings, get_settings
from app.db import Database, create_engine
from tests.metrics.loading import load_dataset
from tests.metrics.worked_example import DATASET
from tests.reports.fetch import AS_OF, WEEK


@pytest.fixture
def configured(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CALLFUNNEL_DATABASE_URL", database_url)
    get_settings.cache_clear()

    async def load() -> None:
        database = Database(create_engine(Settings(database_url=database_url, _env_file=None)))  # type: ignore[call-arg]
        try:
            await load_dataset(database, DATASET)
        finally:
            await database.dispose()

    asyncio.run(load())
    yield
    get_settings.cache_clear()


def test_weekly_report_files(
    configured: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    base = ["report", "weekly", "--week", WEEK, "--as-of", AS_OF[1]]
    target = tmp_path / "w47.xlsx"
    written = runner.invoke(cli, [*base, "--format", "xlsx", "--lang", "ru", "-o", str(target)])
    assert written.exit_code == 0, written.output
    assert f"wrote {target}" in written.output
    book = load_workbook(io.BytesIO(target.read_bytes()))
    assert book.sheetnames[0] == "Воронка"

    printed = runner.invoke(cli, [*base, "-o", "-"])
    assert printed.exit_code == 0, printed.output
    body = json.loads(printed.stdout)
    assert body["period"]["week"] == WEEK
    assert body["managers_total"]["leads"]["cost"] == "324.00"

    monkeypatch.chdir(tmp_path)
    default = runner.invoke(cli, [*base, "--format", "html"])
    assert default.exit_code == 0, default.output
    assert (tmp_path / "callfunnel-2026-W47.html").read_text().startswith("<!doctype html>")

    bad = runner.invoke(cli, ["report", "weekly", "--week", "2026-W54"])
    assert bad.exit_code == 1
    assert "no week 54" in bad.output
