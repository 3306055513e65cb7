"""The schema comes only from Alembic: it round-trips and matches the models."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from app import migrations
from app.models import Base

TABLES = {
    "integration",
    "webhook_event",
    "employee",
    "employee_extension",
    "lead",
    "lead_phone",
    "lead_evidence",
    "call",
    "call_leg",
    "cdr_sync_cursor",
    "recording",
    "application",
    "contract",
    "script",
    "api_key",
    "setting",
    "checklist",
    "checklist_criterion",
    "evaluation",
    "instance_secret",
}


async def _inspect(url: str) -> tuple[set[str], list[object]]:
    engine = create_async_engine(url)

    def read(connection: Connection) -> tuple[set[str], list[object]]:
        tables = set(inspect(connection).get_table_names()) - {"alembic_version"}
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        return tables, diff

    try:
        async with engine.connect() as connection:
            return await connection.run_sync(read)
    finally:
        await engine.dispose()


def test_round_trip_and_models_match(database_url: str) -> None:
    tables, diff = asyncio.run(_inspect(database_url))
    assert tables == TABLES
    assert diff == [], f"models and migrations disagree: {diff}"

    migrations.downgrade(database_url, "base")
    tables, _ = asyncio.run(_inspect(database_url))
    assert tables == set()

    migrations.upgrade(database_url)
    tables, diff = asyncio.run(_inspect(database_url))
    assert tables == TABLES
    assert diff == []
