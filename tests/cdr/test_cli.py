"""``callfunnel import cdr`` and ``callfunnel cdr sync`` against a real database."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.config import get_settings
from app.db import Database, create_engine
from tests.cdr.support import RU_RINGGROUP
from tests.factories import insert_integration, settings_for


@pytest.fixture
def configured(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("CALLFUNNEL_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield database_url
    get_settings.cache_clear()


def _integration(database_url: str, tmp_path: object, config: dict[str, object]) -> str:
    async def run() -> str:
        database = Database(create_engine(settings_for(database_url, tmp_path)))  # type: ignore[arg-type]
        try:
            return await insert_integration(database, provider="asterisk", config=config)
        finally:
            await database.dispose()

    return asyncio.run(run())


def test_import_cdr_prints_the_report_and_a_second_run_changes_nothing(
    configured: str, tmp_path: object
) -> None:
    integration_id = _integration(
        configured, tmp_path, {"times_in_utc": True, "extension_pattern": r"^\d{3}$"}
    )
    runner = CliRunner()
    args = ["import", "cdr", str(RU_RINGGROUP), "--integration", integration_id]
    first = runner.invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert "rows read: 84" in first.output
    assert "stored: 84 (technical legs kept raw: 15)" in first.output
    assert "calls created: 36" in first.output
    second = runner.invoke(cli, args)
    assert second.exit_code == 0, second.output
    assert "stored: 0" in second.output
    assert "duplicates: 84" in second.output
    assert "calls created: 0" in second.output
    assert "calls updated: 0" in second.output

    unknown = runner.invoke(cli, ["import", "cdr", str(RU_RINGGROUP), "--integration", "intg_x"])
    assert unknown.exit_code == 1
    assert "not found" in unknown.output
    no_mysql = runner.invoke(cli, ["cdr", "sync", "--integration", integration_id, "--once"])
    assert no_mysql.exit_code == 1
    assert "mysql_url" in no_mysql.output
