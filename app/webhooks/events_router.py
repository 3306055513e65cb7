"""``/api/v1/webhook-events``: what the PBX sent, and replaying it after a fix (admins)."""

from __future__ import annotations

from fastapi import APIRouter

from app.auth.dependencies import AdminPrincipal
from app.db import SessionDep
from app.errors import NotFound
from app.pagination import Page, PageDep, paginate
from app.webhooks.models import WebhookEventStatus
from app.webhooks.repository import webhook_event_repository
from app.webhooks.schemas import MAX_REPLAY, ReplayRequest, ReplayResponse, WebhookEventPublic
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
        status=status.value if status else None,
        integration_id=integration_id,
        limit=page.limit + 1,
        after_id=page.after_id,
    )
    return paginate(rows, page, to_item=WebhookEventPublic.model_validate, key=lambda row: [row.id])


@router.post("/replay")
async def replay_webhook_events(
    body: ReplayRequest, session: SessionDep, _admin: AdminPrincipal
) -> ReplayResponse:
    if body.ids is not None:
        rows = await webhook_event_repository.get_many(session, body.ids)
        missing = set(body.ids) - {row.id for row in rows}
        if missing:
            raise NotFound(f"webhook events not found: {', '.join(sorted(missing))}")
    else:
        assert body.status is not None
        ids = await webhook_event_repository.ids_with_status(
            session, body.status.value, limit=MAX_REPLAY
        )
        rows = await webhook_event_repository.get_many(session, ids)
    result = await webhook_service.replay(session, rows)
    remaining = 0
    if body.status is not None:
        remaining = len(
            await webhook_event_repository.ids_with_status(
                session, body.status.value, limit=MAX_REPLAY
            )
        )
    return ReplayResponse(
        replayed=result.replayed,
        processed=result.processed,
        failed=result.failed,
        ignored=result.ignored,
        remaining=remaining,
    )
