"""All SQL of checklists and evaluations (the figures' SQL is in ``app.quality.queries``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Select, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.auth.scope import Scope
from app.calls.models import Call
from app.dialect import upsert_insert
from app.leads.models import Script
from app.quality.models import Checklist, ChecklistCriterion, Evaluation


def evaluated_call_belongs_to() -> InstrumentedAttribute[str | None]:
    """An evaluation belongs to the employee who made the call: a manager reads the evaluations
    of its own calls (docs/script_quality.md), not those of a colleague's call to one of its leads,
    though it may read that call itself (``readable_calls``)."""
    return Call.employee_id


def readable_evaluated_calls(scope: Scope) -> ColumnElement[bool] | None:
    """The calls whose evaluations ``scope`` reads (None: all), as a clause on ``call``."""
    return scope.clause(evaluated_call_belongs_to())


def readable_evaluations(scope: Scope) -> ColumnElement[bool] | None:
    """The evaluations ``scope`` may read (``app.auth.scope``); None: all of them."""
    calls = readable_evaluated_calls(scope)
    return None if calls is None else Evaluation.call_id.in_(select(Call.id).where(calls))


class ChecklistRepository:
    async def get(self, session: AsyncSession, checklist_id: str) -> Checklist | None:
        return await session.get(Checklist, checklist_id)

    async def lock(
        self, session: AsyncSession, checklist_id: str, *, shared: bool = False
    ) -> Checklist | None:
        """The version, locked until the transaction ends on PostgreSQL (SQLite has one writer
        at a time anyway): FOR UPDATE to edit it in place, FOR SHARE to start using it."""
        query = select(Checklist).where(Checklist.id == checklist_id).with_for_update(read=shared)
        return (await session.execute(query)).scalar_one_or_none()

    async def get_many(
        self, session: AsyncSession, checklist_ids: Sequence[str]
    ) -> dict[str, Checklist]:
        if not checklist_ids:
            return {}
        query = select(Checklist).where(Checklist.id.in_(checklist_ids))
        return {row.id: row for row in (await session.execute(query)).scalars()}

    async def criteria_of(
        self, session: AsyncSession, checklist_ids: Sequence[str]
    ) -> dict[str, list[ChecklistCriterion]]:
        if not checklist_ids:
            return {}
        query = (
            select(ChecklistCriterion)
            .where(ChecklistCriterion.checklist_id.in_(checklist_ids))
            .order_by(ChecklistCriterion.checklist_id, ChecklistCriterion.position)
        )
        found: dict[str, list[ChecklistCriterion]] = {key: [] for key in checklist_ids}
        for row in (await session.execute(query)).scalars():
            found[row.checklist_id].append(row)
        return found

    async def versions_of(self, session: AsyncSession, family_id: str) -> Sequence[Checklist]:
        query = (
            select(Checklist).where(Checklist.family_id == family_id).order_by(Checklist.version)
        )
        return (await session.execute(query)).scalars().all()

    async def latest_version(self, session: AsyncSession, family_id: str) -> int:
        query = select(func.max(Checklist.version)).where(Checklist.family_id == family_id)
        return int(await session.scalar(query) or 0)

    async def used(self, session: AsyncSession, checklist_ids: Sequence[str]) -> set[str]:
        """Which of the versions an evaluation uses (those can never change again)."""
        if not checklist_ids:
            return set()
        query = (
            select(Evaluation.checklist_id)
            .where(Evaluation.checklist_id.in_(checklist_ids))
            .group_by(Evaluation.checklist_id)
        )
        return set((await session.execute(query)).scalars())

    async def latest_of_families(
        self, session: AsyncSession, *, limit: int, after_id: str | None
    ) -> Sequence[Checklist]:
        """The newest version of each family, by family id."""
        newest = (
            select(Checklist.family_id, func.max(Checklist.version).label("version"))
            .group_by(Checklist.family_id)
            .subquery()
        )
        query = (
            select(Checklist)
            .join(
                newest,
                (newest.c.family_id == Checklist.family_id)
                & (newest.c.version == Checklist.version),
            )
            .order_by(Checklist.family_id)
            .limit(limit)
        )
        if after_id is not None:
            query = query.where(Checklist.family_id > after_id)
        return (await session.execute(query)).scalars().all()

    async def is_latest(self, session: AsyncSession, checklists: Sequence[Checklist]) -> set[str]:
        if not checklists:
            return set()
        families = {checklist.family_id for checklist in checklists}
        query = (
            select(Checklist.family_id, func.max(Checklist.version))
            .where(Checklist.family_id.in_(families))
            .group_by(Checklist.family_id)
        )
        newest = {family: int(version) for family, version in await session.execute(query)}
        return {c.id for c in checklists if newest.get(c.family_id) == c.version}

    async def insert_if_absent(
        self,
        session: AsyncSession,
        checklist: dict[str, object],
        criteria: Sequence[dict[str, object]],
    ) -> bool:
        """Insert a checklist with a fixed id unless it exists (concurrent starts: once)."""
        statement = (
            upsert_insert(session, Checklist)
            .values(checklist)
            .on_conflict_do_nothing(index_elements=["id"])
            .returning(Checklist.id)
        )
        if (await session.execute(statement)).scalar_one_or_none() is None:
            return False
        await session.execute(
            upsert_insert(session, ChecklistCriterion)
            .values(list(criteria))
            .on_conflict_do_nothing(index_elements=["checklist_id", "key"])
        )
        return True

    def add(self, session: AsyncSession, checklist: Checklist) -> None:
        session.add(checklist)


class EvaluationRepository:
    def get_readable_statement(self, scope: Scope) -> Select[Evaluation]:
        """Every list and get of evaluations starts here (``app.auth.scope``)."""
        statement = select(Evaluation)
        readable = readable_evaluations(scope)
        return statement if readable is None else statement.where(readable)

    async def get_readable(
        self, session: AsyncSession, evaluation_id: str, scope: Scope
    ) -> Evaluation | None:
        query = self.get_readable_statement(scope).where(Evaluation.id == evaluation_id)
        return (await session.execute(query)).scalar_one_or_none()

    async def find(
        self, session: AsyncSession, *, call_id: str, checklist_id: str, evaluator: str
    ) -> Evaluation | None:
        query = select(Evaluation).where(
            Evaluation.call_id == call_id,
            Evaluation.checklist_id == checklist_id,
            Evaluation.evaluator == evaluator,
        )
        return (await session.execute(query)).scalar_one_or_none()

    async def insert_or_revise(self, session: AsyncSession, values: dict[str, object]) -> str:
        """Create the evaluator's evaluation of the call, or revise it; returns its id.

        One statement: two first saves of the same evaluation at once (a double click) must not
        fail on the unique constraint, and the later one wins, as a revision would.
        """
        insert = upsert_insert(session, Evaluation).values(values)
        statement = insert.on_conflict_do_update(
            index_elements=["call_id", "checklist_id", "evaluator"],
            set_={
                name: getattr(insert.excluded, name)
                for name in (
                    "answers",
                    "comment",
                    "source",
                    "evaluator_employee_id",
                    "evaluator_key_id",
                    "updated_at",
                )
            },
        ).returning(Evaluation.id)
        return str((await session.execute(statement)).scalar_one())

    async def list(
        self,
        session: AsyncSession,
        scope: Scope,
        *,
        filters: Sequence[ColumnElement[bool]],
        join_call: bool,
        limit: int,
        before: tuple[datetime, str] | None,
    ) -> Sequence[Evaluation]:
        """Newest revision first."""
        query = self.get_readable_statement(scope).where(*filters)
        if join_call:
            query = query.join(Call, Call.id == Evaluation.call_id)
        if before is not None:
            query = query.where(tuple_(Evaluation.updated_at, Evaluation.id) < before)
        query = query.order_by(Evaluation.updated_at.desc(), Evaluation.id.desc()).limit(limit)
        return (await session.execute(query)).scalars().all()

    async def script_kinds(
        self, session: AsyncSession, call_ids: Sequence[str]
    ) -> dict[str, str | None]:
        """Each call's script kind (None: no script), which decides what applies."""
        if not call_ids:
            return {}
        query = (
            select(Call.id, Script.kind)
            .outerjoin(Script, Script.id == Call.script_id)
            .where(Call.id.in_(call_ids))
        )
        return {row.id: row.kind for row in await session.execute(query)}


checklist_repository = ChecklistRepository()
evaluation_repository = EvaluationRepository()
