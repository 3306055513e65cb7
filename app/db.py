"""Engine, sessions and the declarative base.

The request is the transaction: a route's session is committed once, after the route returns, by
``get_session``; services and repositories never commit. Webhooks are the one exception and commit
explicitly before answering (see ``app.webhooks.service``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import CursorResult, DateTime, MetaData, event
from sqlalchemy.engine import Connection
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

from app.config import Settings
from app.edge import guard_engine, install_flush_guard

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Read-only connections carry this option so that SQLite does not take the write lock for them.
READ_ONLY = "callfunnel_read_only"


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on both databases.

    SQLite stores no offset, so values are normalised to UTC on the way in and tagged as UTC on the
    way out; naive datetimes are refused rather than guessed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: callfunnel stores only timezone-aware UTC times")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# How long a request waits for a pooled connection before it is answered 503 (not 500).
POOL_TIMEOUT_SECONDS = 30.0


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _configure_sqlite(engine: AsyncEngine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        # Take transaction control away from the sqlite3 module so that BEGIN below is ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A deferred transaction that later writes can fail at once with "database is locked" (the
        # busy handler is not used when upgrading a read lock). IMMEDIATE takes the write lock up
        # front, so concurrent writers queue on busy_timeout instead. Readers keep a plain BEGIN:
        # in WAL mode they never block or wait for the writer.
        if conn.get_execution_options().get(READ_ONLY):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(settings: Settings, *, ingestion: bool = False) -> AsyncEngine:
    """The API's engine, or with ``ingestion`` the webhooks' own, smaller one (see ``Database``)."""
    if settings.is_sqlite:
        engine = create_async_engine(
            settings.database_url,
            connect_args={"timeout": settings.sqlite_busy_timeout_ms / 1000},
            pool_size=4 if ingestion else 5,
            max_overflow=4 if ingestion else 10,
            pool_timeout=POOL_TIMEOUT_SECONDS,
            hide_parameters=True,
        )
        _configure_sqlite(engine, settings.sqlite_busy_timeout_ms)
        return engine
    return create_async_engine(
        settings.database_url,
        pool_size=5 if ingestion else 10,
        max_overflow=5 if ingestion else 10,
        pool_timeout=POOL_TIMEOUT_SECONDS,
        pool_pre_ping=True,
        # A failed statement's values (an integration's secret, a key's hash) never reach a log.
        hide_parameters=True,
    )


def _is_memory_sqlite(url: str) -> bool:
    return url.startswith("sqlite") and (":memory:" in url or url.rstrip("/").endswith("sqlite:"))


def create_database(settings: Settings) -> Database:
    """The service's database: one pool for the API and the worker, one for the PBXs' webhooks.

    Webhooks get connections of their own so that no amount of API traffic (a dashboard firing
    dozens of reads, a slow report) can make a PBX wait past its delivery timeout (Twilio gives
    up after 15 s). An in-memory SQLite database exists once per connection pool, so it keeps one.
    """
    engine = create_engine(settings)
    if _is_memory_sqlite(settings.database_url):
        return Database(engine)
    return Database(engine, ingestion_engine=create_engine(settings, ingestion=True))


class Database:
    """The engines, their session factories (read-write and read-only) and units of work.

    ``ingestion_engine`` (optional) serves webhooks only; without it they share ``engine``.
    """

    def __init__(self, engine: AsyncEngine, *, ingestion_engine: AsyncEngine | None = None) -> None:
        self.engine = engine
        self.ingestion_engine = ingestion_engine or engine
        # The same input must be refused alike on SQLite and PostgreSQL (see app.edge). Webhooks
        # check their events themselves and keep bad ones as failed, so their own pool needs no net.
        guard_engine(engine)
        install_flush_guard()
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)
        self.read_sessions = async_sessionmaker(
            engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False
        )
        self._ingestion_sessions = async_sessionmaker(self.ingestion_engine, expire_on_commit=False)
        self._ingestion_read_sessions = async_sessionmaker(
            self.ingestion_engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False
        )
        # SQLite has one writer at a time. Writers of this process queue on an asyncio lock (woken
        # the moment it is free) instead of in SQLite's busy handler, which polls with sleeps. Both
        # pools share it: they write to one file.
        self._writer_turn = asyncio.Lock() if engine.dialect.name == "sqlite" else None

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.ingestion_engine is not self.engine:
            await self.ingestion_engine.dispose()

    @asynccontextmanager
    async def unit_of_work(
        self, *, read_only: bool = False, ingestion: bool = False
    ) -> AsyncIterator[AsyncSession]:
        """One transaction: committed when the block finishes cleanly, rolled back otherwise.

        ``ingestion`` takes the connection from the webhooks' pool.
        """
        if ingestion:
            factory = self._ingestion_read_sessions if read_only else self._ingestion_sessions
        else:
            factory = self.read_sessions if read_only else self.sessions
        turn = self._writer_turn if self._writer_turn is not None and not read_only else None
        async with AsyncExitStack() as stack:
            if turn is not None:
                await stack.enter_async_context(turn)
            session = await stack.enter_async_context(factory())
            try:
                yield session
            except BaseException:
                await session.rollback()
                raise
            if not read_only:
                await session.commit()


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: read-only for GET/HEAD, committed before the response is sent."""
    read_only = request.method in {"GET", "HEAD", "OPTIONS"}
    async with get_database(request).unit_of_work(read_only=read_only) as session:
        yield session


# scope="function": commit before the response goes out, so a failed commit is never reported as
# success (the default "request" scope would run it after the response was sent).
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


def affected_rows(result: object) -> int:
    """Rows an UPDATE or DELETE touched (``session.execute`` is typed to return any Result)."""
    assert isinstance(result, CursorResult)
    return result.rowcount
