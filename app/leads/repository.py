from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    ColumnElement,
    Select,
    Subquery,
    and_,
    delete,
    func,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scope import Scope
from app.calls.models import Call
from app.calls.outcomes import Outcome
from app.dialect import upsert_insert
from app.leads.models import Application, ApplicationStatus, Contract, Lead, LeadPhone, Script
from app.leads.schemas import ApplicationFilters, ContractFilters, LeadFilters
from app.metrics.models import LeadEvidence
from app.recordings.models import Recording

if TYPE_CHECKING:  # the funnel's queries import this module
    from app.metrics.queries import LeadStage


def lead_belongs_to(first_dialler: ColumnElement[str | None]) -> ColumnElement[str | None]:
    """docs/metrics.md → Grouping: a lead belongs to its owner, else to whoever dialled it first.

    The one statement of the rule: the funnel's grouping (``app.metrics.queries``, which knows
    the first dialler from its evidence pass) uses it, and the readable leads below follow it.
    """
    return func.coalesce(Lead.owner_id, first_dialler)


def readable_leads(scope: Scope) -> ColumnElement[bool] | None:
    """The leads ``scope`` may read (None: all of them); see ``app.auth.scope``.

    ``lead_belongs_to`` with the funnel's own first dialler (the kept ``lead_evidence``, whose
    ``first_dialler`` is an outbound call's when ``first_dial_at`` is set), written as "owned by
    it, or owned by nobody and first dialled by it": two sets each database builds once per
    statement, where the coalesce would look up every lead's first call one lead at a time.
    """
    owned = scope.clause(Lead.owner_id)
    dialled = scope.clause(LeadEvidence.first_dialler)
    if owned is None or dialled is None:
        return None
    first_dialled = select(LeadEvidence.lead_id).where(
        LeadEvidence.first_dial_at.is_not(None), dialled
    )
    return or_(owned, and_(Lead.owner_id.is_(None), Lead.id.in_(first_dialled)))


def readable_lead_ids(scope: Scope) -> Select[str] | None:
    """``readable_leads`` as a subquery of ids, for the tables that hang off a lead."""
    clause = readable_leads(scope)
    return None if clause is None else select(Lead.id).where(clause)


def _of_readable_leads(scope: Scope) -> list[ColumnElement[bool]]:
    ids = readable_lead_ids(scope)
    return [] if ids is None else [Application.lead_id.in_(ids)]


def _lead_clauses(filters: LeadFilters, stage: LeadStage) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if filters.phone_e164 is not None:
        clauses.append(Lead.phones.any(phone_e164=filters.phone_e164))
    if filters.campaign is not None:
        clauses.append(Lead.campaign == filters.campaign)
    if filters.owner_id is not None:
        clauses.append(Lead.owner_id == filters.owner_id)
    if filters.status is not None:
        clauses.append(Lead.status == filters.status)
    clauses += [Lead.search_text.contains(word, autoescape=True) for word in filters.words]
    if filters.stage is not None:
        clauses.append(stage.value == filters.stage)
    return clauses


def _application_clauses(filters: ApplicationFilters) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if filters.created_from is not None:
        clauses.append(Application.created_at >= filters.created_from)
    if filters.created_to is not None:
        clauses.append(Application.created_at < filters.created_to)
    if filters.status is not None:
        clauses.append(Application.status == filters.status)
    if filters.lead_id is not None:
        clauses.append(Application.lead_id == filters.lead_id)
    return clauses


def _contract_clauses(filters: ContractFilters) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if filters.signed_from is not None:
        clauses.append(Contract.signed_at >= filters.signed_from)
    if filters.signed_to is not None:
        clauses.append(Contract.signed_at < filters.signed_to)
    if filters.lead_id is not None:
        clauses.append(Application.lead_id == filters.lead_id)
    return clauses


