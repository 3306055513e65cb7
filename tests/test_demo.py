"""The demo history: delivered through the real endpoints, deterministic, and worth looking at."""

from __future__ import annotations

from datetime import UTC, datetime

from httpx import ASGITransport, AsyncClient

from app.demo import DemoBuilder


async def test_small_demo_gives_a_real_funnel(app: object, admin: dict[str, str]) -> None:
    today = datetime(2026, 11, 23, 9, tzinfo=UTC)
    steps: list[tuple[str, int, int]] = []
    transport = ASGITransport(app=app)  # type: ignore[arg-type]
    async with AsyncClient(transport=transport, base_url="http://demo", headers=admin) as http:
        builder = DemoBuilder(
            http,
            seed=1,
            weeks=2,
            leads=300,
            dials_per_day=6,
            today=today,
            progress=lambda step, done, total: steps.append((step, done, total)),
        )
        summary = await builder.build()
        assert summary.leads == 300
        assert summary.calls == 2 * 5 * 4 * 6  # two weeks of workdays, four managers
        assert summary.requests > summary.calls
        assert (summary.first_day, summary.end_day) == ("2026-11-09", "2026-11-23")
        assert steps[-1] == ("calls", 10, 10)

        calls = (await http.get("/api/v1/calls", params={"limit": 500})).json()["items"]
        assert len(calls) == summary.calls
        assert {call["integration_id"] for call in calls}.__len__() == 3
        funnel = (
            await http.get(
                "/api/v1/metrics/funnel",
                params={"from": summary.first_day, "to": summary.end_day, "group_by": "employee"},
            )
        ).json()
        total = funnel["total"]
        assert total["dials"] == summary.calls
        stages = [stage["count"] for stage in total["stages"]]
        assert stages[0] > stages[1] > 0
        assert len(funnel["groups"]) == 4
        tagged = [call for call in calls if call["outcome"]]
        assert tagged
        assert all(call["script_id"] for call in tagged)
