"""The default checklist: the migration's static copy equals ``app.quality.defaults``, which is the
spec's table; and start-up puts it back into a database emptied since the migration."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from sqlalchemy import delete, func, select

from app.db import Database
from app.quality.defaults import DEFAULT_CHECKLIST, DEFAULT_CHECKLIST_ID, DEFAULT_CRITERIA
from app.quality.models import Checklist, ChecklistCriterion
from app.quality.service import checklist_service

MIGRATION = (
    Path(__file__).resolve().parents[2] / "migrations/versions/20261204_0005_script_quality.py"
)


def _migration() -> ModuleType:
    spec = importlib.util.spec_from_file_location("script_quality_migration", MIGRATION)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_migration_inserts_the_default_checklist_as_the_app_knows_it() -> None:
    migration = _migration()
    assert migration.CHECKLIST_ID == DEFAULT_CHECKLIST_ID
    assert DEFAULT_CHECKLIST["sections"] == migration.SECTIONS
    assert [tuple(row) for row in migration.CRITERIA] == list(DEFAULT_CRITERIA)


def test_the_default_checklist_is_the_spec_table() -> None:
    weights = {key: weight for key, _s, _t, _r, weight, _a, _c in DEFAULT_CRITERIA}
    applies = {key: applies_to for key, _s, _t, _r, _w, applies_to, _c in DEFAULT_CRITERIA}
    assert len(DEFAULT_CRITERIA) == 17
    assert sum(w for k, w in weights.items() if applies[k] in ("any", "first_call")) == 18
    assert sum(w for k, w in weights.items() if applies[k] in ("any", "second_call")) == 23
    assert sum(weights.values()) == 28
    assert [key for key, *_rest, critical in DEFAULT_CRITERIA if critical] == ["courtesy"]


async def test_start_up_restores_a_missing_default(database: Database) -> None:
    async with database.unit_of_work() as session:
        assert not await checklist_service.ensure_default(session)  # the migration made it
        await session.execute(delete(Checklist).where(Checklist.id == DEFAULT_CHECKLIST_ID))
    async with database.unit_of_work() as session:
        assert await checklist_service.ensure_default(session)
    async with database.unit_of_work() as session:
        assert not await checklist_service.ensure_default(session)
        count = select(func.count()).where(ChecklistCriterion.checklist_id == DEFAULT_CHECKLIST_ID)
        assert await session.scalar(count) == 17
