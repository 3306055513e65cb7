"""Status columns read as their enums and stored as the plain strings they always were."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.schema import CreateTable

from app.calls.models import Call
from app.columns import EnumText
from app.leads.models import Lead, LeadStatus
from app.models import Base

TYPED = [
    (table.name, column.name, column.type.enum, column.type.impl_instance.length)
    for table in Base.metadata.sorted_tables
    for column in table.columns
    if isinstance(column.type, EnumText)
]


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_url)
    yield engine
    await engine.dispose()


def test_the_status_columns_are_typed() -> None:
    typed = {(table, column) for table, column, _, _ in TYPED}
    assert {
        ("call", "direction"),
        ("call", "status"),
        ("call", "outcome"),
        ("lead", "status"),
        ("application", "status"),
        ("script", "kind"),
        ("recording", "status"),
        ("webhook_event", "status"),
        ("api_key", "role"),
    } <= typed


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()], ids=["sqlite", "pg"])
def test_the_schema_is_the_plain_varchar_it_was(dialect: object) -> None:
    ddl = str(CreateTable(Lead.__table__).compile(dialect=dialect))  # type: ignore[arg-type]
    assert "status VARCHAR(16) NOT NULL" in ddl
    assert "CHECK" not in ddl
    for _, _, enum, length in TYPED:
        # Every member fits the column it is stored in.
        assert max(len(member.value) for member in enum) <= length


async def test_members_and_strings_in_members_out(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            insert(Lead),
            [{"id": "lead_a", "status": LeadStatus.WON}, {"id": "lead_b", "status": "refused"}],
        )
        stored = (await connection.execute(text("SELECT status FROM lead ORDER BY id"))).scalars()
        assert [type(value) for value in stored] == [str, str]
        rows = (await connection.execute(select(Lead.id, Lead.status).order_by(Lead.id))).all()
        assert rows == [("lead_a", LeadStatus.WON), ("lead_b", LeadStatus.REFUSED)]
        assert all(type(status) is LeadStatus for _, status in rows)
        # A plain string literal compares through the same type.
        won = select(func.count()).select_from(Lead).where(Lead.status == "won")
        assert (await connection.execute(won)).scalar_one() == 1


async def test_an_expression_over_the_column_keeps_values_the_enum_does_not_name(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as connection:
        await connection.execute(insert(Lead), [{"id": "lead_a", "status": LeadStatus.ACTIVE}])
        query = (
            select(func.coalesce(Call.status, "none"))
            .select_from(Lead)
            .outerjoin(Call, Call.lead_id == Lead.id)
        )
        assert (await connection.execute(query)).scalars().all() == ["none"]
