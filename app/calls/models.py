from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.calls.events import CallStatus, Direction
from app.calls.outcomes import Outcome
from app.columns import EnumText
from app.db import Base, UTCDateTime, utcnow

UNANSWERED_INBOUND_SQL = (
    "direction = 'inbound' AND status IN ('busy', 'cancelled', 'failed', 'no_answer')"
)
"""An ended inbound call nobody answered, as SQL: the predicate of a partial index, and the very
same text in the queries meant to use it (SQLite matches a partial index's terms literally)."""


class Call(Base):
    """One provider call (all its legs), merged from however many events the PBX sent."""

    __tablename__ = "call"
    __table_args__ = (
        UniqueConstraint("integration_id", "provider_call_id"),
        Index(None, "lead_id", "started_at"),
        Index(None, "employee_id", "started_at"),
        Index(None, "started_at"),
        # The leads a period's missed-call cases are about (app.callbacks.queries), found
        # without reading every call of the period: a few percent of all calls.
        Index(
            "ix_call_unanswered_inbound",
            "started_at",
            "lead_id",
            sqlite_where=text(UNANSWERED_INBOUND_SQL),
            postgresql_where=text(UNANSWERED_INBOUND_SQL),
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    integration_id: Mapped[str] = mapped_column(ForeignKey("integration.id", ondelete="RESTRICT"))
    provider_call_id: Mapped[str] = mapped_column(String(200))
    direction: Mapped[Direction | None] = mapped_column(EnumText(Direction, 16), default=None)
    status: Mapped[CallStatus | None] = mapped_column(EnumText(CallStatus, 16), default=None)
    external_number: Mapped[str | None] = mapped_column(String(64), default=None)
    extension: Mapped[str | None] = mapped_column(String(32), default=None)
    employee_id: Mapped[str | None] = mapped_column(
        ForeignKey("employee.id", ondelete="SET NULL"), default=None
    )
    lead_id: Mapped[str | None] = mapped_column(
        ForeignKey("lead.id", ondelete="SET NULL"), default=None
    )
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    ring_seconds: Mapped[int | None] = mapped_column(Integer, default=None)
    talk_seconds: Mapped[int | None] = mapped_column(Integer, default=None)
    duration_seconds: Mapped[int | None] = mapped_column(Integer, default=None)
    disconnect_reason: Mapped[str | None] = mapped_column(String(64), default=None)
    outcome: Mapped[Outcome | None] = mapped_column(EnumText(Outcome, 32), default=None)
    script_id: Mapped[str | None] = mapped_column(
        ForeignKey("script.id", ondelete="SET NULL"), default=None
    )
    notes: Mapped[str | None] = mapped_column(Text, default=None)
    # Everything the order-independent merge needs to fold in the next event (app.calls.merge).
    merge_state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class CallLeg(Base):
    """One leg of a call: the way from a leg id to its call, and per-leg ordering."""

    __tablename__ = "call_leg"
    __table_args__ = (UniqueConstraint("integration_id", "provider_leg_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"), index=True)
    # Copied from the call so that the unique constraint can span the integration.
    integration_id: Mapped[str] = mapped_column(ForeignKey("integration.id", ondelete="RESTRICT"))
    provider_leg_id: Mapped[str] = mapped_column(String(200))
    last_seq: Mapped[int | None] = mapped_column(Integer, default=None)
    extension: Mapped[str | None] = mapped_column(String(32), default=None)
    answered: Mapped[bool] = mapped_column(Boolean, default=False)
