"""The sync lag says when a FreePBX sync last ran, even one that found nothing new: a quiet PBX
at night must not look like a broken sync. The PBX's table is an empty SQLite one here (the real
MariaDB runs in tests/cdr/test_freepbx_sync.py); only its dialect is faked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from app.cdr import sync
from app.cdr.sync import FreePbxSync
from app.db import Database
from tests.cdr.support import create_asterisk
from tests.telemetry.support import scrape

COLUMNS = ["calldate", "src", "dst", "channel", "dstchannel", "duration", "billsec", "uniqueid"]


async def test_an_empty_sync_still_resets_the_lag(
    client: AsyncClient,
    admin: dict[str, str],
    database: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pbx = f"sqlite+aiosqlite:///{tmp_path / 'pbx.db'}"
    engine = create_async_engine(pbx)
    async with engine.begin() as connection:
        columns = ", ".join(f"{name} TEXT" for name in COLUMNS)
        await connection.execute(text(f"CREATE TABLE cdr ({columns})"))
    await engine.dispose()

    def pbx_engine(_url: str, **_options: Any) -> AsyncEngine:
        return create_async_engine(pbx)

    async def pbx_columns(_connection: AsyncConnection, _table: str) -> list[str]:
        return COLUMNS  # SQLite has no SHOW COLUMNS

    monkeypatch.setattr(sync, "create_async_engine", pbx_engine)
    monkeypatch.setattr(sync, "_columns", pbx_columns)
    integration_id = await create_asterisk(
        client, admin, mysql_url="mysql://pbx@127.0.0.1/asteriskcdrdb", timezone="Europe/Moscow"
    )
    assert not (await scrape(client)).has("callfunnel_cdr_sync_lag_seconds")

    result = await FreePbxSync().sync_once(database, integration_id)
    assert result.report.rows_read == 0
    after = await scrape(client)
    assert after.has("callfunnel_cdr_sync_lag_seconds")
    assert 0 <= after.get("callfunnel_cdr_sync_lag_seconds") < 60
