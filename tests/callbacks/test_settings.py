"""The ``callbacks`` block of the economics settings: defaults, a round trip, clear 422s."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient

from tests.callbacks.example import DATASET

# The example's block is the spec's defaults.
DEFAULT_BLOCK: dict[str, Any] = DATASET["settings"]["callbacks"]


async def _economics(client: AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.get("/api/v1/settings/economics", headers=headers)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def test_defaults(client: AsyncClient, head: dict[str, str]) -> None:
    assert (await _economics(client, head))["callbacks"] == DEFAULT_BLOCK


async def test_round_trip_changes_the_figures(
    client: AsyncClient, admin: dict[str, str], head: dict[str, str]
) -> None:
    body = await _economics(client, admin)
    body["callbacks"] = {
        "sla_minutes": 5,
        "window_hours": 24,
        "short_abandon_seconds": 0,
        "working_hours": {"mon": ["08:30", "24:00"], "sat": ["10:00", "14:00"]},
        "business_hours_clock": False,
    }
    put = await client.put("/api/v1/settings/economics", json=body, headers=admin)
    assert put.status_code == 200, put.text
    stored = (await _economics(client, head))["callbacks"]
    # Days not given keep their defaults.
    assert stored["working_hours"] == {
        **DEFAULT_BLOCK["working_hours"],
        "mon": ["08:30", "24:00"],
        "sat": ["10:00", "14:00"],
    }
    assert stored["sla_minutes"] == 5
    metrics = await client.get(
        "/api/v1/metrics/callbacks",
        params={"from": "2026-11-16", "to": "2026-11-23"},
        headers=head,
    )
    assert metrics.json()["settings"] == stored


@pytest.mark.parametrize(
    ("block", "loc", "words"),
    [
        ({"working_hours": {"mon": ["9:00", "18:00"]}}, ["working_hours", "mon"], "HH:MM"),
        ({"working_hours": {"mon": ["09:00", "25:00"]}}, ["working_hours", "mon"], "HH:MM"),
        ({"working_hours": {"mon": ["09:60", "18:00"]}}, ["working_hours", "mon"], "HH:MM"),
        ({"working_hours": {"tue": ["18:00", "09:00"]}}, ["working_hours", "tue"], "before"),
        ({"working_hours": {"tue": ["09:00", "09:00"]}}, ["working_hours", "tue"], "before"),
        ({"working_hours": {"wed": ["24:00", "24:00"]}}, ["working_hours", "wed"], "24:00"),
        ({"working_hours": {"thu": ["09:00"]}}, ["working_hours", "thu"], ""),
        ({"working_hours": {"fri": "09:00-18:00"}}, ["working_hours", "fri"], ""),
        ({"working_hours": {"monday": ["09:00", "18:00"]}}, ["working_hours", "monday"], ""),
        ({"sla_minutes": 0}, ["sla_minutes"], ""),
        ({"window_hours": -1}, ["window_hours"], ""),
        ({"short_abandon_seconds": "five"}, ["short_abandon_seconds"], ""),
        ({"business_hours_clock": "sometimes"}, ["business_hours_clock"], ""),
        ({"sla": 15}, ["sla"], ""),
    ],
)
async def test_bad_blocks_are_refused_clearly(
    client: AsyncClient,
    admin: dict[str, str],
    block: dict[str, Any],
    loc: list[str],
    words: str,
) -> None:
    before = await _economics(client, admin)
    body = {**before, "callbacks": block}
    response = await client.put("/api/v1/settings/economics", json=body, headers=admin)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    matching = [
        error
        for error in problem["errors"]
        if [str(part) for part in error["loc"]][: 2 + len(loc)] == ["body", "callbacks", *loc]
    ]
    assert matching, problem["errors"]
    assert any(words in error["msg"] for error in matching), matching
    # Nothing was written.
    assert await _economics(client, admin) == before
