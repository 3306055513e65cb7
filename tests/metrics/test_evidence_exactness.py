"""Exactness is the contract: the kept per-lead evidence answers every funnel as the raw calls do.

Hypothesis writes stories (``tests/metrics/exactness_ops.py``): PBX deliveries split, shuffled and
sent twice, CDR uploads, tags and scripts, applications, contracts, lead and employee merges,
owners, campaigns, deletions, spreadsheets and economics changes, all through the real endpoints,
with checks in between. After each story both paths answer a broad set of funnels (both modes,
every grouping, now and past ``as_of``, filters, a manager's view) and the weekly report; every
field must be equal, money as unrounded ``Decimal``.

Each example runs on a fresh, migrated database: a copy of the SQLite template, or the PostgreSQL
test database emptied. CI runs a fixed number of derandomised examples (the ``exactness`` profile);
``CALLFUNNEL_EXACTNESS_EXAMPLES`` asks for more and ``CALLFUNNEL_EXACTNESS_RANDOM=1`` for new ones.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest
from httpx import ASGITransport, AsyncClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.main import create_app
from tests.conftest import _truncate_all
from tests.factories import settings_for
from tests.metrics.exactness_ops import (
    SPAN_MINUTES,
    Operation,
    World,
    final_queries,
    stories,
)

EXAMPLES = int(os.environ.get("CALLFUNNEL_EXACTNESS_EXAMPLES", "15"))
settings.register_profile(
    "exactness",
    max_examples=EXAMPLES,
    derandomize=os.environ.get("CALLFUNNEL_EXACTNESS_RANDOM") != "1",
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# The middle week of the stories: its cohorts reach back past their start, its activity is busy.
WEEK = "2026-W46"

Instance = Callable[[], AbstractAsyncContextManager[World]]


@pytest.fixture(params=["sqlite", "postgresql"])
def instance(request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path) -> Instance:
    """A fresh instance per hypothesis example (function-scoped fixtures last a whole test)."""
    url = None if request.param == "sqlite" else str(request.getfixturevalue("postgres_url"))
    counter = itertools.count()

    @asynccontextmanager
    async def fresh() -> AsyncIterator[World]:
        folder = tmp_path / f"example{next(counter)}"
        folder.mkdir()
        if url is None:
            shutil.copy(sqlite_template, folder / "test.db")
        database_url = url or f"sqlite+aiosqlite:///{folder / 'test.db'}"
        application = create_app(settings_for(database_url, folder))
        try:
            async with application.router.lifespan_context(application):
                transport = ASGITransport(app=application)
                async with AsyncClient(transport=transport, base_url="http://testserver") as client:
                    yield await World.start(client, application.state.database)
        finally:
            # As the shared fixture does after each test: the next example (or test) starts empty.
            if url is not None:
                await _truncate_all(url)

    return fresh


async def play(instance: Instance, story: Sequence[Operation], as_of: int) -> None:
    async with instance() as world:
        for operation in story:
            await world.apply(operation)
        problems = world.problems + await world.compare(final_queries(as_of))
        # The report asks for several funnels at once; by now or by the past, in turn.
        problems += await world.compare_weekly(WEEK, None if as_of % 2 else as_of)
        assert not problems, (
            f"story = {list(story)!r}\nas_of = {as_of}\n\nwhat each step did:\n  "
            + "\n  ".join(world.log)
            + "\n\nkept vs raw:\n"
            + "\n".join(problems)
        )


def test_kept_evidence_answers_as_the_raw_calls(instance: Instance) -> None:
    @settings(settings.get_profile("exactness"))
    @given(
        story=stories,
        as_of=st.integers(min_value=0, max_value=SPAN_MINUTES),
    )
    def check(story: list[Operation], as_of: int) -> None:
        asyncio.run(play(instance, story, as_of))

    check()
