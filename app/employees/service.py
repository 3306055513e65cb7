from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.employees.models import Employee, EmployeeExtension
from app.employees.repository import employee_repository
from app.employees.schemas import EmployeeCreate, EmployeeUpdate
from app.errors import Conflict, NotFound, Unprocessable
from app.ids import new_id
from app.metrics.evidence import refresh_evidence_of_employee
from app.money import to_minor


class EmployeeService:
    async def list(
        self, session: AsyncSession, *, limit: int, after_id: str | None, active: bool | None
    ) -> Sequence[Employee]:
        return await employee_repository.list(
            session, limit=limit, after_id=after_id, active=active
        )

    async def get(self, session: AsyncSession, employee_id: str) -> Employee:
        employee = await employee_repository.get(session, employee_id)
        if employee is None:
            raise NotFound(f"employee {employee_id} not found")
        return employee

    async def create(self, session: AsyncSession, body: EmployeeCreate) -> Employee:
        extensions = _distinct(body.extensions)
        await self._check_extensions_free(session, extensions, owner_id=None)
        employee = Employee(
            id=new_id("emp"),
            name=body.name,
            email=body.email,
            hourly_cost=to_minor(body.hourly_cost) if body.hourly_cost is not None else None,
            active=body.active,
            created_at=utcnow(),
            extensions=[EmployeeExtension(extension=ext) for ext in extensions],
        )
        employee_repository.add(session, employee)
        await self._flush(session, extensions)
        return employee

    async def update(
        self, session: AsyncSession, employee_id: str, body: EmployeeUpdate
    ) -> Employee:
        employee = await self.get(session, employee_id)
        changes = body.model_dump(exclude_unset=True)
        for field in ("name", "email", "active"):
            if field in changes:
                setattr(employee, field, changes[field])
        if "hourly_cost" in changes:
            cost = body.hourly_cost
            employee.hourly_cost = to_minor(cost) if cost is not None else None
        if body.extensions is not None:
            extensions = _distinct(body.extensions)
            await self._check_extensions_free(session, extensions, owner_id=employee.id)
            kept = {ext.extension: ext for ext in employee.extensions}
            employee.extensions = [
                kept.get(ext) or EmployeeExtension(extension=ext) for ext in extensions
            ]
        await self._flush(session, body.extensions or [])
        if "hourly_cost" in changes:
            await refresh_evidence_of_employee(session, employee.id)
        return employee

    async def merge(self, session: AsyncSession, employee_id: str, into_id: str) -> Employee:
        """Fold one employee into another: calls, leads, keys and extensions move."""
        if employee_id == into_id:
            raise Unprocessable.at(
                "body",
                "into",
                msg="must differ from the merged employee",
                detail="an employee cannot be merged into itself",
            )
        source = await self.get(session, employee_id)
        target = await self.get(session, into_id)
        await employee_repository.reassign(session, source.id, target.id)
        if target.hourly_cost is None:
            target.hourly_cost = source.hourly_cost
        # The bulk update moved the extensions behind the ORM's back; reload the (now empty)
        # collection so that deleting the employee does not cascade to the moved rows.
        await session.refresh(source, ["extensions"])
        await session.delete(source)
        await session.flush()
        await refresh_evidence_of_employee(session, target.id)
        await session.refresh(target, ["extensions"])
        return target

    async def _check_extensions_free(
        self, session: AsyncSession, extensions: Sequence[str], *, owner_id: str | None
    ) -> None:
        taken = await employee_repository.owners_of_extensions(session, extensions)
        clashes = {ext: emp for ext, emp in taken.items() if emp != owner_id}
        if clashes:
            ext, other = sorted(clashes.items())[0]
            raise Conflict(f"extension {ext} already belongs to employee {other}")

    async def _flush(self, session: AsyncSession, extensions: Sequence[str]) -> None:
        try:
            await session.flush()
        except IntegrityError as exc:
            # Two requests claimed the same extension at once: the primary key decided.
            raise Conflict(
                f"extension already belongs to another employee: {', '.join(extensions)}"
            ) from exc


def _distinct(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(values))


employee_service = EmployeeService()
