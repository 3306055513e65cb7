from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.errors import NotFound, Unprocessable
from app.ids import new_secret_id
from app.integrations.models import Integration
from app.integrations.repository import integration_repository
from app.integrations.schemas import IntegrationCreate, IntegrationPublic, IntegrationUpdate
from app.webhooks.providers import ADAPTERS, get_adapter
from app.webhooks.providers.base import ProviderConfig


class IntegrationService:
    async def get(self, session: AsyncSession, integration_id: str) -> Integration:
        row = await integration_repository.get_live(session, integration_id)
        if row is None:
            raise NotFound(f"integration {integration_id} not found")
        return row

    async def create(self, session: AsyncSession, body: IntegrationCreate) -> Integration:
        config = validated_config(body.provider, body.config)
        row = Integration(
            id=new_secret_id("intg"),
            provider=body.provider,
            name=body.name,
            config=config.model_dump(mode="json"),
            created_at=utcnow(),
        )
        integration_repository.add(session, row)
        await session.flush()
        return row

    async def update(
        self, session: AsyncSession, integration_id: str, body: IntegrationUpdate
    ) -> Integration:
        row = await self.get(session, integration_id)
        if body.name is not None:
            row.name = body.name
        if body.config is not None:
            merged = {**row.config, **body.config}
            row.config = validated_config(row.provider, merged).model_dump(mode="json")
        await session.flush()
        return row

    async def delete(self, session: AsyncSession, integration_id: str) -> None:
        row = await self.get(session, integration_id)
        # Kept, not deleted: its raw events and calls must stay explainable.
        row.deleted_at = utcnow()
        await session.flush()


def validated_config(provider: str, raw: dict[str, Any]) -> ProviderConfig:
    """The provider's own model checks the config; errors name fields, never echo values."""
    if provider not in ADAPTERS:
        known = ", ".join(sorted(ADAPTERS))
        raise Unprocessable.at(
            "body",
            "provider",
            msg=f"must be one of: {known}",
            detail=f"unknown provider {provider!r}; known: {known}",
        )
    try:
        return get_adapter(provider).config_model.model_validate(raw)
    except ValidationError as exc:
        errors = [
            {"loc": ["body", "config", *(str(p) for p in err["loc"])], "msg": err["msg"]}
            for err in exc.errors()
        ]
        raise Unprocessable(f"config is not valid for {provider}", errors=errors) from exc


def config_of(row: Integration) -> ProviderConfig:
    return get_adapter(row.provider).config_model.model_validate(row.config)


def to_public(row: Integration) -> IntegrationPublic:
    config = config_of(row)
    urls = dict(
        get_adapter(row.provider).webhook_urls(config, f"/webhooks/{row.provider}/{row.id}")
    )
    return IntegrationPublic(
        id=row.id,
        provider=row.provider,
        name=row.name,
        config=config.public_dict(),
        webhook_url=next(iter(urls.values())),
        webhook_urls=urls,
        created_at=row.created_at,
    )


integration_service = IntegrationService()
