from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


class Integration(Base):
    """One PBX account sending webhooks; ``config`` holds its secrets (never returned)."""

    __tablename__ = "integration"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Deleting keeps the row: its raw events and calls stay explainable; webhooks then answer 404.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
