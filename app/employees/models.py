from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, UTCDateTime, utcnow


class Employee(Base):
    __tablename__ = "employee"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    # Minor units (kopecks) per hour; NULL means "use the company-wide labour rate".
    hourly_cost: Mapped[int | None] = mapped_column(BigInteger, default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    extensions: Mapped[list[EmployeeExtension]] = relationship(
        back_populates="employee",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="EmployeeExtension.extension",
    )


class EmployeeExtension(Base):
    """A PBX extension; one numbering plan per company, so an extension names one employee."""

    __tablename__ = "employee_extension"

    extension: Mapped[str] = mapped_column(String(32), primary_key=True)
    employee_id: Mapped[str] = mapped_column(
        ForeignKey("employee.id", ondelete="CASCADE"), index=True
    )

    employee: Mapped[Employee] = relationship(back_populates="extensions")
