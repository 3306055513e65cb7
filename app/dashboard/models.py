from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


class InstanceSecret(Base):
    """A secret this installation made for itself (the dashboard's signing key in development).

    Not a ``setting``: settings are read back through the API, and a secret must never be.
    """

    __tablename__ = "instance_secret"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
