from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import ApiKey
from app.calls.models import Call
from app.dialect import upsert_insert
from app.employees.models import Employee, EmployeeExtension
from app.leads.models import Lead


class EmployeeRepository:
    async def get(self, session: AsyncSession, employee_id: str) -> Employee | None:
        return await session.get(Employee, employee_id)

    async def list(
        self, session: AsyncSession, *, limit: int, after_id: str | None, active: bool | None
    ) -> Sequence[Employee]:
        query = select(Employee).order_by(Employee.id).limit(limit)
        if after_id is not None:
            query = query.where(Employee.id > after_id)
        if active is not None:
            query = query.where(Employee.active.is_(active))
        return (await session.execute(query)).scalars().all()

    async def owners_of_extensions(
        self, session: AsyncSession, extensions: Sequence[str]
    ) -> dict[str, str]:
        """Extension → employee id, for those of ``extensions`` that are taken."""
        if not extensions:
            return {}
        query = select(EmployeeExtension.extension, EmployeeExtension.employee_id).where(
            EmployeeExtension.extension.in_(extensions)
        )
        return dict((await session.execute(query)).all())

    async def reassign(self, session: AsyncSession, source_id: str, target_id: str) -> None:
        """Point everything that names ``source_id`` at ``target_id`` (calls, leads, keys)."""
        for column in (Call.employee_id, Lead.owner_id, ApiKey.employee_id):
            await session.execute(
                update(column.class_).where(column == source_id).values({column.key: target_id})
            )
        await session.execute(
            update(EmployeeExtension)
            .where(EmployeeExtension.employee_id == source_id)
            .values(employee_id=target_id)
        )

    async def employee_id_by_extension(self, session: AsyncSession, extension: str) -> str | None:
        query = select(EmployeeExtension.employee_id).where(
            EmployeeExtension.extension == extension
        )
        found: str | None = (await session.execute(query)).scalar_one_or_none()
        return found

    async def claim_extension(
        self, session: AsyncSession, employee_id: str, extension: str
    ) -> bool:
        """Give ``extension`` to the employee unless someone has it; True when it was free."""
        statement = (
            upsert_insert(session, EmployeeExtension)
            .values(extension=extension, employee_id=employee_id)
            .on_conflict_do_nothing(index_elements=["extension"])
            .returning(EmployeeExtension.extension)
        )
        return (await session.execute(statement)).scalar_one_or_none() is not None

    async def delete(self, session: AsyncSession, employee_id: str) -> None:
        await session.execute(delete(Employee).where(Employee.id == employee_id))

    def add(self, session: AsyncSession, employee: Employee) -> None:
        session.add(employee)


employee_repository = EmployeeRepository()
