"""The Overview's figures are the API's for the same query, for every role."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from httpx import AsyncClient

from app.auth.roles import Role
from app.db import Database
from tests.dashboard.pages import figures_of, signed_in
from tests.factories import bearer, make_key
from tests.metrics.loading import load_dataset
from tests.metrics.worked_example import DATASET

CUSTOM = {"period": "custom", "from": "2026-11-16", "until": "2026-11-22"}
API_QUERY = {"from": "2026-11-16", "to": "2026-11-23"}
MONEY = (
    "cost_per_dial",
    "profit_per_call",
    "profit_per_application",
    "break_even_cost_per_dial",
)
EXPECTED = ("expected_profit_per_call", "expected_profit_per_application")


def _same(page: str, api: Any, *, money: bool = False) -> bool:
    if api is None:
        return page == ""
    if money:
        return Decimal(page).quantize(Decimal("0.01")) == Decimal(api)
    return float(page) == float(api)


@pytest.mark.parametrize("mode", ["cohort", "activity"])
@pytest.mark.parametrize(
    ("role", "employee"), [(Role.ADMIN, None), (Role.HEAD, None), (Role.MANAGER, "e1")]
)
async def test_overview_figures_are_the_apis(
    client: AsyncClient, database: Database, mode: str, role: Role, employee: str | None
) -> None:
    await load_dataset(database, DATASET)
    key = await make_key(database, role, employee)
    api = (
        await client.get(
            "/api/v1/metrics/funnel", params={**API_QUERY, "mode": mode}, headers=bearer(key)
        )
    ).json()["total"]
    await signed_in(client, key)
    page = await client.get("/", params={**CUSTOM, "mode": mode})
    assert page.status_code == 200, page.text
    figures = figures_of(page)
    assert figures["dials"] == str(api["dials"])
    assert figures["leads_dialed"] == str(api["leads_dialed"])
    for stage in api["stages"]:
        assert figures[stage["name"]] == str(stage["count"])
        assert _same(figures[f"{stage['name']}.conversion"], stage["conversion"]), stage
    economics = api["economics"]
    for name in MONEY:
        assert _same(figures[name], economics[name], money=True), name
    assert _same(figures["roi"], economics["roi"])
    forecast = economics["forecast"] or {}
    for name in EXPECTED:
        assert _same(figures[name], forecast.get(name), money=True), name
    callbacks = (
        await client.get("/api/v1/metrics/callbacks", params=API_QUERY, headers=bearer(key))
    ).json()["total"]
    for name in ("missed_calls", "cases", "pending", "sla_breached", "hot_lost"):
        assert figures[f"callbacks.{name}"] == str(callbacks[name])
    # The example has dials that week: the comparison above is not of empty pages.
    assert api["dials"] > 0


async def test_period_choices(client: AsyncClient, database: Database) -> None:
    await signed_in(client, await make_key(database, Role.HEAD))
    for period in ("this_week", "last_week", "this_month"):
        assert (await client.get("/", params={"period": period})).status_code == 200
    missing = await client.get("/", params={"period": "custom", "from": "2026-11-16"})
    assert missing.status_code == 422
    backwards = await client.get("/", params={**CUSTOM, "until": "2026-11-01"})
    assert backwards.status_code == 422
    assert (await client.get("/", params={"mode": "nonsense"})).status_code == 422
