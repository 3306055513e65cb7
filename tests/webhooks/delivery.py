"""Deliver calls through the real webhooks, signed by the app's own helpers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from httpx import AsyncClient

from app.calls.events import CallStatus, Direction
from app.webhooks.providers import get_adapter
from app.webhooks.providers.simulation import CallSpec


def spec(
    call_id: str,
    *,
    extension: str = "101",
    number: str = "+79161234567",
    direction: Direction = Direction.OUTBOUND,
    start: datetime = datetime(2026, 11, 16, 7, 0, tzinfo=UTC),
    ring: int = 10,
    talk: int = 95,
    recording: bool = False,
) -> CallSpec:
    answered = start + timedelta(seconds=ring) if talk > 0 else None
    return CallSpec(
        call_id=call_id,
        direction=direction,
        extension=extension,
        external_number=number,
        started_at=start,
        answered_at=answered,
        ended_at=start + timedelta(seconds=ring + talk),
        status=CallStatus.ANSWERED if talk > 0 else CallStatus.NO_ANSWER,
        recording_id=f"rec-{call_id}" if recording else None,
    )


async def deliver_call(
    client: AsyncClient, integration: dict[str, object], config: dict[str, object], call: CallSpec
) -> None:
    """Send every request the provider would send for ``call``; each must be acknowledged."""
    provider = str(integration["provider"])
    adapter = get_adapter(provider)
    parsed = adapter.config_model.model_validate(config)
    for request in adapter.signed_requests(call, parsed, integration_id=str(integration["id"])):
        url = f"/webhooks/{provider}/{integration['id']}/{request.subpath}".rstrip("/")
        response = await client.request(
            request.method,
            url + (f"?{request.query}" if request.query else ""),
            content=request.body,
            headers=dict(request.headers),
        )
        assert response.status_code == 200, response.text
