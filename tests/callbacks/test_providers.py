"""One missed-call history, delivered through each provider's real webhooks, gives the same cases.

Each provider's copy of the history goes to a lead of its own (its own phone number) in one
database; the cases are then read through ``GET /api/v1/callbacks`` and compared field by field,
relative to nothing: the history's times are the same for every provider. The one difference is
the spec's own: Zadarma reports no ring time (an unanswered call's duration is 0), so its short
abandon is a missed call, and only there.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from httpx import AsyncClient

from app.calls.events import CallStatus, Direction
from app.webhooks.providers import get_adapter
from app.webhooks.providers.simulation import CallSpec
from app.webhooks.traffic import EXAMPLE_CONFIGS, deliveries
from tests.factories import create_employee, create_integration, create_lead

PROVIDERS = ("generic", "mango", "twilio", "zadarma")
# Tuesday 2026-11-17, 11:00 in Moscow.
T0 = datetime(2026, 11, 17, 8, tzinfo=UTC)
AS_OF = "2026-11-24T12:00:00Z"
COMPARED = (
    "opened_at",
    "missed_calls",
    "first_attempt_at",
    "contact_at",
    "status",
    "resolution",
    "owner_id",
    "sla",
    "sla_deadline",
    "hot",
    "out_of_hours",
)

# (minutes after T0, direction, extension, ring seconds, talk seconds)
HISTORY = (
    (0, Direction.INBOUND, "101", 20, 0),  # missed: case A
    (10, Direction.OUTBOUND, "102", 6, 45),  # called back and reached: A contacted, SLA met
    (180, Direction.INBOUND, "101", 30, 0),  # missed: case B
    (200, Direction.INBOUND, "101", 25, 0),  # missed again: joins B
    (240, Direction.OUTBOUND, "102", 25, 0),  # an attempt that reaches nobody, SLA breached
    (250, Direction.INBOUND, "101", 3, 90),  # the client calls again and gets through
    (1380, Direction.INBOUND, "101", 3, 0),  # a short abandon (not for Zadarma: see above)
    (1440, Direction.INBOUND, "101", 15, 0),  # missed: case C, never called back: lost
)


def _specs(phone: str, tag: str) -> list[CallSpec]:
    specs = []
    for n, (minutes, direction, extension, ring, talk) in enumerate(HISTORY):
        start = T0 + timedelta(minutes=minutes)
        answered_at = start + timedelta(seconds=ring) if talk else None
        specs.append(
            CallSpec(
                call_id=f"{tag}-cb-{n}",
                direction=direction,
                extension=extension,
                external_number=phone,
                started_at=start,
                answered_at=answered_at,
                ended_at=start + timedelta(seconds=ring + talk),
                status=CallStatus.ANSWERED if talk else CallStatus.NO_ANSWER,
            )
        )
    return specs


async def _deliver(client: AsyncClient, admin: dict[str, str], provider: str, phone: str) -> None:
    config = dict(EXAMPLE_CONFIGS[provider])
    integration = await create_integration(client, admin, provider=provider, config=config)
    parsed = get_adapter(provider).config_model.model_validate(config)
    for delivery in deliveries(provider, integration["id"], parsed, _specs(phone, provider)):
        response = await client.request(
            delivery.method, delivery.path, content=delivery.body, headers=delivery.headers
        )
        assert response.status_code == 200, (provider, response.text)


async def test_every_provider_gives_the_same_cases(
    client: AsyncClient, admin: dict[str, str]
) -> None:
    anna = await create_employee(client, admin, "Anna", "101")
    boris = await create_employee(client, admin, "Boris", "102")
    phones = {provider: f"+7900111000{n}" for n, provider in enumerate(PROVIDERS)}
    leads = {}
    for provider, phone in phones.items():
        leads[(await create_lead(client, admin, company=provider, phones=[phone]))["id"]] = provider
        await _deliver(client, admin, provider, phone)
    response = await client.get(
        "/api/v1/callbacks", params={"from": "2026-11-16", "as_of": AS_OF}, headers=admin
    )
    assert response.status_code == 200, response.text
    by_provider: dict[str, list[dict[str, Any]]] = {provider: [] for provider in PROVIDERS}
    for item in sorted(response.json()["items"], key=lambda item: item["opened_at"]):
        by_provider[leads[item["lead_id"]]].append({key: item[key] for key in COMPARED})
    generic = by_provider["generic"]
    # The story, told once: three cases; the lead has no owner, so Boris (its first dialler)
    # owns them.
    assert [(c["status"], c["resolution"], c["sla"], c["missed_calls"]) for c in generic] == [
        ("contacted", "callback", "met", 1),
        ("contacted", "client", "breached", 2),
        ("lost", None, "breached", 1),
    ]
    assert {c["owner_id"] for c in generic} == {boris["id"]}
    assert anna["id"] != boris["id"]
    assert generic[1]["first_attempt_at"] == "2026-11-17T12:00:00Z"
    for provider in ("mango", "twilio"):
        assert by_provider[provider] == generic, provider
    # Zadarma: the same first two cases; its "short abandon" is a missed call, and as it comes
    # an hour before case C's missed call, it opens C itself, which the later call then joins.
    zadarma = by_provider["zadarma"]
    assert zadarma[:2] == generic[:2]
    assert zadarma[2]["opened_at"] == "2026-11-18T07:00:00Z"
    assert zadarma[2]["missed_calls"] == 2
    moved = ("opened_at", "missed_calls", "sla_deadline")
    assert {k: v for k, v in zadarma[2].items() if k not in moved} == {
        k: v for k, v in generic[2].items() if k not in moved
    }
    metrics = await client.get(
        "/api/v1/metrics/callbacks",
        params={"from": "2026-11-16", "to": "2026-11-23", "as_of": AS_OF},
        headers=admin,
    )
    total = metrics.json()["total"]
    assert total["cases"] == 12
    assert total["short_abandoned"] == 3  # generic, Mango, Twilio
    assert total["missed_calls"] == 4 * 4 + 1
