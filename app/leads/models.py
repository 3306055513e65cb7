from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, SmallInteger, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.columns import EnumText
from app.db import Base, UTCDateTime, utcnow


class LeadStatus(StrEnum):
    ACTIVE = "active"
    REFUSED = "refused"
    WON = "won"


class ApplicationStatus(StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


class ScriptKind(StrEnum):
    FIRST_CALL = "first_call"
    SECOND_CALL = "second_call"


class Lead(Base):
    __tablename__ = "lead"
    __table_args__ = (Index(None, "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    company: Mapped[str | None] = mapped_column(String(300), default=None)
    contact_name: Mapped[str | None] = mapped_column(String(300), default=None)
    campaign: Mapped[str | None] = mapped_column(String(200), default=None, index=True)
    segment: Mapped[str | None] = mapped_column(String(200), default=None)
    region: Mapped[str | None] = mapped_column(String(200), default=None)
    industry: Mapped[str | None] = mapped_column(String(200), default=None)
    source: Mapped[str | None] = mapped_column(String(100), default=None)
    owner_id: Mapped[str | None] = mapped_column(
        ForeignKey("employee.id", ondelete="SET NULL"), default=None, index=True
    )
    status: Mapped[LeadStatus] = mapped_column(EnumText(LeadStatus, 16), default=LeadStatus.ACTIVE)
    refusal_reason: Mapped[str | None] = mapped_column(String(300), default=None)
    refused_at_stage: Mapped[int | None] = mapped_column(SmallInteger, default=None)
    notes: Mapped[str | None] = mapped_column(Text, default=None)
    # Company and contact case-folded in Python: SQLite's lower() and LIKE fold ASCII only, so
    # a search for "ромашка" would miss "Ромашка" if the database did the folding.
    search_text: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    phones: Mapped[list[LeadPhone]] = relationship(
        back_populates="lead",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="LeadPhone.id",
    )


def lead_search_text(company: str | None, contact_name: str | None) -> str | None:
    text = " ".join(part for part in (company, contact_name) if part)
    return text.casefold() or None


class LeadPhone(Base):
    """One phone number (E.164); a number belongs to exactly one lead."""

    __tablename__ = "lead_phone"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    lead_id: Mapped[str] = mapped_column(ForeignKey("lead.id", ondelete="CASCADE"), index=True)
    phone_e164: Mapped[str] = mapped_column(String(20), unique=True)

    lead: Mapped[Lead] = relationship(back_populates="phones")


class Script(Base):
    """A call script; a new version is a new row so old calls keep the version that was used."""

    __tablename__ = "script"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[ScriptKind] = mapped_column(EnumText(ScriptKind, 16))
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Application(Base):
    """An application (заявка) formed with a lead."""

    __tablename__ = "application"
    __table_args__ = (
        Index(None, "lead_id", "created_at"),
        Index(None, "created_at"),
        # At most one open application per lead, held by the database: two tags of one lead's
        # calls at once must not both form one (a check in the service cannot see the other).
        Index(
            "uq_application_open_lead",
            "lead_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    lead_id: Mapped[str] = mapped_column(ForeignKey("lead.id", ondelete="CASCADE"))
    source_call_id: Mapped[str | None] = mapped_column(
        ForeignKey("call.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    estimated_amount: Mapped[int | None] = mapped_column(BigInteger, default=None)
    status: Mapped[ApplicationStatus] = mapped_column(
        EnumText(ApplicationStatus, 16), default=ApplicationStatus.OPEN
    )
    lost_reason: Mapped[str | None] = mapped_column(String(300), default=None)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    notes: Mapped[str | None] = mapped_column(Text, default=None)


class Contract(Base):
    """A signed contract (договор); at most one per application."""

    __tablename__ = "contract"
    __table_args__ = (Index(None, "signed_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    application_id: Mapped[str] = mapped_column(
        ForeignKey("application.id", ondelete="CASCADE"), unique=True
    )
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    amount: Mapped[int] = mapped_column(BigInteger)  # minor units
    margin: Mapped[int | None] = mapped_column(BigInteger, default=None)  # minor units
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
