"""Checklists and evaluations: versioning, who may evaluate, and scores as the API shows them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.repository import api_key_repository
from app.auth.service import Principal
from app.calls.repository import call_repository
from app.db import utcnow
from app.errors import Conflict, NotFound, Unprocessable
from app.ids import new_id
from app.periods import query_instant
from app.quality import queries
from app.quality.defaults import DEFAULT_CHECKLIST, DEFAULT_CHECKLIST_ID, default_criteria_rows
from app.quality.figures import (
    CriterionInfo,
    QualityFigures,
    QualityGroupBy,
    Version,
    compute_figures,
)
from app.quality.models import Checklist, ChecklistCriterion, Evaluation
from app.quality.queue import Queued, choose
from app.quality.repository import checklist_repository, evaluation_repository
from app.quality.schemas import (
    ChecklistContent,
    ChecklistCreate,
    ChecklistPublic,
    ChecklistUpdate,
    CriterionPublic,
    EvaluationPublic,
    EvaluationPut,
    SectionPublic,
)
from app.quality.scoring import AppliesTo, Criterion, band_of, score_evaluation
from app.settings.quality import ScoreBands
from app.settings.schemas import EconomicsSettings


def version_of(checklist: Checklist, criteria: Sequence[ChecklistCriterion]) -> Version:
    """The plain form of a stored version, for the pure scoring and figures."""
    return Version(
        id=checklist.id,
        version=checklist.version,
        criteria=tuple(
            CriterionInfo(
                criterion=Criterion(
                    key=row.key,
                    weight=row.weight,
                    critical=row.critical,
                    applies_to=AppliesTo(row.applies_to),
                ),
                section=row.section,
                text=row.text,
                text_ru=row.text_ru,
            )
            for row in criteria
        ),
    )


def _criteria_rows(checklist_id: str, content: ChecklistContent) -> list[ChecklistCriterion]:
    return [
        ChecklistCriterion(
            checklist_id=checklist_id,
            position=position,
            key=criterion.key,
            section=section,
            text=criterion.text,
            text_ru=criterion.text_ru,
            weight=criterion.weight,
            critical=criterion.critical,
            applies_to=criterion.applies_to.value,
        )
        for position, (section, criterion) in enumerate(content.flat(), start=1)
    ]


def _content_of(checklist: Checklist, criteria: Sequence[ChecklistCriterion]) -> dict[str, Any]:
    """A stored version as the body that would create it (the base of an edit)."""
    titles = {section["key"]: section for section in checklist.sections}
    order = [section["key"] for section in checklist.sections]
    order += [row.section for row in criteria if row.section not in order]
    return {
        "name": checklist.name,
        "name_ru": checklist.name_ru,
        "description": checklist.description,
        "sections": [
            {
                "key": key,
                "title": titles.get(key, {}).get("title") or key,
                "title_ru": titles.get(key, {}).get("title_ru"),
                "criteria": [
                    {
                        "key": row.key,
                        "text": row.text,
                        "text_ru": row.text_ru,
                        "weight": row.weight,
                        "critical": row.critical,
                        "applies_to": row.applies_to,
                    }
                    for row in criteria
                    if row.section == key
                ],
            }
            for key in order
        ],
    }


class ChecklistService:
    async def ensure_default(self, session: AsyncSession) -> bool:
        """Insert "Cold call — 17 criteria" v1 when it is missing (the migration normally has)."""
        return await checklist_repository.insert_if_absent(
            session,
            {**DEFAULT_CHECKLIST, "created_at": utcnow()},
            default_criteria_rows(),
        )

    async def get(self, session: AsyncSession, checklist_id: str) -> Checklist:
        checklist = await checklist_repository.get(session, checklist_id)
        if checklist is None:
            raise NotFound(f"checklist {checklist_id} not found")
        return checklist

    async def family_of(self, session: AsyncSession, checklist_id: str | None) -> Checklist:
        """The version named (any version names its family); none: the default checklist."""
        return await self.get(session, checklist_id or DEFAULT_CHECKLIST_ID)

    async def create(self, session: AsyncSession, body: ChecklistCreate) -> Checklist:
        checklist_id = new_id("chk")
        checklist = Checklist(
            id=checklist_id,
            family_id=checklist_id,
            version=1,
            name=body.name,
            name_ru=body.name_ru,
            description=body.description,
            sections=body.section_list(),
            created_at=utcnow(),
        )
        checklist_repository.add(session, checklist)
        await session.flush()
        session.add_all(_criteria_rows(checklist_id, body))
        await session.flush()
        return checklist

    async def new_version(
        self, session: AsyncSession, checklist_id: str, body: ChecklistUpdate
    ) -> Checklist:
        """A new version of the family (``version + 1`` of its newest), from ``checklist_id``'s
        content with the changes of ``body``; the versions before it stay as they are."""
        base = await self.get(session, checklist_id)
        criteria = (await checklist_repository.criteria_of(session, [base.id]))[base.id]
        content = self._merged(base, criteria, body)
        version = await checklist_repository.latest_version(session, base.family_id) + 1
        new = Checklist(
            id=new_id("chk"),
            family_id=base.family_id,
            version=version,
            name=content.name or base.name,
            name_ru=content.name_ru,
            description=content.description,
            sections=content.section_list(),
            created_at=utcnow(),
        )
        try:
            # A SAVEPOINT: two editors making version n + 1 at once meet the unique
            # (family_id, version); the loser gets a 409 instead of a broken transaction.
            async with session.begin_nested():
                checklist_repository.add(session, new)
                await session.flush()
        except IntegrityError as exc:
            raise Conflict(
                f"another version of checklist {base.family_id} was made at the same time; "
                "read it and try again"
            ) from exc
        session.add_all(_criteria_rows(new.id, content))
        await session.flush()
        return new

    async def edit(
        self, session: AsyncSession, checklist_id: str, body: ChecklistUpdate
    ) -> Checklist:
        """Change a version in place while nothing uses it and it is the newest; else (an
        evaluation uses it, so its scores must not move) make a new version."""
        base = await checklist_repository.lock(session, checklist_id)
        if base is None:
            raise NotFound(f"checklist {checklist_id} not found")
        used = await checklist_repository.used(session, [base.id])
        latest = await checklist_repository.latest_version(session, base.family_id)
        if used or base.version != latest:
            return await self.new_version(session, checklist_id, body)
        criteria = (await checklist_repository.criteria_of(session, [base.id]))[base.id]
        content = self._merged(base, criteria, body)
        base.name = content.name or base.name
        base.name_ru = content.name_ru
        base.description = content.description
        base.sections = content.section_list()
        await session.execute(
            delete(ChecklistCriterion).where(ChecklistCriterion.checklist_id == base.id)
        )
        await session.flush()
        session.add_all(_criteria_rows(base.id, content))
        await session.flush()
        return base

    def _merged(
        self, base: Checklist, criteria: Sequence[ChecklistCriterion], body: ChecklistUpdate
    ) -> ChecklistContent:
        merged = _content_of(base, criteria)
        changes = body.model_dump(exclude_unset=True)
        if "sections" in changes or "criteria" in changes:
            merged.pop("sections")
        merged.update(changes)
        return ChecklistContent.model_validate(merged)

    async def public(
        self, session: AsyncSession, checklists: Sequence[Checklist]
    ) -> list[ChecklistPublic]:
        ids = [checklist.id for checklist in checklists]
        criteria = await checklist_repository.criteria_of(session, ids)
        used = await checklist_repository.used(session, ids)
        latest = await checklist_repository.is_latest(session, checklists)
        return [
            _checklist_public(
                checklist, criteria[checklist.id], checklist.id in used, checklist.id in latest
            )
            for checklist in checklists
        ]


def _checklist_public(
    checklist: Checklist, criteria: Sequence[ChecklistCriterion], in_use: bool, latest: bool
) -> ChecklistPublic:
    content = _content_of(checklist, criteria)
    return ChecklistPublic(
        id=checklist.id,
        family_id=checklist.family_id,
        version=checklist.version,
        name=checklist.name,
        name_ru=checklist.name_ru,
        description=checklist.description,
        created_at=checklist.created_at,
        latest=latest,
        in_use=in_use,
        sections=[
            SectionPublic(
                key=section["key"],
                title=section["title"],
                title_ru=section["title_ru"],
                criteria=[CriterionPublic.model_validate(c) for c in section["criteria"]],
            )
            for section in content["sections"]
        ],
        criteria_count=len(criteria),
        total_weight=sum(row.weight for row in criteria),
    )


class EvaluationService:
    async def put(
        self,
        session: AsyncSession,
        call_id: str,
        checklist_id: str,
        body: EvaluationPut,
        principal: Principal,
        bands: ScoreBands,
    ) -> EvaluationPublic:
        """Create or revise the caller's evaluation of the call against that checklist version."""
        call = await call_repository.get_readable(session, call_id, principal.scope)
        if call is None:
            raise NotFound(f"call {call_id} not found")
        # Shared lock on PostgreSQL: an in-place edit of an unused version (which takes the row
        # FOR UPDATE) cannot slip in between this check and the evaluation that makes it used.
        checklist = await checklist_repository.lock(session, checklist_id, shared=True)
        if checklist is None:
            raise NotFound(f"checklist {checklist_id} not found")
        criteria = (await checklist_repository.criteria_of(session, [checklist.id]))[checklist.id]
        known = {row.key for row in criteria}
        unknown = [key for key in body.answers if key not in known]
        if unknown:
            raise Unprocessable(
                f"checklist {checklist.id} (version {checklist.version}) has no criterion "
                + ", ".join(repr(key) for key in unknown),
                errors=[
                    {"loc": ["body", "answers", key], "msg": "no such criterion in this checklist"}
                    for key in unknown
                ],
            )
        key = await api_key_repository.get(session, principal.key_id)
        employee_id = key.employee_id if key is not None else principal.employee_id
        evaluator = employee_id or (key.name if key is not None else principal.key_id)
        now = utcnow()
        evaluation_id = await evaluation_repository.insert_or_revise(
            session,
            {
                "id": new_id("eval"),
                "call_id": call.id,
                "checklist_id": checklist.id,
                "family_id": checklist.family_id,
                "evaluator": evaluator,
                "evaluator_employee_id": employee_id,
                "evaluator_key_id": principal.key_id,
                "source": body.source,
                "answers": {k: answer.value for k, answer in body.answers.items()},
                "comment": body.comment,
                "created_at": now,
                "updated_at": now,
            },
        )
        evaluation = await evaluation_repository.get_readable(
            session, evaluation_id, principal.scope
        )
        assert evaluation is not None
        await session.refresh(evaluation)
        (shown,) = await self.public(session, [evaluation], bands)
        return shown

    async def public(
        self, session: AsyncSession, evaluations: Sequence[Evaluation], bands: ScoreBands
    ) -> list[EvaluationPublic]:
        """Evaluations with their scores, computed now from their own version's criteria (which
        never change) and the call's script kind."""
        checklist_ids = sorted({e.checklist_id for e in evaluations})
        criteria = await checklist_repository.criteria_of(session, checklist_ids)
        checklists = await checklist_repository.get_many(session, checklist_ids)
        kinds = await evaluation_repository.script_kinds(
            session, sorted({e.call_id for e in evaluations})
        )
        shown = []
        for evaluation in evaluations:
            checklist = checklists[evaluation.checklist_id]
            version = version_of(checklist, criteria[checklist.id])
            kind = kinds.get(evaluation.call_id)
            result = score_evaluation(
                [info.criterion for info in version.criteria], evaluation.answers, kind
            )
            band = band_of(result.score, bands)
            shown.append(
                EvaluationPublic(
                    id=evaluation.id,
                    call_id=evaluation.call_id,
                    checklist_id=evaluation.checklist_id,
                    family_id=evaluation.family_id,
                    checklist_version=checklist.version,
                    evaluator=evaluation.evaluator,
                    evaluator_employee_id=evaluation.evaluator_employee_id,
                    source=evaluation.source,
                    answers=dict(evaluation.answers),
                    comment=evaluation.comment,
                    score=result.score,
                    band=None if band is None else band.value,
                    critical_failed=result.critical_failed,
                    yes_weight=result.yes_weight,
                    applicable_weight=result.applicable_weight,
                    script_kind=kind,
                    created_at=evaluation.created_at,
                    updated_at=evaluation.updated_at,
                )
            )
        return shown

    async def of_call(
        self, session: AsyncSession, call_id: str, principal: Principal, bands: ScoreBands
    ) -> list[EvaluationPublic]:
        call = await call_repository.get_readable(session, call_id, principal.scope)
        if call is None:
            raise NotFound(f"call {call_id} not found")
        rows = await evaluation_repository.list(
            session,
            principal.scope,
            filters=[Evaluation.call_id == call.id],
            join_call=False,
            limit=10_000,
            before=None,
        )
        return await self.public(session, rows, bands)