class LeadRepository:
    def get_readable_statement(self, scope: Scope) -> Select[Lead]:
        """Every list and get of leads starts here, so what a key reads has one home."""
        clause = readable_leads(scope)
        statement = select(Lead)
        return statement if clause is None else statement.where(clause)

    async def get(self, session: AsyncSession, lead_id: str) -> Lead | None:
        """Any lead, whoever asks: for writers and the ingestion, never for a reader's answer."""
        return await session.get(Lead, lead_id)

    async def get_readable(self, session: AsyncSession, lead_id: str, scope: Scope) -> Lead | None:
        query = self.get_readable_statement(scope).where(Lead.id == lead_id)
        return (await session.execute(query)).scalar_one_or_none()

    async def list(
        self,
        session: AsyncSession,
        scope: Scope,
        filters: LeadFilters,
        *,
        stage: LeadStage,
        limit: int,
        after_id: str | None,
    ) -> Sequence[Lead]:
        """Readable leads matching ``filters`` by id; ``stage`` is the funnel's stage of the lead
        (``app.metrics.queries.lead_stage``)."""
        query = (
            stage.join(self.get_readable_statement(scope))
            .where(*_lead_clauses(filters, stage))
            .order_by(Lead.id)
            .limit(limit)
        )
        if after_id is not None:
            query = query.where(Lead.id > after_id)
        return (await session.execute(query)).scalars().all()

    async def stage_counts(
        self, session: AsyncSession, scope: Scope, stage: LeadStage
    ) -> dict[int, int]:
        """Readable leads per ``stage`` (``app.metrics.queries.lead_stage``), stages with none
        left out."""
        staged = (
            stage.join(self.get_readable_statement(scope))
            .with_only_columns(stage.value.label("stage"), maintain_column_froms=True)
            .subquery("staged")
        )
        query = select(staged.c.stage, func.count()).group_by(staged.c.stage)
        return {int(at): int(leads) for at, leads in (await session.execute(query)).all()}

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

    async def lock(self, session: AsyncSession, lead_ids: Sequence[str]) -> None:
        """Lock these leads' rows until the transaction ends, always in id order (no deadlock).

        PostgreSQL only: SQLite has a single writer, whose transaction already excludes others.
        """
        if session.get_bind().dialect.name != "postgresql":
            return
        query = select(Lead.id).where(Lead.id.in_(sorted(set(lead_ids)))).order_by(Lead.id)
        await session.execute(query.with_for_update())

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

    def get_readable_applications_statement(self, scope: Scope) -> Select[Application]:
        """Applications of the leads ``scope`` may read."""
        return select(Application).where(*_of_readable_leads(scope))

    async def get_readable_application(
        self, session: AsyncSession, application_id: str, scope: Scope
    ) -> Application | None:
        query = self.get_readable_applications_statement(scope).where(
            Application.id == application_id
        )
        return (await session.execute(query)).scalar_one_or_none()

    async def applications(
        self,
        session: AsyncSession,
        scope: Scope,
        filters: ApplicationFilters,
        *,
        limit: int,
        after: tuple[datetime, str] | None,
    ) -> Sequence[Application]:
        query = (
            self.get_readable_applications_statement(scope)
            .where(*_application_clauses(filters))
            .order_by(Application.created_at, Application.id)
            .limit(limit)
        )
        if after is not None:
            query = query.where(tuple_(Application.created_at, Application.id) > after)
        return (await session.execute(query)).scalars().all()

    async def contracts(
        self,
        session: AsyncSession,
        scope: Scope,
        filters: ContractFilters,
        *,
        limit: int,
        after: tuple[datetime, str] | None,
    ) -> Sequence[tuple[Contract, str]]:
        """Contracts of the readable leads with their lead's id, in signing order."""
        query = (
            select(Contract, Application.lead_id)
            .join(Application, Application.id == Contract.application_id)
            .where(*_of_readable_leads(scope), *_contract_clauses(filters))
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
                Application.status == ApplicationStatus.OPEN,
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
                Call.outcome == Outcome.REFUSED,
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
                Application.status == ApplicationStatus.LOST,
                Application.closed_at >= start,
                Application.closed_at < end,
            )
            .group_by(Application.lost_reason)
        )
        return [(reason, int(count)) for reason, count in (await session.execute(query)).all()]


lead_repository = LeadRepository()
