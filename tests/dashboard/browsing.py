"""A signed-in browser of the dashboard's pages, one per role, beside the test's API client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from httpx import ASGITransport, AsyncClient

from app.auth.roles import Role
from app.db import Database
from tests.dashboard.pages import signed_in
from tests.factories import make_key


@asynccontextmanager
async def browser(
    app: object, database: Database, role: Role, employee_id: str | None = None
) -> AsyncIterator[AsyncClient]:
    """A client signed in with a new key of ``role`` (a manager's acts as ``employee_id``)."""
    transport = ASGITransport(app=app)  # type: ignore[arg-type]
    async with AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield await signed_in(http, await make_key(database, role, employee_id))
