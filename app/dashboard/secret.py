"""The key that signs the dashboard's sessions: ``CALLFUNNEL_SECRET_KEY``, which production must
set; in development one is made on first use and kept in the database, so sessions outlive a
restart and every process of the installation signs alike."""

from __future__ import annotations

import secrets
from datetime import timedelta

from fastapi import Request

from app.config import ConfigurationError, Environment, Settings
from app.dashboard.repository import instance_secret_repository
from app.dashboard.sessions import SessionSigner
from app.db import get_database

SECRET_NAME = "dashboard_session_key"  # noqa: S105  # the name of the row, not a secret


def require_secret_in_production(settings: Settings) -> None:
    if settings.env is Environment.PRODUCTION and settings.secret_key is None:
        raise ConfigurationError(
            "CALLFUNNEL_SECRET_KEY is required in production: it signs the dashboard's sessions"
        )


async def session_signer(request: Request) -> SessionSigner:
    """The app's signer, made on the first page request (the database may be down at start)."""
    signer: SessionSigner | None = getattr(request.app.state, "dashboard_signer", None)
    if signer is not None:
        return signer
    settings: Settings = request.app.state.settings
    if settings.secret_key is not None:
        secret = settings.secret_key.get_secret_value()
    else:
        async with get_database(request).unit_of_work() as session:
            secret = await instance_secret_repository.get_or_create(
                session, SECRET_NAME, secrets.token_urlsafe(48)
            )
    signer = SessionSigner(secret, timedelta(minutes=settings.session_idle_minutes))
    request.app.state.dashboard_signer = signer
    return signer
