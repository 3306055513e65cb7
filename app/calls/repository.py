from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.calls.models import Call, CallLeg
from app.dialect import upsert_insert
from app.ids import new_id
from app.recordings.models import Recording


class CallRepository:
    async def call_id_of_leg(
        self, session: AsyncSession, integration_id: str, leg_id: str
    ) -> str | None:
        query = select(CallLeg.call_id).where(
            CallLeg.integration_id == integration_id, CallLeg.provider_leg_id == leg_id
        )
        found: str | None = (await session.execute(query)).scalar_one_or_none()
        return found

    async def lock(self, session: AsyncSession, call_id: str) -> Call:
        query = select(Call).where(Call.id == call_id).with_for_update()
        return (await session.execute(query)).scalar_one()

    async def lock_or_create(
        self, session: AsyncSession, integration_id: str, provider_call_id: str, now: datetime
    ) -> Call:
        """The call row, created if new, locked until the transaction ends.

        Insert-or-nothing and then SELECT … FOR UPDATE: concurrent events of one call (on
        PostgreSQL) queue on the row lock instead of racing to create it twice. SQLite serialises
        writers anyway and ignores FOR UPDATE.
        """
        await session.execute(
            upsert_insert(session, Call)
            .values(
                id=new_id("call"),
                integration_id=integration_id,
                provider_call_id=provider_call_id,
                merge_state={},
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["integration_id", "provider_call_id"])
        )
        query = (
            select(Call)
            .where(Call.integration_id == integration_id, Call.provider_call_id == provider_call_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await session.execute(query)).scalar_one()

    async def save_leg(
        self,
        session: AsyncSession,
        *,
        call: Call,
        leg_id: str,
        last_seq: int | None,
        extension: str | None,
        answered: bool,
    ) -> None:
        values: dict[str, Any] = {
            "last_seq": last_seq,
            "extension": extension,
            "answered": answered,
        }
        statement = upsert_insert(session, CallLeg).values(
            call_id=call.id, integration_id=call.integration_id, provider_leg_id=leg_id, **values
        )
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=["integration_id", "provider_leg_id"], set_=values
            )
        )

    async def save_recording(
        self,
        session: AsyncSession,
        *,
        call_id: str,
        provider_ref: str,
        source_url: str | None,
        now: datetime,
    ) -> None:
        statement = upsert_insert(session, Recording).values(
            id=new_id("rec"),
            call_id=call_id,
            provider_ref=provider_ref,
            source_url=source_url,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            updated_at=now,
        )
        # A later event may be the first to say where the file is; nothing else ever changes here.
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=["call_id", "provider_ref"],
                set_={
                    "source_url": func.coalesce(Recording.source_url, statement.excluded.source_url)
                },
            )
        )

    async def get(self, session: AsyncSession, call_id: str) -> Call | None:
        return await session.get(Call, call_id)

    async def recordings_of(
        self, session: AsyncSession, call_ids: Sequence[str]
    ) -> dict[str, Recording]:
        """The most recent recording of each call (a call rarely has more than one)."""
        if not call_ids:
            return {}
        query = (
            select(Recording).where(Recording.call_id.in_(call_ids)).order_by(Recording.created_at)
        )
        return {row.call_id: row for row in (await session.execute(query)).scalars()}

    async def list(
        self,
        session: AsyncSession,
        *,
        filters: Sequence[ColumnElement[bool]],
        has_recording: bool | None,
        limit: int,
        before: tuple[datetime, str] | None,
    ) -> Sequence[Call]:
        """Newest first by start (or, for a call whose start is not known yet, its creation)."""
        moment = func.coalesce(Call.started_at, Call.created_at)
        query = select(Call).where(*filters).order_by(moment.desc(), Call.id.desc()).limit(limit)
        if has_recording is not None:
            recorded = exists().where(Recording.call_id == Call.id)
            query = query.where(recorded if has_recording else ~recorded)
        if before is not None:
            query = query.where(tuple_(moment, Call.id) < before)
        return (await session.execute(query)).scalars().all()


call_repository = CallRepository()
