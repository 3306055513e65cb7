"""The FreePBX sync: new rows of the ``asteriskcdrdb.cdr`` table, read page by page into calls.

Each run reads the rows dated from the kept cursor minus the integration's overlap (CDR rows are
written when a leg ends but dated by its start, so a long call's rows land behind the cursor),
keyset-paged on (calldate, uniqueid, ...) so that no row is read twice within a run however many
rows share a second. Each page is imported in its own transaction and the cursor moves with it, so
a sync that is interrupted resumes from its last committed page; rows read again are duplicates
and change nothing. The PBX's database is only ever read.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from app.cdr.models import CdrSyncCursor
from app.cdr.reader import Row, Skip, decode_line
from app.cdr.service import CdrImporter, CdrIntegration, CdrReport, asterisk_integration
from app.db import Database, utcnow
from app.errors import Unprocessable
from app.integrations.models import Integration
from app.webhooks.providers.cdr_columns import KNOWN_FIELDS

log = structlog.get_logger("callfunnel.cdr.sync")

PAGE_ROWS = 2000
_ZERO_DATE = "0000-00-00"
# Keyset order: calldate first (the cursor), then whatever identifies a row within one second.
_TIEBREAK = ("uniqueid", "sequence", "id", "channel", "dstchannel", "lastapp", "disposition")


class SyncError(Exception):
    """The PBX's database cannot be read (down, wrong URL, no such table)."""


@dataclass(frozen=True, slots=True)
class SyncResult:
    report: CdrReport
    last_calldate: str | None


def engine_url(mysql_url: str) -> str:
    """The URL with the async driver this project uses for MySQL/MariaDB (aiomysql)."""
    for prefix in ("mysql+aiomysql://", "mariadb+aiomysql://"):
        if mysql_url.startswith(prefix):
            return "mysql+aiomysql://" + mysql_url.removeprefix(prefix)
    for prefix in ("mysql://", "mariadb://"):
        if mysql_url.startswith(prefix):
            return "mysql+aiomysql://" + mysql_url.removeprefix(prefix)
    raise ValueError("not a MySQL URL")


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray):
        return decode_line(bytes(value))
    return str(value)


class FreePbxSync:
    def __init__(self, importer: CdrImporter | None = None, *, page_rows: int = PAGE_ROWS) -> None:
        self._importer = importer or CdrImporter()
        self._page_rows = page_rows

    async def sync_once(
        self, database: Database, integration_id: str, *, max_pages: int | None = None
    ) -> SyncResult:
        """Read what is new since the cursor (all of it, or ``max_pages`` pages) and import it."""
        async with database.unit_of_work(read_only=True) as session:
            integration = await asterisk_integration(session, integration_id)
            cursor = await session.get(CdrSyncCursor, integration_id)
            last = None if cursor is None else cursor.last_calldate
        url = integration.config.mysql_url
        if not url:
            raise Unprocessable.at(
                "config",
                "mysql_url",
                msg="required for cdr sync",
                detail=f"integration {integration_id} has no mysql_url to sync from",
            )
        engine = create_async_engine(engine_url(url), pool_pre_ping=True)
        report = CdrReport()
        try:
            last = await self._run(database, engine, integration, last, report, max_pages)
        except OSError as exc:
            raise SyncError(f"cannot reach the PBX database: {type(exc).__name__}") from None
        finally:
            await engine.dispose()
        return SyncResult(report, last)

    async def _run(
        self,
        database: Database,
        engine: AsyncEngine,
        integration: CdrIntegration,
        last: str | None,
        report: CdrReport,
        max_pages: int | None,
    ) -> str | None:
        table = integration.config.mysql_table
        since = _since(last, integration.config.sync_overlap_seconds)
        started = utcnow()
        counted: set[str] = set()
        pages = 0
        try:
            async with engine.connect() as connection:
                columns = await _columns(connection, table)
                async for page in _pages(connection, table, columns, since, self._page_rows):
                    await self._importer.import_batch(
                        database, integration, page.rows, report, started, counted
                    )
                    last = _later(last, page.last_calldate)
                    await _save_cursor(database, integration.id, last, len(page.rows))
                    pages += 1
                    if max_pages is not None and pages >= max_pages:
                        break
            if pages == 0:
                # A sync that found nothing new ran all the same: callfunnel_cdr_sync_lag_seconds
                # reads the cursor's updated_at, and a quiet PBX is not a broken sync.
                await _save_cursor(database, integration.id, last, 0)
        except SyncError:
            raise
        except Exception as exc:
            if _is_database_error(exc):
                # The driver's message may name the host and user, never the password.
                raise SyncError(
                    f"cannot read the PBX's {table} table: {type(exc).__name__}"
                ) from exc
            raise
        return last

    async def run_forever(
        self, database: Database, integration_id: str, *, every: float, stop: asyncio.Event
    ) -> None:
        """Sync, wait ``every`` seconds, again, until ``stop``; an outage is logged, not fatal."""
        while not stop.is_set():
            try:
                result = await self.sync_once(database, integration_id)
                log.info(
                    "cdr.sync.done",
                    integration_id=integration_id,
                    rows_read=result.report.rows_read,
                    stored=result.report.stored,
                )
            except SyncError as exc:
                log.warning("cdr.sync.failed", integration_id=integration_id, error=str(exc))
            except Exception:
                log.exception("cdr.sync.error", integration_id=integration_id)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)


