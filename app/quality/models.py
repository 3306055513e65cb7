"""Checklists (one row per version), their criteria, and evaluations of calls.

A checklist version that an evaluation uses is never changed: editing it makes a new row of the
same family with ``version + 1`` (``app.quality.service``), so an old evaluation's score, computed
from its own version's criteria, stays what it was.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow
from app.quality.scoring import AppliesTo


class Checklist(Base):
    """One version of a checklist; ``family_id`` (version 1's id) ties the versions together."""

    __tablename__ = "checklist"
    __table_args__ = (UniqueConstraint("family_id", "version"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    family_id: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    name_ru: Mapped[str | None] = mapped_column(String(200), default=None)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    # [{"key", "title", "title_ru"}] in display order; the criteria name their section by key.
    sections: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChecklistCriterion(Base):
    __tablename__ = "checklist_criterion"
    __table_args__ = (
        UniqueConstraint("checklist_id", "key"),
        # A weight of 0 would make an "applicable" criterion that weighs nothing.
        CheckConstraint("weight >= 1", name="weight_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    checklist_id: Mapped[str] = mapped_column(ForeignKey("checklist.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(64))
    section: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    text_ru: Mapped[str | None] = mapped_column(Text, default=None)
    weight: Mapped[int] = mapped_column(Integer)
    critical: Mapped[bool] = mapped_column(Boolean, default=False)
    applies_to: Mapped[str] = mapped_column(String(16), default=AppliesTo.ANY.value)


class Evaluation(Base):
    """One evaluator's answers for one call against one checklist version; revised in place."""

    __tablename__ = "evaluation"
    __table_args__ = (
        UniqueConstraint("call_id", "checklist_id", "evaluator"),
        Index(None, "family_id", "call_id"),
        Index(None, "checklist_id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"))
    checklist_id: Mapped[str] = mapped_column(ForeignKey("checklist.id", ondelete="RESTRICT"))
    # Copied from the checklist: the figures select evaluations by family without a join.
    family_id: Mapped[str] = mapped_column(String(40))
    # The key's employee id where it has one, else the key's name (docs/script_quality.md → Model).
    evaluator: Mapped[str] = mapped_column(String(200))
    evaluator_employee_id: Mapped[str | None] = mapped_column(
        ForeignKey("employee.id", ondelete="SET NULL"), default=None
    )
    evaluator_key_id: Mapped[str | None] = mapped_column(
        ForeignKey("api_key.id", ondelete="SET NULL"), default=None
    )
    source: Mapped[str] = mapped_column(String(64), default="manual")
    answers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    comment: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
