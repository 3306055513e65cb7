from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from app.auth.dependencies import AdminPrincipal, CurrentPrincipal
from app.db import SessionDep
from app.employees.schemas import EmployeeCreate, EmployeeMerge, EmployeePublic, EmployeeUpdate
from app.employees.service import employee_service
from app.pagination import Page, PageDep, paginate

router = APIRouter(prefix="/employees", tags=["employees"])


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_employee(
    body: EmployeeCreate, session: SessionDep, admin: AdminPrincipal
) -> EmployeePublic:
    employee = await employee_service.create(session, body)
    return EmployeePublic.of(employee, admin.scope)


@router.get("")
async def list_employees(
    session: SessionDep,
    page: PageDep,
    principal: CurrentPrincipal,
    active: Annotated[bool | None, Query()] = None,
) -> Page[EmployeePublic]:
    rows = await employee_service.list(
        session, limit=page.limit + 1, after_id=page.after_id, active=active
    )
    return paginate(
        rows,
        page,
        to_item=lambda row: EmployeePublic.of(row, principal.scope),
        key=lambda row: [row.id],
    )


@router.get("/{employee_id}")
async def get_employee(
    employee_id: str, session: SessionDep, principal: CurrentPrincipal
) -> EmployeePublic:
    employee = await employee_service.get(session, employee_id)
    return EmployeePublic.of(employee, principal.scope)


@router.patch("/{employee_id}")
async def update_employee(
    employee_id: str, body: EmployeeUpdate, session: SessionDep, admin: AdminPrincipal
) -> EmployeePublic:
    employee = await employee_service.update(session, employee_id, body)
    return EmployeePublic.of(employee, admin.scope)


@router.post("/{employee_id}/merge")
async def merge_employee(
    employee_id: str, body: EmployeeMerge, session: SessionDep, admin: AdminPrincipal
) -> EmployeePublic:
    employee = await employee_service.merge(session, employee_id, body.into)
    return EmployeePublic.of(employee, admin.scope)
