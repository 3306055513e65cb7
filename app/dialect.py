"""The one place that knows SQLite and PostgreSQL spell "insert unless it exists" differently."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase


def upsert_insert(session: AsyncSession, model: type[DeclarativeBase]) -> Any:
    """An INSERT for ``model`` that supports ``on_conflict_do_nothing/update`` on both databases."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)
