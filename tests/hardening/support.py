"""Helpers of the hardening tests: signed generic events and the keys of two managers."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from httpx import AsyncClient, Response

from app.auth.roles import Role
from app.db import Database
from tests.factories import GENERIC_CONFIG, bearer, create_employee, create_integration, make_key

SECRET = str(GENERIC_CONFIG["secret"])


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"content-type": "application/json", "X-Callfunnel-Signature": f"sha256={digest}"}


async def post_event(client: AsyncClient, integration_id: str, event: Any) -> Response:
    body = event if isinstance(event, bytes) else json.dumps(event).encode()
    return await client.post(
        f"/webhooks/generic/{integration_id}", content=body, headers=signed(body)
    )


def ended_event(
    event_id: str,
    call_id: str,
    *,
    extension: str = "101",
    number: str = "+79161234567",
    started_at: str = "2026-11-16T07:00:00Z",
    answered_at: str | None = "2026-11-16T07:00:10Z",
    ended_at: str = "2026-11-16T07:05:10Z",
    talk_seconds: int = 300,
    **extra: Any,
) -> dict[str, Any]:
    event = {
        "event_id": event_id,
        "type": "call.ended",
        "call_id": call_id,
        "direction": "outbound",
        "from": extension,
        "to": number,
        "extension": extension,
        "occurred_at": ended_at,
        "started_at": started_at,
        "ended_at": ended_at,
        "status": "answered" if answered_at else "no_answer",
        "talk_seconds": talk_seconds,
        "duration_seconds": talk_seconds + 10,
        **extra,
    }
    if answered_at is not None:
        event["answered_at"] = answered_at
    return event


class Office:
    """An admin, a head, two managers (Anna 101, Boris 102) and a generic integration."""

    def __init__(self) -> None:
        self.admin: dict[str, str] = {}
        self.head: dict[str, str] = {}
        self.anna: dict[str, str] = {}
        self.boris: dict[str, str] = {}
        self.anna_id = self.boris_id = self.integration_id = ""

    @classmethod
    async def build(cls, client: AsyncClient, database: Database) -> Office:
        office = cls()
        office.admin = bearer(await make_key(database, Role.ADMIN))
        office.head = bearer(await make_key(database, Role.HEAD))
        anna = await create_employee(client, office.admin, "Anna", "101", hourly_cost="600.00")
        boris = await create_employee(client, office.admin, "Boris", "102", hourly_cost="900.00")
        office.anna_id, office.boris_id = str(anna["id"]), str(boris["id"])
        office.anna = bearer(await make_key(database, Role.MANAGER, office.anna_id))
        office.boris = bearer(await make_key(database, Role.MANAGER, office.boris_id))
        integration = await create_integration(client, office.admin)
        office.integration_id = str(integration["id"])
        return office
