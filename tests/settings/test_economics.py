from __future__ import annotations

import copy
from typing import Any

import pytest
from httpx import AsyncClient

from app.settings.quality import QualitySettings
from tests.callbacks.example import DATASET as CALLBACKS_EXAMPLE
from tests.metrics.worked_example import DATASET

# The worked example's settings (docs/metrics.md) are the defaults of a fresh install, with the
# callbacks example's block (docs/callbacks.md: the spec's defaults) and the quality block's.
DEFAULTS: dict[str, Any] = {
    **DATASET["settings"],
    "callbacks": CALLBACKS_EXAMPLE["settings"]["callbacks"],
    "quality": QualitySettings().model_dump(mode="json"),
}


async def test_defaults(client: AsyncClient, head: dict[str, str]) -> None:
    response = await client.get("/api/v1/settings/economics", headers=head)
    assert response.status_code == 200
    assert response.json() == DEFAULTS


async def test_admin_puts_and_everyone_reads(
    client: AsyncClient, admin: dict[str, str], head: dict[str, str]
) -> None:
    wanted = copy.deepcopy(DEFAULTS)
    wanted["telephony_cost_per_minute"] = "1.5"
    wanted["thresholds"]["reached_s"] = 5
    wanted["timezone"] = "Asia/Yekaterinburg"
    put = await client.put("/api/v1/settings/economics", json=wanted, headers=admin)
    assert put.status_code == 200
    assert put.json()["telephony_cost_per_minute"] == "1.50"
    read = await client.get("/api/v1/settings/economics", headers=head)
    assert read.json() == put.json()
    assert read.json()["thresholds"]["reached_s"] == 5
    assert read.json()["timezone"] == "Asia/Yekaterinburg"

    forbidden = await client.put("/api/v1/settings/economics", json=wanted, headers=head)
    assert forbidden.status_code == 403


def _with(path: tuple[str, ...], value: object) -> dict[str, Any]:
    body = copy.deepcopy(DEFAULTS)
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return body


@pytest.mark.parametrize(
    ("path", "value", "loc"),
    [
        (("telephony_cost_per_minute",), "-1.00", ["body", "telephony_cost_per_minute"]),
        (("labor_cost_per_hour",), "abc", ["body", "labor_cost_per_hour"]),
        (("labor_cost_per_hour",), "1.005", ["body", "labor_cost_per_hour"]),
        (("default_margin_rate",), "1.2", ["body", "default_margin_rate"]),
        (("forecast", "prior_win_rate"), "-0.1", ["body", "forecast", "prior_win_rate"]),
        (("wrapup_seconds",), -1, ["body", "wrapup_seconds"]),
        (("thresholds", "conversation_s"), 5, ["body", "thresholds"]),
        (("thresholds", "second_call_s"), 30, ["body", "thresholds"]),
        (("timezone",), "Mars/Olympus", ["body", "timezone"]),
        (("currency",), "rub", ["body", "currency"]),
    ],
)
async def test_invalid_settings_are_refused(
    client: AsyncClient,
    admin: dict[str, str],
    path: tuple[str, ...],
    value: object,
    loc: list[str],
) -> None:
    response = await client.put(
        "/api/v1/settings/economics", json=_with(path, value), headers=admin
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert loc in [err["loc"] for err in response.json()["errors"]]
    unchanged = await client.get("/api/v1/settings/economics", headers=admin)
    assert unchanged.json() == DEFAULTS
