from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.dialect import upsert_insert
from app.leads.models import Application, ApplicationStatus, Lead, LeadPhone, Script


class LeadRepository:
    async def lead_id_by_phone(self, session: AsyncSession, phone_e164: str) -> str | None:
        query = select(LeadPhone.lead_id).where(LeadPhone.phone_e164 == phone_e164)
        found: str | None = (await session.execute(query)).scalar_one_or_none()
        return found

    async def claim_phone(self, session: AsyncSession, lead_id: str, phone_e164: str) -> bool:
        """Give ``phone_e164`` to the lead unless another lead has it; True when it was free."""
        statement = (
            upsert_insert(session, LeadPhone)
            .values(lead_id=lead_id, phone_e164=phone_e164)
            .on_conflict_do_nothing(index_elements=["phone_e164"])
            .returning(LeadPhone.id)
        )
        return (await session.execute(statement)).scalar_one_or_none() is not None

    async def delete(self, session: AsyncSession, lead_id: str) -> None:
        await session.execute(delete(Lead).where(Lead.id == lead_id))

    def add(self, session: AsyncSession, lead: Lead) -> None:
        session.add(lead)

    async def first_open_application(
        self, session: AsyncSession, lead_id: str
    ) -> Application | None:
        query = (
            select(Application)
            .where(
                Application.lead_id == lead_id,
                Application.status == ApplicationStatus.OPEN.value,
            )
            .order_by(Application.created_at)
            .limit(1)
        )
        return (await session.execute(query)).scalar_one_or_none()

    async def get_script(self, session: AsyncSession, script_id: str) -> Script | None:
        return await session.get(Script, script_id)

    def add_application(self, session: AsyncSession, application: Application) -> None:
        session.add(application)


lead_repository = LeadRepository()
