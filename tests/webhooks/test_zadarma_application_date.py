"""Regression (issue 12): a Zadarma call ends, so the application its tag forms dates from then.

Zadarma's END event carries the start and the talk seconds, not the end. The call used to stay
without ``ended_at``, so tagging it ``application`` dated the application at the moment of tagging
(weeks late, in the report) and a contract entered with its true date was refused with 422.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from httpx import AsyncClient

from app.webhooks.traffic import EXAMPLE_CONFIGS
from tests.webhooks.delivery import deliver_call, spec

START = datetime(2026, 11, 16, 7, 0, tzinfo=UTC)
RING, TALK = 12, 240


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def test_a_tagged_zadarma_call_dates_its_application_at_the_call_end(
    client: AsyncClient, admin: dict[str, str]
) -> None:
    config = dict(EXAMPLE_CONFIGS["zadarma"])
    created = await client.post(
        "/api/v1/integrations",
        json={"provider": "zadarma", "name": "zadarma", "config": config},
        headers=admin,
    )
    integration = created.json()
    lead = await client.post(
        "/api/v1/leads", json={"company": "Acme", "phones": ["+79161234567"]}, headers=admin
    )
    lead_id = lead.json()["id"]

    await deliver_call(client, integration, config, spec("z1", start=START, ring=RING, talk=TALK))

    [call] = (
        await client.get(
            "/api/v1/calls", params={"integration_id": integration["id"]}, headers=admin
        )
    ).json()["items"]
    # Zadarma knows no ring time: its duration is the talk, and the end is start + duration.
    end = START + timedelta(seconds=TALK)
    assert (call["status"], call["lead_id"]) == ("answered", lead_id)
    assert (call["talk_seconds"], call["duration_seconds"]) == (TALK, TALK)
    assert call["ended_at"] == _iso(end)
    got = await client.get(f"/api/v1/calls/{call['id']}", headers=admin)
    assert got.json()["ended_at"] == _iso(end)

    tagged = await client.patch(
        f"/api/v1/calls/{call['id']}", json={"outcome": "application"}, headers=admin
    )
    assert tagged.status_code == 200, tagged.text
    [application] = (
        await client.get("/api/v1/applications", params={"lead_id": lead_id}, headers=admin)
    ).json()["items"]
    assert application["source_call_id"] == call["id"]
    assert application["created_at"] == _iso(end)  # not the moment of tagging

    # A contract signed an hour after the call is accepted (it was 422 before the fix).
    contract = await client.post(
        "/api/v1/contracts",
        json={
            "application_id": application["id"],
            "signed_at": _iso(end + timedelta(hours=1)),
            "amount": "50000.00",
        },
        headers=admin,
    )
    assert contract.status_code == 201, contract.text

    # And the funnel of the call's week holds the application and the contract.
    funnel = await client.get(
        "/api/v1/metrics/funnel",
        params={
            "from": "2026-11-16T00:00:00Z",
            "to": "2026-11-23T00:00:00Z",
            "mode": "activity",
            "as_of": "2026-11-23T00:00:00Z",
        },
        headers=admin,
    )
    assert funnel.status_code == 200, funnel.text
    stages = [stage["count"] for stage in funnel.json()["total"]["stages"]]
    assert stages == [1, 1, 1, 1, 1]
