"""What the funnel keeps per lead: the facts its SQL derives from the lead's calls.

One row per lead with a call that takes part (``app.metrics.queries.known_calls``), recomputed
from the raw calls by ``app.metrics.evidence.refresh_evidence`` in the transaction of every write
that changes it (docs/metrics.md → Kept evidence). Only call-derived facts live here: the owner,
the campaign and the names are joined when read, and applications and contracts are read as they
are, so that writing them changes no row.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime


class LeadEvidence(Base):
    __tablename__ = "lead_evidence"
    # Cohorts are chosen by first dial: a period's cohort is a range of this index. The latest
    # last call tells whether any kept sum is too new for an as_of (app.metrics.queries).
    __table_args__ = (Index(None, "first_dial_at"), Index(None, "last_call_at"))

    lead_id: Mapped[str] = mapped_column(
        ForeignKey("lead.id", ondelete="CASCADE"), primary_key=True
    )
    first_dial_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The earliest evidence of stages 1–3 (docs/metrics.md → Evidence of each stage), instants:
    # "by as_of" is a comparison when read.
    reached_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    conversation_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    second_call_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The latest call counted: the sums below answer an ``as_of`` at or after it, and only then.
    last_call_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set NULL as the calls' own links are, so that deleting one changes both paths alike.
    first_dialler: Mapped[str | None] = mapped_column(
        ForeignKey("employee.id", ondelete="SET NULL"), default=None
    )
    script_id: Mapped[str | None] = mapped_column(  # of the first reached call
        ForeignKey("script.id", ondelete="SET NULL"), default=None
    )
    dials: Mapped[int] = mapped_column(BigInteger)
    talk_seconds: Mapped[int] = mapped_column(BigInteger)
    billable_minutes: Mapped[int] = mapped_column(BigInteger)
    # Each caller's own rate (minor-unit-seconds); busy seconds price the standard rate.
    labour: Mapped[int] = mapped_column(BigInteger)
    busy_seconds: Mapped[int] = mapped_column(BigInteger)
