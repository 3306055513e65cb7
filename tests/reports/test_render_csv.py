"""The csv: the per-manager table with its totals row, numbers as plain numbers."""

from __future__ import annotations

import csv
import io

import pandas as pd
from httpx import AsyncClient

from tests.reports.fetch import AS_OF, WEEK, report, report_file


async def test_a_spreadsheet_reads_numbers(
    client: AsyncClient, head: dict[str, str], worked: None
) -> None:
    body = (await report_file(client, head, week=WEEK, format="csv", as_of=AS_OF[1])).content
    assert body.startswith(b"\xef\xbb\xbf")  # a BOM, for Excel
    frame = pd.read_csv(io.BytesIO(body), encoding="utf-8-sig")
    assert list(frame.columns) == [
        "manager",
        "leads_dials",
        "leads_dialed",
        "leads_reached",
        "leads_conversation",
        "leads_second_call",
        "leads_application",
        "leads_contract",
        "leads_cost",
        "leads_profit_per_call",
        "calls_made",
        "calls_answered",
        "calls_answer_rate",
        "calls_talk_seconds",
        "callbacks_missed_calls",
        "callbacks_cases",
        "callbacks_called_back",
        "callbacks_contacted",
        "callbacks_lost",
        "callbacks_hot_lost",
        "callbacks_pending",
        "callbacks_within_sla_rate",
        "callbacks_first_attempt_median",
        "script_score",
        "scored_calls",
        "employee_id",
    ]
    types = frame.dtypes.to_dict()
    for column in ("leads_dials", "leads_reached", "leads_contract", "calls_talk_seconds"):
        assert types[column] == "int64", column
    for column in ("leads_cost", "leads_profit_per_call", "calls_answer_rate"):
        assert types[column] == "float64", column
    assert list(frame["manager"]) == ["Boris", "Anna", "Total"]
    people, total = frame.iloc[:-1], frame.iloc[-1]
    for column in ("leads_dials", "leads_dialed", "leads_application", "calls_made"):
        assert people[column].sum() == total[column]
    assert people["leads_cost"].sum() == total["leads_cost"] == 324.0
    json = await report(client, head, week=WEEK, as_of=AS_OF[1])
    assert total["calls_answer_rate"] == json["managers_total"]["calls"]["answer_rate"]


async def test_plain_csv_too(client: AsyncClient, head: dict[str, str], worked: None) -> None:
    body = await report_file(client, head, week=WEEK, format="csv", lang="ru", as_of=AS_OF[1])
    rows = list(csv.DictReader(io.StringIO(body.content.decode("utf-8-sig"))))
    assert [row["manager"] for row in rows] == ["Boris", "Anna", "Итого"]
    assert rows[-1]["employee_id"] == ""
    assert (rows[-1]["leads_cost"], rows[-1]["leads_profit_per_call"]) == ("324.00", "-24.92")
    assert float(rows[0]["calls_answer_rate"]) == 5 / 6


async def test_an_empty_week_has_only_its_totals(
    client: AsyncClient, head: dict[str, str], worked: None
) -> None:
    body = (await report_file(client, head, week="2026-W30", format="csv")).content
    frame = pd.read_csv(io.BytesIO(body), encoding="utf-8-sig")
    assert list(frame["manager"]) == ["Total"]
    assert frame["leads_dials"].iloc[0] == 0
    assert pd.isna(frame["leads_profit_per_call"].iloc[0])