def _is_database_error(exc: BaseException) -> bool:
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, ProgrammingError

    return isinstance(exc, DBAPIError | InterfaceError | OperationalError | ProgrammingError)


def _since(last: str | None, overlap_seconds: int) -> str | None:
    if last is None or last.startswith(_ZERO_DATE):
        return None
    try:
        moment = datetime.fromisoformat(last)
    except ValueError:
        return None
    return (moment - timedelta(seconds=overlap_seconds)).strftime("%Y-%m-%d %H:%M:%S")


def _later(a: str | None, b: str | None) -> str | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


async def _columns(connection: AsyncConnection, table: str) -> list[str]:
    rows = (await connection.execute(text(f"SHOW COLUMNS FROM `{table}`"))).all()
    names = [str(row[0]) for row in rows]
    if "calldate" not in names:
        raise SyncError(f"the {table} table has no calldate column: not a FreePBX cdr table")
    return names


@dataclass(frozen=True, slots=True)
class _Page:
    rows: Sequence[Row | Skip]
    last_calldate: str | None


async def _pages(
    connection: AsyncConnection,
    table: str,
    columns: Sequence[str],
    since: str | None,
    page_rows: int,
) -> AsyncIterator[_Page]:
    fields = [name for name in columns if name in KNOWN_FIELDS]
    keys = ["calldate", *(name for name in _TIEBREAK if name in columns)]
    # Every value as text, the date included: '0000-00-00 00:00:00' is a row to report, and the
    # driver would turn it into None or refuse it.
    selected = ", ".join(f"CAST(`{name}` AS CHAR) AS `{name}`" for name in fields)
    order = ", ".join(f"`{name}`" for name in keys)
    key_tuple = ", ".join(f"`{name}`" for name in keys)
    params_tuple = ", ".join(f":k{i}" for i in range(len(keys)))
    after: Sequence[object] | None = None
    ordinal = 0
    while True:
        where = []
        params: dict[str, object] = {"limit": page_rows}
        if since is not None:
            where.append("`calldate` >= :since")
            params["since"] = since
        if after is not None:
            where.append(f"({key_tuple}) > ({params_tuple})")
            params |= {f"k{i}": value for i, value in enumerate(after)}
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        key_select = ", ".join(f"`{name}` AS `_k{i}`" for i, name in enumerate(keys))
        query = text(
            f"SELECT {selected}, {key_select} FROM `{table}` {clause} "  # noqa: S608 - names checked
            f"ORDER BY {order} LIMIT :limit"
        )
        result = (await connection.execute(query, params)).mappings().all()
        if not result:
            return
        rows: list[Row | Skip] = []
        last_calldate = None
        for record in result:
            ordinal += 1
            values = {name: _text(record[name]) for name in fields}
            rows.append(Row(ordinal, values))
            last_calldate = values.get("calldate") or last_calldate
        after = [result[-1][f"_k{i}"] for i in range(len(keys))]
        yield _Page(rows, last_calldate)
        if len(result) < page_rows:
            return


async def _save_cursor(
    database: Database, integration_id: str, last: str | None, rows: int
) -> None:
    async with database.unit_of_work() as session:
        cursor = await session.get(CdrSyncCursor, integration_id)
        if cursor is None:
            session.add(
                CdrSyncCursor(
                    integration_id=integration_id,
                    last_calldate=last,
                    rows_read=rows,
                    updated_at=utcnow(),
                )
            )
        else:
            cursor.last_calldate = last
            cursor.rows_read += rows
            cursor.updated_at = utcnow()


async def syncable_integrations(database: Database) -> list[str]:
    """The live asterisk integrations that have a ``mysql_url``: what the worker syncs."""
    async with database.unit_of_work(read_only=True) as session:
        rows = (
            await session.execute(
                select(Integration).where(
                    Integration.provider == "asterisk", Integration.deleted_at.is_(None)
                )
            )
        ).scalars()
        return [row.id for row in rows if (row.config or {}).get("mysql_url")]


freepbx_sync = FreePbxSync()


async def sync_all_forever(database: Database, *, every: float, stop: asyncio.Event) -> None:
    """The worker's loop: every ``every`` seconds, sync each asterisk integration that has a
    ``mysql_url`` (one after another: each is a few queries on the PBX's side)."""
    while not stop.is_set():
        try:
            for integration_id in await syncable_integrations(database):
                if stop.is_set():
                    break
                try:
                    await freepbx_sync.sync_once(database, integration_id)
                except SyncError as exc:
                    log.warning("cdr.sync.failed", integration_id=integration_id, error=str(exc))
        except Exception:
            # The database may be down for a while: keep polling rather than die.
            log.exception("cdr.sync.error")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
