from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.columns import EnumText
from app.db import Base, UTCDateTime, utcnow


class RecordingStatus(StrEnum):
    PENDING = "pending"
    DOWNLOADING = "downloading"
    STORED = "stored"
    FAILED = "failed"
    EXPIRED = "expired"  # deleted by the retention setting


class Recording(Base):
    """A call recording; the table is also the download job queue."""

    __tablename__ = "recording"
    __table_args__ = (
        UniqueConstraint("call_id", "provider_ref"),
        Index(None, "status", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"))
    provider_ref: Mapped[str] = mapped_column(String(300))
    # Where the provider said the file is, when it said so (Twilio, generic); never a one-time URL.
    source_url: Mapped[str | None] = mapped_column(Text, default=None)
    status: Mapped[RecordingStatus] = mapped_column(
        EnumText(RecordingStatus, 16), default=RecordingStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    storage_key: Mapped[str | None] = mapped_column(String(200), default=None)
    content_type: Mapped[str | None] = mapped_column(String(100), default=None)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger, default=None)
    sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    duration_seconds: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
