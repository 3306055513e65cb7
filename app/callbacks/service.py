"""Missed calls and callbacks: SQL brings the calls, ``cases`` walks them, this joins the two."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scope import Scope
from app.callbacks import queries
from app.callbacks.cases import (
    Case,
    CaseStatus,
    Figures,
    Group,
    GroupBy,
    GroupKey,
    Rules,
    ShortAbandon,
    figures,
    grouped,
    lead_cases,
    short_abandons,
)
from app.callbacks.schemas import (
    CallbackCase,
    CallbackFigures,
    CallbackGroup,
    CallbackManager,
    CallbackMetricsResponse,
    CallbackPeriod,
    CallbacksSection,
    LostHotLead,
)
from app.errors import Unprocessable
from app.metrics.queries import without_jit
from app.metrics.service import resolve_period
from app.pagination import Page, PageParams, paginate
from app.periods import query_instant
from app.settings.schemas import EconomicsSettings

# The case list without ``from``: the last 90 days of cases (a pending case is at most
# window_hours old, so the work list needs no default).
DEFAULT_LIST_DAYS = 90
# A period longer than this is refused: its cases would be walked in one request.
MAX_PERIOD_DAYS = 400
_TICK = timedelta(microseconds=1)
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

StatusFilter = Literal["pending", "contacted", "lost"]


@dataclass(frozen=True, slots=True)
class CaseSet:
    """The cases opened in a period and its short abandons, as one key may read them."""

    start: datetime
    end: datetime
    as_of: datetime
    zone: ZoneInfo
    cases: list[Case]
    abandons: list[ShortAbandon]

    def figures(self) -> Figures:
        return figures(self.cases, self.abandons)

    def groups(self, group_by: GroupBy) -> list[Group]:
        return grouped(self.cases, self.abandons, group_by, self.zone)


def _unprocessable(name: str, message: str) -> Unprocessable:
    return Unprocessable.at("query", name, msg=message)


def group_label(group_by: GroupBy, key: GroupKey, names: dict[str, str]) -> str | None:
    if key is None:
        return None
    if group_by == "employee":
        return names.get(str(key), str(key))
    if group_by == "weekday":
        return _WEEKDAYS[int(key) - 1]
    if group_by == "hour":
        return f"{int(key):02d}:00"
    return str(key)


class CallbacksService:
    async def case_set(
        self,
        session: AsyncSession,
        settings: EconomicsSettings,
        *,
        start: datetime,
        end: datetime,
        as_of: datetime,
        scope: Scope,
        employee_id: str | None = None,
    ) -> CaseSet:
        """The cases opened in ``[start, end)`` (by ``as_of``) that the scope reads, and the
        short abandons started in it; ``employee_id`` narrows to one owner."""
        if end - start > timedelta(days=MAX_PERIOD_DAYS):
            raise _unprocessable("to", f"a period covers at most {MAX_PERIOD_DAYS} days")
        assert settings.timezone is not None
        zone = ZoneInfo(settings.timezone)
        rules = Rules(settings.callbacks, settings.thresholds.reached_s, zone)
        window = timedelta(hours=settings.callbacks.window_hours)
        # PostgreSQL's JIT took 7.5 s of the lead facts' 12.9 s (a month at 1 M calls, loaded
        # machine) compiling expressions for a few hundred thousand rows.
        await without_jit(session)
        calls = await queries.calls_for_cases(session, start, end, as_of, window)
        leads = await queries.lead_facts(session, queries.touched_leads(start, end, as_of), as_of)
        wanted = scope.requested_employee(employee_id)

        def readable(owner: str | None) -> bool:
            return scope.admits(owner) and (wanted is None or owner == wanted)

        cases: list[Case] = []
        abandons: list[ShortAbandon] = []
        for lead_id, lead_calls in calls.items():
            lead = leads.get(lead_id)
            if lead is None:  # deleted between the two statements
                continue
            cases += (
                case
                for case in lead_cases(lead_calls, lead, rules, as_of)
                if start <= case.opened_at < end and readable(case.owner_id)
            )
            abandons += (
                abandon
                for abandon in short_abandons(lead_calls, lead, rules, as_of)
                if start <= abandon.started_at < end and readable(abandon.owner_id)
            )
        return CaseSet(start, end, as_of, zone, cases, abandons)

    async def metrics(
        self,
        session: AsyncSession,
        settings: EconomicsSettings,
        *,
        start: str | None,
        end: str | None,
        as_of: str | None,
        group_by: GroupBy | None,
        employee_id: str | None,
        scope: Scope,
        now: datetime,
    ) -> CallbackMetricsResponse:
        assert settings.timezone is not None
        zone = ZoneInfo(settings.timezone)
        begin, finish = resolve_period(start, end, zone, now)
        moment = query_instant("as_of", as_of, zone) if as_of else now
        found = await self.case_set(
            session,
            settings,
            start=begin,
            end=finish,
            as_of=moment,
            scope=scope,
            employee_id=employee_id,
        )
        groups = None
        if group_by is not None:
            names = await queries.employee_names(session) if group_by == "employee" else {}
            groups = [
                CallbackGroup.of_group(
                    group.key, group_label(group_by, group.key, names), group.figures
                )
                for group in found.groups(group_by)
            ]
        return CallbackMetricsResponse(
            period=CallbackPeriod(from_=begin, to=finish, timezone=zone.key, as_of=moment),
            settings=settings.callbacks,
            total=CallbackFigures.of(found.figures()),
            groups=groups,
        )

    async def cases(
        self,
        session: AsyncSession,
        settings: EconomicsSettings,
        page: PageParams,
        *,
        status: StatusFilter | None,
        employee_id: str | None,
        start: str | None,
        end: str | None,
        as_of: str | None,
        scope: Scope,
        now: datetime,
    ) -> Page[CallbackCase]:
        """The cases, newest first; the pending ones oldest first (the work list)."""
        assert settings.timezone is not None
        zone = ZoneInfo(settings.timezone)
        moment = query_instant("as_of", as_of, zone) if as_of else now
        window = timedelta(hours=settings.callbacks.window_hours)
        if start is not None:
            begin = query_instant("from", start, zone)
        elif status == "pending":
            begin = moment - window  # a pending case's deadline is still ahead
        else:
            begin = moment - timedelta(days=DEFAULT_LIST_DAYS)
        finish = query_instant("to", end, zone) if end is not None else moment + _TICK
        if finish <= begin:
            raise _unprocessable("to", "to must be after from")
        found = await self.case_set(
            session,
            settings,
            start=begin,
            end=finish,
            as_of=moment,
            scope=scope,
            employee_id=employee_id,
        )
        wanted = found.cases if status is None else [c for c in found.cases if c.status == status]
        oldest_first = status == CaseStatus.PENDING.value
        wanted.sort(key=lambda c: (c.opened_at, c.first_missed_call_id), reverse=not oldest_first)
        after = page.after_moment()
        if after is not None:
            # The rows after the cursor in the list's own order.
            wanted = [
                c
                for c in wanted
                if (
                    (c.opened_at, c.first_missed_call_id) > after
                    if oldest_first
                    else (c.opened_at, c.first_missed_call_id) < after
                )
            ]
        rows = wanted[: page.limit + 1]
        cards = await queries.lead_cards(session, sorted({c.lead_id for c in rows}))
        names = await queries.employee_names(session)
        return paginate(
            rows,
            page,
            to_item=lambda c: CallbackCase.of(
                c,
                *cards.get(c.lead_id, (None, None)),
                owner_name=names.get(c.owner_id) if c.owner_id else None,
            ),
            key=lambda c: (c.opened_at.isoformat(), c.first_missed_call_id),
        )

    async def weekly_section(
        self,
        session: AsyncSession,
        settings: EconomicsSettings,
        *,
        start: datetime,
        end: datetime,
        previous_start: datetime,
        as_of: datetime,
        scope: Scope,
    ) -> CallbacksSection:
        """The weekly report's section: the week ``[start, end)`` against the one before,
        ``[previous_start, start)`` (a local week: 7 × 24 hours but where the clocks change)."""
        this = await self.case_set(
            session, settings, start=start, end=end, as_of=as_of, scope=scope
        )
        before = await self.case_set(
            session, settings, start=previous_start, end=start, as_of=as_of, scope=scope
        )
        names = await queries.employee_names(session)
        hot_lost = sorted(
            (c for c in this.cases if c.status is CaseStatus.LOST and c.hot),
            key=lambda c: (c.opened_at, c.first_missed_call_id),
        )
        cards = await queries.lead_cards(session, sorted({c.lead_id for c in hot_lost}))
        managers = [
            CallbackManager.model_validate(
                {
                    **CallbackFigures.of(group.figures).model_dump(),
                    "employee_id": group.key,
                    "name": None if group.key is None else names.get(str(group.key)),
                }
            )
            for group in this.groups("employee")
        ]
        return CallbacksSection(
            this_week=CallbackFigures.of(this.figures()),
            previous_week=CallbackFigures.of(before.figures()),
            managers=managers,
            hot_lost=[
                LostHotLead(
                    lead_id=c.lead_id,
                    company=cards.get(c.lead_id, (None, None))[0],
                    phone=cards.get(c.lead_id, (None, None))[1],
                    opened_at=c.opened_at,
                    missed_calls=c.missed_calls,
                    first_attempt_at=c.first_attempt_at,
                    owner_id=c.owner_id,
                    owner_name=names.get(c.owner_id) if c.owner_id else None,
                )
                for c in hot_lost
            ],
        )


callbacks_service = CallbacksService()