checklist_service = ChecklistService()
evaluation_service = EvaluationService()


QUEUE_WEEKS = 4


def queue_period(
    start: str | None, end: str | None, zone: ZoneInfo, now: datetime
) -> tuple[datetime, datetime]:
    """The calls the evaluation queue offers: from ``start`` (default: the Monday four weeks
    before ``end``'s week) to ``end`` (default ``now``), the query values read in ``zone``."""
    until = query_instant("to", end, zone) if end is not None else now
    if start is not None:
        return query_instant("from", start, zone), until
    local = until.astimezone(zone)
    monday = local.date() - timedelta(days=local.weekday() + 7 * QUEUE_WEEKS)
    return query_instant("from", monday.isoformat(), zone), until


class ScriptQualityService:
    """The figures of GET /metrics/script-quality and the evaluation queue."""

    async def figures(
        self,
        session: AsyncSession,
        *,
        start: datetime,
        end: datetime,
        as_of: datetime,
        checklist_id: str | None,
        group_by: QualityGroupBy | None,
        principal: Principal,
        settings: EconomicsSettings,
    ) -> ScriptQualityAnswer:
        (answer,) = await self.figures_by(
            session,
            start=start,
            end=end,
            as_of=as_of,
            checklist_id=checklist_id,
            groupings=[group_by],
            principal=principal,
            settings=settings,
        )
        return answer

    async def figures_by(
        self,
        session: AsyncSession,
        *,
        start: datetime,
        end: datetime,
        as_of: datetime,
        checklist_id: str | None,
        groupings: Sequence[QualityGroupBy | None],
        principal: Principal,
        settings: EconomicsSettings,
    ) -> list[ScriptQualityAnswer]:
        """The figures under several groupings, from one read of the evaluated calls."""
        named = await checklist_service.family_of(session, checklist_id)
        versions = await checklist_repository.versions_of(session, named.family_id)
        criteria = await checklist_repository.criteria_of(session, [v.id for v in versions])
        plain = {v.id: version_of(v, criteria[v.id]) for v in versions}
        calls, evaluations = await queries.evaluated(
            session,
            family_id=named.family_id,
            start=start,
            end=end,
            scope=principal.scope,
            settings=settings,
            as_of=as_of,
        )
        assert settings.timezone is not None
        zone = ZoneInfo(settings.timezone)
        return [
            ScriptQualityAnswer(
                named,
                versions[-1],
                compute_figures(
                    calls, evaluations, plain, settings.quality.bands, group_by=group_by, zone=zone
                ),
            )
            for group_by in groupings
        ]

    async def queue(
        self,
        session: AsyncSession,
        *,
        start: datetime,
        end: datetime,
        checklist_id: str | None,
        employee_id: str | None,
        principal: Principal,
        settings: EconomicsSettings,
    ) -> list[Queued]:
        named = await checklist_service.family_of(session, checklist_id)
        employee = principal.scope.requested_employee(employee_id)
        candidates = await queries.queue_candidates(
            session,
            family_id=named.family_id,
            start=start,
            end=end,
            scope=principal.scope,
            employee_id=employee,
            min_talk_seconds=settings.thresholds.conversation_s,
        )
        scored = await queries.scored_calls(
            session,
            family_id=named.family_id,
            start=start,
            end=end,
            scope=principal.scope,
            employee_id=employee,
        )
        assert settings.timezone is not None
        return choose(
            candidates,
            scored,
            per_manager_week=settings.quality.queue_per_manager_week,
            zone=ZoneInfo(settings.timezone),
        )


@dataclass(frozen=True, slots=True)
class ScriptQualityAnswer:
    checklist: Checklist  # the version named (or the default)
    latest: Checklist  # the family's newest version
    figures: QualityFigures


script_quality_service = ScriptQualityService()
