from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


class CdrSyncCursor(Base):
    """How far the FreePBX sync of one integration has read its ``cdr`` table.

    ``last_calldate`` is the table's own wall-time text (``YYYY-MM-DD HH:MM:SS``) of the latest row
    read: the next sync starts at it minus the integration's overlap, so a restart resumes where the
    last committed batch ended and rows written late are read again (and deduplicated).
    """

    __tablename__ = "cdr_sync_cursor"

    integration_id: Mapped[str] = mapped_column(
        ForeignKey("integration.id", ondelete="CASCADE"), primary_key=True
    )
    last_calldate: Mapped[str | None] = mapped_column(String(32), default=None)
    rows_read: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
