"""The command line: migrate and the API-key commands, against a real database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.config import get_settings


@pytest.fixture
def configured(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CALLFUNNEL_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_migrate_and_api_keys(configured: None) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["migrate"]).exit_code == 0

    created = runner.invoke(cli, ["apikey", "create", "--name", "ops", "--role", "admin"])
    assert created.exit_code == 0, created.output
    key_id = created.output.split()[1]
    key = created.output.strip().splitlines()[-1]
    assert key.startswith("cf_")

    listed = runner.invoke(cli, ["apikey", "list"])
    assert key_id in listed.output
    assert key not in listed.output  # only a prefix is ever shown again
    assert "active" in listed.output

    assert runner.invoke(cli, ["apikey", "revoke", key_id]).exit_code == 0
    assert "revoked" in runner.invoke(cli, ["apikey", "list"]).output

    manager = runner.invoke(cli, ["apikey", "create", "--name", "m", "--role", "manager"])
    assert manager.exit_code == 1
    assert "employee" in manager.output
    unknown = runner.invoke(cli, ["apikey", "revoke", "key_missing"])
    assert unknown.exit_code == 1
