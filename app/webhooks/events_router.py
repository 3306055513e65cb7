"""``/api/v1/webhook-events``: what the PBX sent, and replaying it after a fix (admins)."""

from __future__ import annotations

from fastapi import APIRouter

from app.auth.dependencies import AdminPrincipal
from app.db import SessionDep
from app.pagination import Page, PageDep, paginate
from app.webhooks.models import WebhookEventStatus
from app.webhooks.repository import webhook_event_repository
from app.webhooks.schemas import ReplayRequest, ReplayResponse, WebhookEventPublic
from app.webhooks.service import webhook_service

router = APIRouter(prefix="/webhook-events", tags=["webhook events"])


@router.get("")
async def list_webhook_events(
    session: SessionDep,
    page: PageDep,
    _admin: AdminPrincipal,
    status: WebhookEventStatus | None = None,
    integration_id: str | None = None,
) -> Page[WebhookEventPublic]:
    rows = await webhook_event_repository.list(
        session,
        status=status,
        integration_id=integration_id,
        limit=page.limit + 1,
        after_id=page.after_id,
    )
    return paginate(rows, page, to_item=WebhookEventPublic.model_validate, key=lambda row: [row.id])


@router.post("/replay")
async def replay_webhook_events(
    body: ReplayRequest, _admin: AdminPrincipal, session: SessionDep
) -> ReplayResponse:
    return await webhook_service.replay_request(session, body)
