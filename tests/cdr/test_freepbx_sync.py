"""The FreePBX sync against a real MariaDB: a database of our own, loaded with the anonymised
phpMyAdmin dump of a FreePBX ``cdr`` table, synced once, page by page with an interruption, and
again; the result is the same calls in every case, and the PBX's junk zero-dated row is reported.

Needs ``CALLFUNNEL_TEST_MYSQL_URL`` (``.ci/run`` sets it); without it these tests are skipped.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from app.cdr.sync import FreePbxSync, engine_url
from app.db import Database
from tests.cdr.support import FREEPBX_SQL, calls_by_id, create_asterisk, raw_count

MYSQL_URL = os.environ.get("CALLFUNNEL_TEST_MYSQL_URL")
DATABASE = "cf_h18_cdr"

pytestmark = pytest.mark.skipif(not MYSQL_URL, reason="CALLFUNNEL_TEST_MYSQL_URL is not set")


def _statements(dump: str) -> list[str]:
    """The dump's statements, comments left out (it is a phpMyAdmin dump: one per ``;`` line)."""
    body = "\n".join(line for line in dump.splitlines() if not line.startswith("--"))
    return [part.strip() for part in re.split(r";\s*\n", body) if part.strip()]


@pytest.fixture
async def freepbx_url() -> AsyncIterator[str]:
    assert MYSQL_URL is not None
    server = make_url(engine_url(MYSQL_URL)).set(database="")
    engine = create_async_engine(server)
    async with engine.connect() as connection:
        await connection.exec_driver_sql(f"DROP DATABASE IF EXISTS `{DATABASE}`")
        await connection.exec_driver_sql(f"CREATE DATABASE `{DATABASE}` CHARACTER SET utf8mb4")
        await connection.exec_driver_sql(f"USE `{DATABASE}`")
        for statement in _statements(FREEPBX_SQL.read_text(encoding="utf-8")):
            await connection.exec_driver_sql(statement)
        await connection.commit()
    try:
        yield server.set(database=DATABASE).render_as_string(hide_password=False)
    finally:
        async with engine.connect() as connection:
            await connection.exec_driver_sql(f"DROP DATABASE IF EXISTS `{DATABASE}`")
        await engine.dispose()


async def _add_rows(url: str, rows: list[dict[str, Any]]) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            for row in rows:
                names = ", ".join(f"`{name}`" for name in row)
                values = ", ".join(f":{name}" for name in row)
                # Column names from this test's own literals, values bound.
                statement = text(f"INSERT INTO cdr ({names}) VALUES ({values})")  # noqa: S608
                await connection.execute(statement, row)
    finally:
        await engine.dispose()


CONFIG = {
    # The office's phones are 500, 501, 555, 900 and the SIP peers sip4/sip5; gsm0-2 are the GSM
    # gateway's lines (trunks).
    "extension_pattern": r"^(\d{3}|sip\d+)$",
    "timezone": "Europe/Kyiv",
    "default_region": "UA",
}


async def test_sync_once_reads_the_table_and_reports_the_zero_date_row(
    client: AsyncClient, admin: dict[str, str], database: Database, freepbx_url: str
) -> None:
    integration_id = await create_asterisk(client, admin, mysql_url=freepbx_url, **CONFIG)
    # The URL is a secret: never returned.
    shown = await client.get(f"/api/v1/integrations/{integration_id}", headers=admin)
    assert "mysql_url" not in shown.json()["config"]
    result = await FreePbxSync().sync_once(database, integration_id)
    report = result.report
    assert report.rows_read == 31
    assert report.skipped == 1
    assert report.skipped_rows[0].reason == "dated 0000-00-00 00:00:00"
    assert report.stored == 30
    assert report.calls_created == 30  # no linkedid: one call per uniqueid
    assert result.last_calldate == "2017-06-07 12:07:52"
    calls = await calls_by_id(database)
    # id 4: 555 dialled +380568105595 over gsm0, 10 s, NO ANSWER (calldate 09:53:27 Kyiv, +03:00).
    call = calls["1495608807.6"]
    assert (call["direction"], call["status"], call["extension"], call["external_number"]) == (
        "outbound",
        "no_answer",
        "555",
        "+380568105595",
    )
    assert (call["started_at"], call["ended_at"], call["duration_seconds"]) == (
        "2017-05-24 06:53:27",
        "2017-05-24 06:53:37",
        10,
    )
    # id 8: 555 to +380558939239, duration 39, billsec 19: answered at end - billsec.
    call = calls["1495608979.18"]
    assert (call["status"], call["answered_at"], call["ring_seconds"], call["talk_seconds"]) == (
        "answered",
        "2017-05-24 06:56:39",
        20,
        19,
    )
    assert call["duration_seconds"] == 39
    # id 3: +380978976977 on gsm2 to sip5, answered 7 s: an inbound call answered by sip5.
    call = calls["1495551546.3"]
    assert (call["direction"], call["status"], call["extension"]) == ("inbound", "answered", "sip5")
    # id 22: 500 to 501 BUSY, internal.
    assert (calls["1495698408.60"]["direction"], calls["1495698408.60"]["status"]) == (
        "internal",
        "busy",
    )
    # id 31: ANSWERED with billsec 0 is nobody's answer.
    assert calls["1496826472.8"]["status"] == "no_answer"

    # A second sync (the overlap re-reads the last hour) stores nothing and changes nothing.
    again = await FreePbxSync().sync_once(database, integration_id)
    assert again.report.stored == 0
    assert again.report.calls_created == again.report.calls_updated == 0
    assert await calls_by_id(database) == calls


