"""The figures table and the typed answers: OpenAPI documents every field the API returns."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from httpx import AsyncClient

from app.db import Database
from app.metrics.figures import (
    CALL_FIGURES,
    ECONOMICS_FIGURES,
    FIGURES,
    FORECAST_FIGURES,
    STAGE_NAMES,
    STAGES,
    RollUp,
    compute,
)
from app.metrics.schemas import Economics, FigureModel
from app.reports.i18n import label
from tests.metrics.loading import load_dataset
from tests.metrics.worked_example import CASES, DATASET

Schema = dict[str, Any]
GROUPINGS = (None, "employee", "campaign", "script", "week")


def _resolve(spec: Schema, schema: Schema) -> Schema:
    while "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        schema = spec["components"]["schemas"][name]
    return schema


def _matches(value: Any, schema: Schema) -> bool:
    kind = schema.get("type")
    if value is None:
        return kind == "null"
    return {
        "object": isinstance(value, dict),
        "array": isinstance(value, list),
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
    }.get(kind, "$ref" in schema and isinstance(value, dict))


def assert_documented(
    spec: Schema,
    value: Any,
    schema: Schema,
    path: str = "$",
    *,
    described: bool = True,
    maps: bool = False,
) -> int:
    """Walk ``value`` along ``schema``: every key the answer has is a declared property (no
    catch-all ``additionalProperties``), every required one is there, every scalar has the
    declared type (and pattern or enum); ``described``: every property says what it is;
    ``maps``: an object may be a map whose values have a declared schema (keys that are data,
    like score bands), never an untyped one.
    Returns the number of values checked, so a caller can tell the walk went deep."""
    schema = _resolve(spec, schema)
    if "anyOf" in schema:
        branches = [_resolve(spec, branch) for branch in schema["anyOf"]]
        fitting = [branch for branch in branches if _matches(value, branch)]
        assert fitting, f"{path}: {value!r} fits none of {schema['anyOf']}"
        return assert_documented(spec, value, fitting[0], path, described=described, maps=maps)
    assert _matches(value, schema), f"{path}: {value!r} is not a {schema.get('type')}"
    checked = 1
    if isinstance(value, dict):
        properties: Schema = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        if maps and isinstance(extra, dict) and extra.get("type") and not properties:
            return 1 + sum(
                assert_documented(spec, item, extra, f"{path}.{key}", described=False, maps=True)
                for key, item in value.items()
            )
        assert extra in (None, False), f"{path}: a catch-all additionalProperties {extra!r}"
        assert set(schema.get("required", ())) <= set(value), f"{path}: a required key is missing"
        for key, item in value.items():
            assert key in properties, f"{path}.{key} is not documented"
            if described:
                # On the property, or on the model it refers to (its docstring).
                said = properties[key].get("description")
                said = said or _resolve(spec, properties[key]).get("description")
                assert said, f"{path}.{key} has no description"
            checked += assert_documented(
                spec, item, properties[key], f"{path}.{key}", described=described, maps=maps
            )
    elif isinstance(value, list):
        fixed = schema.get("prefixItems")
        for index, item in enumerate(value):
            item_schema = fixed[index] if fixed else schema["items"]
            checked += assert_documented(
                spec, item, item_schema, f"{path}[{index}]", described=described, maps=maps
            )
    elif isinstance(value, str):
        if "enum" in schema:
            assert value in schema["enum"], f"{path}: {value!r} not in {schema['enum']}"
        if "pattern" in schema:
            assert re.search(schema["pattern"], value), f"{path}: {value!r} !~ {schema['pattern']}"
    return checked


def _response_schema(spec: Schema, path: str) -> Schema:
    responses = spec["paths"][path]["get"]["responses"]
    schema: Schema = responses["200"]["content"]["application/json"]["schema"]
    return schema


@pytest.fixture
async def worked(database: Database) -> None:
    await load_dataset(database, DATASET)


@pytest.fixture
async def spec(client: AsyncClient) -> Schema:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    body: Schema = response.json()
    return body


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['query']['mode']}-{c['query']['as_of']}")
async def test_openapi_documents_every_field_of_the_funnel_answer(
    client: AsyncClient, head: dict[str, str], worked: None, spec: Schema, case: dict[str, Any]
) -> None:
    schema = _response_schema(spec, "/api/v1/metrics/funnel")
    for group_by in GROUPINGS:
        params = dict(case["query"], **({"group_by": group_by} if group_by else {}))
        response = await client.get("/api/v1/metrics/funnel", params=params, headers=head)
        assert response.status_code == 200, response.text
        body = response.json()
        checked = assert_documented(spec, body, schema)
        # Every figure of the table was met (and more: stages, groups…).
        assert checked > len(FIGURES)
        if case["query"]["mode"] == "cohort":
            assert body["total"]["economics"]["forecast"] is not None


async def test_openapi_documents_every_field_of_the_call_statistics(
    client: AsyncClient, head: dict[str, str], worked: None, spec: Schema
) -> None:
    schema = _response_schema(spec, "/api/v1/metrics/calls")
    for group_by in ("employee", "day", "hour", "weekday", "weekday_hour", None):
        params = {"from": "2026-11-16", "to": "2026-11-23"}
        if group_by:
            params["group_by"] = group_by
        response = await client.get("/api/v1/metrics/calls", params=params, headers=head)
        assert response.status_code == 200, response.text
        assert assert_documented(spec, response.json(), schema) > len(CALL_FIGURES)


async def test_openapi_documents_every_field_of_the_weekly_report(
    client: AsyncClient, head: dict[str, str], worked: None, spec: Schema
) -> None:
    schema = _response_schema(spec, "/api/v1/reports/weekly")
    for as_of in ("2026-11-22T21:00:00Z", "2026-12-31T21:00:00Z"):
        params = {"week": "2026-W47", "as_of": as_of}
        response = await client.get("/api/v1/reports/weekly", params=params, headers=head)
        assert response.status_code == 200, response.text
        # The report's own sections may hold typed maps (score bands by name); nothing untyped.
        body = response.json()
        assert assert_documented(spec, body, schema, described=False, maps=True) > 100


def test_the_walk_catches_an_undocumented_key() -> None:
    spec: Schema = {"components": {"schemas": {}}}
    schema = {"type": "object", "properties": {"a": {"type": "integer", "description": "A."}}}
    assert_documented(spec, {"a": 1}, schema)
    with pytest.raises(AssertionError, match="b is not documented"):
        assert_documented(spec, {"a": 1, "b": 2}, schema)
    with pytest.raises(AssertionError, match="catch-all"):
        assert_documented(spec, {"a": 1}, {**schema, "additionalProperties": True})
    with pytest.raises(AssertionError, match="not a integer"):
        assert_documented(spec, {"a": "1"}, schema)
    bands = {"type": "object", "additionalProperties": {"type": "integer"}}
    assert assert_documented(spec, {"good": 3, "poor": 1}, bands, maps=True) == 3
    with pytest.raises(AssertionError, match="not a integer"):
        assert_documented(spec, {"good": "3"}, bands, maps=True)
    with pytest.raises(AssertionError, match="catch-all"):
        assert_documented(spec, {"good": 3}, bands)  # the funnel and calls allow no map
    untyped = {"type": "object", "additionalProperties": True}
    with pytest.raises(AssertionError, match="catch-all"):
        assert_documented(spec, {"good": 3}, untyped, maps=True)


# --------------------------------------------------------------------------- the table


def test_every_figure_has_both_labels_a_kind_and_a_description() -> None:
    for key, row in FIGURES.items():
        assert row.key == key
        assert row.en, key
        assert row.ru, key
        assert row.description, key
        assert row.kind in ("count", "ratio", "number", "money", "seconds")
        # The report speaks of a figure in the words of the table.
        assert (label(key, "en"), label(key, "ru")) == (row.en, row.ru)


def test_stage_names_are_the_table_s() -> None:
    assert tuple(stage.key for stage in STAGES) == STAGE_NAMES
    assert [stage.number for stage in STAGES] == [1, 2, 3, 4, 5]
    expected = CASES[0]["result"]
    assert [stage["name"] for stage in expected["stages"]] == list(STAGE_NAMES)


def test_economics_are_the_table_s_formulas() -> None:
    """Each economics field is its row's formula over the roll-up (docs/metrics.md → Money)."""
    roll_up = RollUp(
        dials=12,
        leads_dialed=5,
        talk_seconds=1018,
        stage_counts=(4, 3, 2, 2, 1),
        cost=Decimal("289.67"),
        applications=2,
        contracts=1,
        revenue=Decimal("100000"),
        margin=Decimal("25000"),
    )
    values = compute(ECONOMICS_FIGURES, roll_up)
    economics = Economics.model_validate({**values, "forecast": None})
    profit = Decimal("25000") - Decimal("289.67")
    assert economics.profit_per_call == profit / 12
    assert economics.profit_per_application == profit / 2
    assert economics.roi == profit / Decimal("289.67")
    assert economics.dials_per_application == 6.0
    assert economics.break_even_cost_per_dial == Decimal("25000") / 12
    assert economics.model_dump(mode="json")["profit_per_call"] == "2059.19"
    # Zero denominators are undefined, not zero.
    empty = RollUp(0, 0, 0, (0,) * 5, Decimal(0), 0, 0, Decimal(0), Decimal(0))
    assert compute(ECONOMICS_FIGURES, empty)["cost_per_dial"] is None
    assert compute(ECONOMICS_FIGURES, empty)["roi"] is None
    assert compute(FORECAST_FIGURES, empty)["expected_profit_per_call"] is None


def test_a_row_without_its_field_or_a_field_without_its_row_is_refused() -> None:
    with pytest.raises(TypeError, match="add the field"):

        class MissingOne(FigureModel):
            __figures__ = ECONOMICS_FIGURES[:2]

            cost: Decimal

    with pytest.raises(TypeError, match="add the field"):

        class OutOfOrder(FigureModel):
            __figures__ = ECONOMICS_FIGURES[:2]

            cost_per_dial: Decimal | None
            cost: Decimal

    with pytest.raises(TypeError, match="add the field"):

        class NotItsRow(FigureModel):
            __figures__ = ECONOMICS_FIGURES[:1]

            cost: Decimal
            roi: Decimal | None  # a figure of the table, but not among this model's rows

    class Fine(FigureModel):
        __figures__ = ECONOMICS_FIGURES[:1]

        week: str  # not a figure: free to be there
        cost: Decimal

    assert list(Fine.model_fields) == ["week", "cost"]
