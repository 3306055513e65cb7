from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from app.auth.scope import Scope
from app.employees.models import Employee
from app.money import Money, from_minor

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

    # Absent means "unchanged"; an explicit null is refused (422), since neither may be empty.
    # The default is not validated, so omitting them works while the schema says non-null.
    name: str = Field(default=None, min_length=1, max_length=200)  # type: ignore[assignment]
    extensions: list[Extension] | None = Field(default=None, max_length=50)
    email: EmailStr | None = None
    hourly_cost: Money | None = None
    active: bool = Field(default=None)  # type: ignore[assignment]


class EmployeePublic(BaseModel):
    id: str
    name: str
    email: str | None
    extensions: list[str]
    hourly_cost: Money | None = Field(description="Hidden (null) from manager keys.")
    active: bool
    created_at: datetime

    @classmethod
    def of(cls, employee: Employee, scope: Scope) -> EmployeePublic:
        """The employee as ``scope`` may read it: its pay only for keys that read costs."""
        cost = employee.hourly_cost
        return cls(
            id=employee.id,
            name=employee.name,
            email=employee.email,
            extensions=[ext.extension for ext in employee.extensions],
            hourly_cost=None if not scope.reads_costs or cost is None else from_minor(cost),
            active=employee.active,
            created_at=employee.created_at,
        )


class EmployeeMerge(BaseModel):
    model_config = ConfigDict(extra="forbid")

    into: str = Field(description="The employee that keeps the calls, leads and extensions.")
