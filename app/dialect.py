"""The one place that knows where SQLite and PostgreSQL spell the same thing differently."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


def upsert_insert(session: AsyncSession, model: type[DeclarativeBase]) -> Any:
    """An INSERT for ``model`` that supports ``on_conflict_do_nothing/update`` on both databases."""
    return dialect_insert(dialect_of(session), model)


def dialect_of(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def dialect_insert(dialect: str, target: type[DeclarativeBase] | Table) -> Any:
    """``upsert_insert`` by dialect name, for statements built once per dialect and reused."""
    return postgresql.insert(target) if dialect == "postgresql" else sqlite.insert(target)


def table_of(model: type[DeclarativeBase]) -> Table:
    """The model's table, for Core statements: they skip the ORM's per-execution bookkeeping."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


class epoch_seconds(FunctionElement[int]):  # noqa: N801 - used like a SQL function
    """Whole seconds since 1970 of a stored timestamp, on both databases.

    Durations are added to timestamps in the funnel rules (a first conversation *ended* at
    started_at + duration); SQLite stores timestamps as text, so each dialect says it its way.
    """

    type = Integer()
    inherit_cache = True


@compiles(epoch_seconds, "postgresql")
def _epoch_postgresql(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    # ±infinity (asyncpg's spelling of datetime.min/max) has no epoch: NULL, like an unknown
    # time, rather than an error that would fail every report over a row that holds one.
    value = compiler.process(element.clauses, **kw)
    return (
        f"CASE WHEN isfinite({value}) THEN CAST(FLOOR(EXTRACT(EPOCH FROM {value})) AS BIGINT) END"
    )


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"
