"""Test fixtures: a migrated database per test (SQLite always, PostgreSQL when configured).

The schema always comes from ``alembic upgrade head``. SQLite tests copy a migrated template file;
PostgreSQL tests share one migrated database and empty every table after each test, which also
isolates tests that commit on their own (webhooks do).
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app import migrations
from app.auth.roles import Role
from app.config import Settings
from app.db import Database
from app.main import create_app
from app.models import Base
from tests.factories import bearer, make_key, settings_for

POSTGRES_URL = os.environ.get("CALLFUNNEL_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrations.upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> str:
    if not POSTGRES_URL:
        pytest.skip("CALLFUNNEL_TEST_POSTGRES_URL is not set")
    migrations.downgrade(POSTGRES_URL, "base")
    migrations.upgrade(POSTGRES_URL)
    return POSTGRES_URL


async def _truncate_all(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        await engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    url: str = request.getfixturevalue("postgres_url")
    yield url
    asyncio.run(_truncate_all(url))


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return settings_for(database_url, tmp_path)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[object]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def database(app: object) -> Database:
    db: Database = app.state.database  # type: ignore[attr-defined]
    return db


@pytest.fixture
async def client(app: object) -> AsyncIterator[AsyncClient]:
    transport = ASGITransport(app=app)  # type: ignore[arg-type]
    async with AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def admin(database: Database) -> dict[str, str]:
    return bearer(await make_key(database, Role.ADMIN))


@pytest.fixture
async def head(database: Database) -> dict[str, str]:
    return bearer(await make_key(database, Role.HEAD))
