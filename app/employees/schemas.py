from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from app.money import Money

Extension = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9_.@-]{1,32}$")
]


class EmployeeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    extensions: list[Extension] = Field(default_factory=list, max_length=50)
    email: EmailStr | None = None
    hourly_cost: Money | None = Field(
        default=None, description="Labour cost per hour; empty means the company-wide rate."
    )
    active: bool = True


class EmployeeUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    extensions: list[Extension] | None = Field(default=None, max_length=50)
    email: EmailStr | None = None
    hourly_cost: Money | None = None
    active: bool | None = None


class EmployeePublic(BaseModel):
    id: str
    name: str
    email: str | None
    extensions: list[str]
    hourly_cost: Money | None = Field(description="Hidden (null) from manager keys.")
    active: bool
    created_at: datetime


class EmployeeMerge(BaseModel):
    model_config = ConfigDict(extra="forbid")

    into: str = Field(description="The employee that keeps the calls, leads and extensions.")
