"""The leads lists read the kept evidence (a lead's stage, whom it belongs to for a manager's
key): after any story of writes through the real endpoints, they answer as they do once the kept
rows are rebuilt from the calls — no write path left them stale."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings

from app.auth.roles import Role
from app.metrics.evidence import rebuild_evidence
from tests.conftest import _truncate_all
from tests.factories import bearer, make_key
from tests.metrics.exactness_ops import Operation, World, stories
from tests.metrics.test_evidence_exactness import Instance, instance

__all__ = ["instance"]  # the fixture, shared with the funnel's exactness test

EXAMPLES = int(os.environ.get("CALLFUNNEL_LEAD_STAGE_EXAMPLES", "4"))


async def _lists(world: World, keys: dict[str, dict[str, str]]) -> dict[str, Any]:
    """Per key: every readable lead with its stage, and the ids each stage filter lists."""
    answers: dict[str, Any] = {}
    for name, key in keys.items():
        for stage in (None, *range(6)):
            params: dict[str, Any] = {"limit": 500}
            if stage is not None:
                params["stage"] = stage
            response = await world.client.get("/api/v1/leads", params=params, headers=key)
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["next_cursor"] is None
            answers[f"{name} stage={stage}"] = [
                (lead["id"], lead["stage"]) for lead in body["items"]
            ]
    return answers


async def play(instance: Instance, story: list[Operation]) -> None:
    async with instance() as world:
        for operation in story:
            await world.apply(operation)
        keys = {"admin": world.admin}
        for employee in await world.employees():
            keys[employee["id"]] = bearer(
                await make_key(world.database, Role.MANAGER, employee["id"])
            )
        kept = await _lists(world, keys)
        async with world.database.unit_of_work() as session:
            await rebuild_evidence(session)
        rebuilt = await _lists(world, keys)
        assert kept == rebuilt, f"story = {story!r}\n\nwhat each step did:\n  " + "\n  ".join(
            world.log
        )


@pytest.fixture
def stories_instance(instance: Instance, request: pytest.FixtureRequest) -> Iterator[Instance]:
    """``instance``, the PostgreSQL test database emptied after the last example too (each
    example empties it before; the tests after this one expect it empty)."""
    yield instance
    if request.node.callspec.params["instance"] == "postgresql":
        asyncio.run(_truncate_all(str(request.getfixturevalue("postgres_url"))))


def test_the_leads_lists_answer_as_after_a_rebuild(stories_instance: Instance) -> None:
    @settings(settings.get_profile("exactness"), max_examples=EXAMPLES)
    @given(story=stories)
    def check(story: list[Operation]) -> None:
        asyncio.run(play(stories_instance, story))

    check()
