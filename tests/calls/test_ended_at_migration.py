"""Migration 20261204_0003 repairs what the missing Zadarma end time broke in stored data."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from app import migrations

BEFORE, REPAIR = "20261122_0002", "20261204_0003"
T0 = datetime(2026, 11, 16, 7, 0, tzinfo=UTC)
TAGGED_AT = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # weeks later: when someone set the tag

_meta = sa.MetaData()
_integration = sa.Table(
    "integration",
    _meta,
    sa.Column("id", sa.String),
    sa.Column("provider", sa.String),
    sa.Column("name", sa.String),
    sa.Column("config", sa.JSON),
    sa.Column("created_at", sa.DateTime(timezone=True)),
)
_lead = sa.Table(
    "lead",
    _meta,
    sa.Column("id", sa.String),
    sa.Column("status", sa.String),
    sa.Column("created_at", sa.DateTime(timezone=True)),
    sa.Column("updated_at", sa.DateTime(timezone=True)),
)
_call = sa.Table(
    "call",
    _meta,
    sa.Column("id", sa.String),
    sa.Column("integration_id", sa.String),
    sa.Column("provider_call_id", sa.String),
    sa.Column("status", sa.String),
    sa.Column("lead_id", sa.String),
    sa.Column("outcome", sa.String),
    sa.Column("started_at", sa.DateTime(timezone=True)),
    sa.Column("ended_at", sa.DateTime(timezone=True)),
    sa.Column("duration_seconds", sa.Integer),
    sa.Column("merge_state", sa.JSON),
    sa.Column("created_at", sa.DateTime(timezone=True)),
    sa.Column("updated_at", sa.DateTime(timezone=True)),
)
_application = sa.Table(
    "application",
    _meta,
    sa.Column("id", sa.String),
    sa.Column("lead_id", sa.String),
    sa.Column("source_call_id", sa.String),
    sa.Column("created_at", sa.DateTime(timezone=True)),
    sa.Column("status", sa.String),
)


def _call_row(call_id: str, **values: Any) -> dict[str, Any]:
    return {
        "id": call_id,
        "integration_id": "intg_z",
        "provider_call_id": call_id,
        "status": "answered",
        "lead_id": "lead_1",
        "outcome": None,
        "started_at": T0,
        "ended_at": None,
        "duration_seconds": 95,
        "merge_state": {},
        "created_at": T0,
        "updated_at": T0,
        **values,
    }


def _utc(value: datetime | None) -> datetime | None:
    # SQLite hands back naive UTC; PostgreSQL an aware time.
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


async def _seed(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                _integration.insert(),
                [
                    {
                        "id": "intg_z",
                        "provider": "zadarma",
                        "name": "z",
                        "config": {},
                        "created_at": T0,
                    }
                ],
            )
            await connection.execute(
                _lead.insert(),
                [
                    {"id": lead, "status": "active", "created_at": T0, "updated_at": T0}
                    for lead in ("lead_1", "lead_2")
                ],
            )
            calls = [
                # Zadarma-shaped: answered, tagged, its application dated when it was tagged.
                _call_row("call_tagged", outcome="application"),
                # No end, not tagged: only the end is filled.
                _call_row("call_plain", status="no_answer", duration_seconds=0),
                # An end already stored stays as it is.
                _call_row("call_ended", ended_at=T0 + timedelta(minutes=5)),
                # Still going on: no end to derive.
                _call_row("call_live", status="in_progress", duration_seconds=None),
                # A hand-made application citing a call the tag did not form (no such outcome).
                _call_row("call_cited", started_at=T0 + timedelta(hours=1), lead_id="lead_2"),
            ]
            calls += [
                _call_row(f"call_bulk_{n:04d}", started_at=T0 + timedelta(minutes=n))
                for n in range(1200)  # more than one batch
            ]
            await connection.execute(_call.insert(), calls)
            await connection.execute(
                _application.insert(),
                [
                    {
                        "id": "app_tagged",
                        "lead_id": "lead_1",
                        "source_call_id": "call_tagged",
                        "created_at": TAGGED_AT,
                        "status": "open",
                    },
                    {
                        "id": "app_cited",
                        "lead_id": "lead_2",
                        "source_call_id": "call_cited",
                        "created_at": TAGGED_AT,
                        "status": "open",
                    },
                ],
            )
    finally:
        await engine.dispose()


async def _read(url: str) -> tuple[dict[str, datetime | None], dict[str, datetime | None]]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            calls = await connection.execute(sa.select(_call.c.id, _call.c.ended_at))
            apps = await connection.execute(sa.select(_application.c.id, _application.c.created_at))
            return (
                {row.id: _utc(row.ended_at) for row in calls},
                {row.id: _utc(row.created_at) for row in apps},
            )
    finally:
        await engine.dispose()


def test_migration_fills_ends_and_redates_tag_formed_applications(database_url: str) -> None:
    migrations.downgrade(database_url, BEFORE)
    try:
        asyncio.run(_seed(database_url))
        migrations.upgrade(database_url, REPAIR)
        ends, applications = asyncio.run(_read(database_url))
    finally:
        migrations.upgrade(database_url)

    assert ends["call_tagged"] == T0 + timedelta(seconds=95)
    assert ends["call_plain"] == T0
    assert ends["call_ended"] == T0 + timedelta(minutes=5)
    assert ends["call_live"] is None
    assert ends["call_bulk_1199"] == T0 + timedelta(minutes=1199, seconds=95)
    assert sum(1 for key, end in ends.items() if key.startswith("call_bulk") and end) == 1200
    # The application the tag formed now dates from the call's end, as if formed then.
    assert applications["app_tagged"] == T0 + timedelta(seconds=95)
    # One entered by hand (the call carries no application tag) keeps the date it was given.
    assert applications["app_cited"] == TAGGED_AT
