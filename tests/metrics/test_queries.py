"""The SQL classification against the plain-Python reading of the rules, on generated data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from app.db import Database
from app.metrics import queries
from app.metrics.funnel import FunnelQuery, GroupBy, Mode
from app.metrics.service import metrics_service
from app.models import Base
from app.settings.schemas import EconomicsSettings
from tests.metrics import reference
from tests.metrics.loading import load_dataset
from tests.metrics.worked_example import DATASET

ZONE_NAME = "Europe/Moscow"
START = datetime(2026, 11, 2, 21, 0, tzinfo=UTC)  # Monday 00:00 in Moscow
OUTCOMES = [
    None,
    None,
    None,
    *sorted(reference.STAGE2_TAGS | reference.NEGATIVE | reference.STAGE2_IF_LONG),
]


@st.composite
def datasets(draw: st.DrawFn) -> dict[str, Any]:
    employees = [
        {"id": f"e{n}", "name": f"E{n}", "extensions": [f"10{n}"], "hourly_cost": cost}
        for n, cost in enumerate(
            draw(st.lists(st.sampled_from([None, "450.00", "900.50"]), min_size=1, max_size=3))
        )
    ]
    ids = [e["id"] for e in employees]
    leads = [
        {
            "id": f"L{n}",
            "phones": [f"+7900000{n:04d}"],
            "owner_id": draw(st.sampled_from([None, None, *ids])),
            "campaign": draw(st.sampled_from([None, "pumps", "valves"])),
        }
        for n in range(draw(st.integers(1, 8)))
    ]
    calls = []
    for n in range(draw(st.integers(0, 40))):
        started = START + timedelta(seconds=draw(st.integers(0, 21 * 86_400)))
        answered = draw(st.booleans())
        talk = draw(st.integers(1, 400)) if answered else 0
        ring = draw(st.integers(0, 40))
        calls.append(
            {
                "id": f"c{n:03d}",
                "lead_id": draw(st.sampled_from([lead["id"] for lead in leads])),
                "employee_id": draw(st.sampled_from(ids)),
                "direction": draw(st.sampled_from(["outbound", "outbound", "outbound", "inbound"])),
                "started_at": started.isoformat(),
                "answered": answered,
                "talk_seconds": talk,
                "duration_seconds": ring + talk,
                "outcome": draw(st.sampled_from(OUTCOMES)),
                "script_id": None,
            }
        )
    return {
        "employees": employees,
        "leads": leads,
        "calls": calls,
        "applications": [],
        "contracts": [],
        "settings": DATASET["settings"],
    }


async def _reset(database: Database) -> None:
    async with database.sessions.begin() as session:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name != "api_key":
                await session.execute(delete(table))


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=datasets(),
    mode=st.sampled_from(["cohort", "activity"]),
    group_by=st.sampled_from([None, "employee", "campaign"]),
    days=st.integers(1, 14),
    offset=st.integers(0, 10),
    as_of_days=st.integers(3, 30),
)
async def test_sql_rows_match_the_reference(
    database: Database,
    data: dict[str, Any],
    mode: Mode,
    group_by: GroupBy | None,
    days: int,
    offset: int,
    as_of_days: int,
) -> None:
    await _reset(database)
    await load_dataset(database, data)
    economics = EconomicsSettings.model_validate(data["settings"])
    zone = ZoneInfo(ZONE_NAME)
    start = START + timedelta(days=offset)
    query = FunnelQuery(
        mode,
        start,
        start + timedelta(days=days),
        START + timedelta(days=as_of_days),
        zone,
        group_by,
    )
    async with database.unit_of_work(read_only=True) as session:
        facts = await queries.lead_facts(session, query, economics)
    got = sorted((metrics_service._row(f, group_by, ()) for f in facts), key=lambda r: r.lead_id)

    hourly = {e["id"]: reference.minor(e["hourly_cost"]) for e in data["employees"]}
    infos = {
        lead["id"]: reference.LeadInfo(owner_id=lead["owner_id"], campaign=lead["campaign"])
        for lead in data["leads"]
    }
    labels = {e["id"]: e["name"] for e in data["employees"]} | {
        "pumps": "pumps",
        "valves": "valves",
    }
    want = reference.lead_rows(
        reference.calls_from_dataset(data["calls"]),
        hourly,
        economics,
        query,
        leads=infos,
        labels=labels,
    )
    assert got == sorted(want, key=lambda r: r.lead_id)


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=datasets(),
    days=st.integers(1, 14),
    offsets=st.tuples(st.integers(0, 10), st.integers(0, 10)),
    as_of_days=st.integers(3, 30),
)
async def test_a_shared_evidence_pass_gives_each_activity_query_its_own_facts(
    database: Database,
    data: dict[str, Any],
    days: int,
    offsets: tuple[int, int],
    as_of_days: int,
) -> None:
    await _reset(database)
    await load_dataset(database, data)
    economics = EconomicsSettings.model_validate(data["settings"])
    as_of = START + timedelta(days=as_of_days)
    funnel_queries = [
        FunnelQuery(
            "activity",
            START + timedelta(days=offset),
            START + timedelta(days=offset + days),
            as_of,
            ZoneInfo(ZONE_NAME),
        )
        for offset in offsets
    ]
    async with database.unit_of_work(read_only=True) as session:
        shared = await queries.lead_facts_of(session, funnel_queries, economics)
        alone = [await queries.lead_facts(session, query, economics) for query in funnel_queries]
    by_lead = [sorted(facts, key=lambda fact: fact.lead_id) for facts in (*shared, *alone)]
    assert by_lead[:2] == by_lead[2:]