async def test_an_interrupted_sync_resumes_and_gives_the_same_calls(
    client: AsyncClient, admin: dict[str, str], database: Database, freepbx_url: str
) -> None:
    whole_id = await create_asterisk(client, admin, mysql_url=freepbx_url, **CONFIG)
    await FreePbxSync().sync_once(database, whole_id)
    whole = await calls_by_id(database, whole_id)
    paged_id = await create_asterisk(
        client, admin, mysql_url=freepbx_url, sync_overlap_seconds=0, **CONFIG
    )
    sync = FreePbxSync(page_rows=7)
    # Interrupted after two pages of seven (the cursor is kept with each page) …
    first = await sync.sync_once(database, paged_id, max_pages=2)
    assert first.report.rows_read == 14
    assert first.last_calldate == "2017-05-24 16:54:30"  # id 14, the last of page two
    # … and resumed from the kept cursor by a new run (a restart): the rest, nothing twice.
    rest = await FreePbxSync(page_rows=7).sync_once(database, paged_id)
    assert rest.report.skipped == 0  # the zero-dated row was read (and reported) only once
    assert first.report.stored + rest.report.stored == 30
    assert rest.report.duplicates == 1  # the cursor's own row is read again (calldate >= cursor)
    # The same calls, field for field and merge state included, as the one-shot sync made.
    assert await calls_by_id(database, paged_id) == whole

    # New rows written after a sync arrive with the next one; a leg of an old call merges into it.
    await _add_rows(
        freepbx_url,
        [
            {
                "calldate": "2017-06-08 10:00:00",
                "clid": '"555" <555>',
                "src": "555",
                "dst": "+380670767005",
                "dcontext": "local-office",
                "channel": "SIP/555-00000030",
                "dstchannel": "SIP/gsm1-00000031",
                "lastapp": "Dial",
                "lastdata": "SIP/gsm1/+380670767005",
                "duration": 30,
                "billsec": 25,
                "disposition": "ANSWERED",
                "amaflags": 3,
                "uniqueid": "1496905200.1",
            }
        ],
    )
    later = await FreePbxSync(page_rows=7).sync_once(database, paged_id)
    assert later.report.stored == 1
    assert later.report.calls_created == 1
    assert later.last_calldate == "2017-06-08 10:00:00"
    assert await raw_count(database) == 30 + 31
    added = (await calls_by_id(database, paged_id)).pop("1496905200.1")
    assert (added["direction"], added["status"], added["talk_seconds"]) == (
        "outbound",
        "answered",
        25,
    )


async def test_the_worker_syncs_every_asterisk_integration_with_a_mysql_url(
    client: AsyncClient, admin: dict[str, str], database: Database, freepbx_url: str
) -> None:
    import asyncio

    from app.cdr.sync import sync_all_forever, syncable_integrations

    synced = await create_asterisk(client, admin, mysql_url=freepbx_url, **CONFIG)
    await create_asterisk(client, admin, **CONFIG)  # no mysql_url: nothing to sync
    assert await syncable_integrations(database) == [synced]
    stop = asyncio.Event()
    task = asyncio.create_task(sync_all_forever(database, every=3600, stop=stop))
    for _ in range(200):
        if len(await calls_by_id(database, synced)) == 30:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(task, 10)
    assert len(await calls_by_id(database, synced)) == 30
