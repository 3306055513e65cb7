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
        assert len(calls) == summary.calls + summary.inbound_calls + summary.callbacks
        assert {call["integration_id"] for call in calls}.__len__() == 3
        funnel = (
            await http.get(
                "/api/v1/metrics/funnel",
                params={"from": summary.first_day, "to": summary.end_day, "group_by": "employee"},
            )
        ).json()
        total = funnel["total"]
        # Every callback is a dial of the history too.
        assert total["dials"] == summary.calls + summary.callbacks
        stages = [stage["count"] for stage in total["stages"]]
        assert stages[0] > stages[1] > 0
        assert len(funnel["groups"]) == 4
        tagged = [call for call in calls if call["outcome"]]
        assert tagged
        assert all(call["script_id"] for call in tagged)

        # Missed calls were called back fast, slowly or never; a few are still waiting.
        assert summary.missed_calls > summary.callbacks > 0
        callbacks = (
            await http.get(
                "/api/v1/metrics/callbacks",
                params={
                    "from": summary.first_day,
                    "to": summary.end_day,
                    "as_of": today.isoformat(),
                },
            )
        ).json()["total"]
        assert callbacks["cases"] > 0
        assert callbacks["sla_met"] > 0
        assert callbacks["sla_breached"] > 0
        assert callbacks["lost"] > 0
        assert callbacks["contacted_by_callback"] > 0
        waiting = (
            await http.get(
                "/api/v1/callbacks", params={"status": "pending", "as_of": today.isoformat()}
            )
        ).json()["items"]
        assert waiting
        assert [case["opened_at"] for case in waiting] == sorted(c["opened_at"] for c in waiting)

        # A sales head scored a few calls per manager and week, with a spread of scores.
        assert summary.evaluations > 0
        quality = (
            await http.get(
                "/api/v1/metrics/script-quality",
                params={"from": summary.first_day, "to": summary.end_day, "group_by": "employee"},
            )
        ).json()
        assert quality["total"]["calls"] == summary.evaluations
        assert len(quality["groups"]) == 4
        scores = [group["score"] for group in quality["groups"]]
        assert max(scores) - min(scores) > 5
        assert sum(1 for count in quality["total"]["bands"].values() if count) >= 3
        evaluators = (await http.get("/api/v1/evaluations", params={"limit": 500})).json()
        assert {e["evaluator"] for e in evaluators["items"]} == {"Demo sales head"}
        assert any(
            c["passed"]["calls"] and c["failed"]["calls"] for c in quality["outcomes"]["criteria"]
        )
