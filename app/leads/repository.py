from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Subquery, and_, delete, func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.calls.models import Call
from app.calls.outcomes import Outcome
from app.dialect import upsert_insert
from app.leads.models import Application, ApplicationStatus, Contract, Lead, LeadPhone, Script
from app.recordings.models import Recording
from app.webhooks.providers.base import Direction


def first_dialler_of_lead() -> ColumnElement[str | None]:
    """The employee who made the lead's first outbound call (correlated to ``Lead.id``)."""
    return (
        select(Call.employee_id)
        .where(Call.lead_id == Lead.id, Call.direction == Direction.OUTBOUND.value)
        .order_by(Call.started_at, Call.id)
        .limit(1)
        .correlate(Lead)
        .scalar_subquery()
    )


def belongs_to(employee_id: str) -> ColumnElement[bool]:
    """METRICS.md → Grouping: a lead belongs to its owner, else to whoever dialled it first."""
    return or_(
        Lead.owner_id == employee_id,
        and_(Lead.owner_id.is_(None), first_dialler_of_lead() == employee_id),
    )


class LeadRepository:
    async def get(self, session: AsyncSession, lead_id: str) -> Lead | None:
        return await session.get(Lead, lead_id)

    async def is_visible(
        self, session: AsyncSession, lead_id: str, scope: ColumnElement[bool] | None
    ) -> bool:
        query = select(Lead.id).where(Lead.id == lead_id)
        if scope is not None:
            query = query.where(scope)
        return (await session.execute(query)).first() is not None

    async def list(
        self,
        session: AsyncSession,
        *,
        filters: Sequence[ColumnElement[bool]],
        limit: int,
        after_id: str | None,
    ) -> Sequence[Lead]:
        query = select(Lead).where(*filters).order_by(Lead.id).limit(limit)
        if after_id is not None:
            query = query.where(Lead.id > after_id)
        return (await session.execute(query)).scalars().all()

    async def stages(self, session: AsyncSession, stages: Subquery) -> dict[str, int]:
        rows = await session.execute(select(stages.c.lead_id, stages.c.stage))
        return {lead_id: int(stage) for lead_id, stage in rows.all()}

    async def lead_id_by_phone(self, session: AsyncSession, phone_e164: str) -> str | None:
        query = select(LeadPhone.lead_id).where(LeadPhone.phone_e164 == phone_e164)
        found: str | None = (await session.execute(query)).scalar_one_or_none()
        return found

    async def leads_of_phones(self, session: AsyncSession, phones: Sequence[str]) -> dict[str, str]:
        """Phone → lead id, for those of ``phones`` that belong to a lead."""
        if not phones:
            return {}
        query = select(LeadPhone.phone_e164, LeadPhone.lead_id).where(
            LeadPhone.phone_e164.in_(phones)
        )
        return dict((await session.execute(query)).all())

    async def claim_phone(self, session: AsyncSession, lead_id: str, phone_e164: str) -> bool:
        """Give ``phone_e164`` to the lead unless another lead has it; True when it was free."""
        statement = (
            upsert_insert(session, LeadPhone)
            .values(lead_id=lead_id, phone_e164=phone_e164)
            .on_conflict_do_nothing(index_elements=["phone_e164"])
            .returning(LeadPhone.id)
        )
        return (await session.execute(statement)).scalar_one_or_none() is not None

    async def move_children(self, session: AsyncSession, source_id: str, target_id: str) -> None:
        """Phones, calls and applications of one lead become another's."""
        for column in (LeadPhone.lead_id, Call.lead_id, Application.lead_id):
            await session.execute(
                update(column.class_).where(column == source_id).values({column.key: target_id})
            )

    async def delete(self, session: AsyncSession, lead_id: str) -> None:
        await session.execute(delete(Lead).where(Lead.id == lead_id))

    def add(self, session: AsyncSession, lead: Lead) -> None:
        session.add(lead)

    async def calls_with_recordings(
        self, session: AsyncSession, lead_id: str
    ) -> Sequence[tuple[Call, str | None]]:
        query = (
            select(Call, Recording.status)
            .outerjoin(Recording, Recording.call_id == Call.id)
            .where(Call.lead_id == lead_id)
            .order_by(Call.started_at, Call.id)
        )
        return [(call, status) for call, status in (await session.execute(query)).all()]

    async def applications_with_contracts(
        self, session: AsyncSession, lead_id: str
    ) -> Sequence[tuple[Application, Contract | None]]:
        query = (
            select(Application, Contract)
            .outerjoin(Contract, Contract.application_id == Application.id)
            .where(Application.lead_id == lead_id)
            .order_by(Application.created_at, Application.id)
        )
        return [(app, contract) for app, contract in (await session.execute(query)).all()]

    async def applications(
        self,
        session: AsyncSession,
        filters: Sequence[ColumnElement[bool]],
        *,
        limit: int,
        after: tuple[datetime, str] | None,
    ) -> Sequence[Application]:
        query = (
            select(Application)
            .where(*filters)
            .order_by(Application.created_at, Application.id)
            .limit(limit)
        )
        if after is not None:
            query = query.where(tuple_(Application.created_at, Application.id) > after)
        return (await session.execute(query)).scalars().all()

    async def contracts(
        self,
        session: AsyncSession,
        filters: Sequence[ColumnElement[bool]],
        *,
        limit: int,
        after: tuple[datetime, str] | None,
    ) -> Sequence[tuple[Contract, str]]:
        """Contracts with their lead's id, in signing order."""
        query = (
            select(Contract, Application.lead_id)
            .join(Application, Application.id == Contract.application_id)
            .where(*filters)
            .order_by(Contract.signed_at, Contract.id)
            .limit(limit)
        )
        if after is not None:
            query = query.where(tuple_(Contract.signed_at, Contract.id) > after)
        return [(contract, lead_id) for contract, lead_id in (await session.execute(query)).all()]

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

    async def get_application(self, session: AsyncSession, app_id: str) -> Application | None:
        return await session.get(Application, app_id)

    async def contract_of(self, session: AsyncSession, app_id: str) -> Contract | None:
        query = select(Contract).where(Contract.application_id == app_id)
        return (await session.execute(query)).scalar_one_or_none()

    def add_application(self, session: AsyncSession, application: Application) -> None:
        session.add(application)

    def add_contract(self, session: AsyncSession, contract: Contract) -> None:
        session.add(contract)

    async def get_script(self, session: AsyncSession, script_id: str) -> Script | None:
        return await session.get(Script, script_id)

    async def script_named(self, session: AsyncSession, name: str) -> Script | None:
        return (
            await session.execute(select(Script).where(Script.name == name))
        ).scalar_one_or_none()

    async def list_scripts(
        self, session: AsyncSession, *, limit: int, after_id: str | None
    ) -> Sequence[Script]:
        query = select(Script).order_by(Script.id).limit(limit)
        if after_id is not None:
            query = query.where(Script.id > after_id)
        return (await session.execute(query)).scalars().all()

    def add_script(self, session: AsyncSession, script: Script) -> None:
        session.add(script)

    async def refusal_reasons(
        self, session: AsyncSession, start: datetime, end: datetime
    ) -> Sequence[tuple[str | None, int]]:
        """(refusal reason, leads) of the leads with a call tagged ``refused`` in [start, end).

        A refusal has no time of its own: the refused call dates it. The reason is None for a lead
        that was not (or not yet) closed as refused.
        """
        refused = (
            select(Call.lead_id)
            .where(
                Call.outcome == Outcome.REFUSED.value,
                Call.lead_id.is_not(None),
                Call.started_at >= start,
                Call.started_at < end,
            )
            .distinct()
            .subquery("refused")
        )
        query = (
            select(Lead.refusal_reason, func.count())
            .join(refused, refused.c.lead_id == Lead.id)
            .group_by(Lead.refusal_reason)
        )
        return [(reason, int(count)) for reason, count in (await session.execute(query)).all()]

    async def lost_reasons(
        self, session: AsyncSession, start: datetime, end: datetime
    ) -> Sequence[tuple[str | None, int]]:
        """(lost reason, applications) over the applications closed as lost in ``[start, end)``."""
        query = (
            select(Application.lost_reason, func.count())
            .where(
                Application.status == ApplicationStatus.LOST.value,
                Application.closed_at >= start,
                Application.closed_at < end,
            )
            .group_by(Application.lost_reason)
        )
        return [(reason, int(count)) for reason, count in (await session.execute(query)).all()]


lead_repository = LeadRepository()
