"""A generated history with known truth: every call comes out as described, whatever the order of
its rows and however they are split between two files; and two files give what one file gives."""

from __future__ import annotations

import random

import pytest
from httpx import AsyncClient
from sqlalchemy import select

from app.calls.models import Call
from app.cdr.simulate import KINDS, csv_line, history
from app.db import Database
from app.recordings.models import Recording
from tests.cdr.support import calls_by_id, create_asterisk, upload

CONFIG = {"times_in_utc": True, "default_region": "RU", "extension_pattern": r"^\d{3}$"}


def _text(moment: object) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")  # type: ignore[attr-defined]


async def _recordings(database: Database, integration_id: str) -> dict[str, list[str]]:
    async with database.unit_of_work(read_only=True) as session:
        rows = (
            await session.execute(
                select(Call.provider_call_id, Recording.provider_ref)
                .join(Recording, Recording.call_id == Call.id)
                .where(Call.integration_id == integration_id)
            )
        ).all()
    found: dict[str, list[str]] = {}
    for call_id, ref in rows:
        found.setdefault(call_id, []).append(ref)
    return {call_id: sorted(refs) for call_id, refs in found.items()}


async def test_generated_history_round_trips_in_any_order_and_split(
    client: AsyncClient, admin: dict[str, str], database: Database
) -> None:
    calls = list(history(seed=18, calls=120))
    assert {call.expected.kind for call in calls} == set(KINDS)
    rows = [row for call in calls for row in call.rows]

    # The whole history, in the PBX's order, in one file …
    whole_id = await create_asterisk(client, admin, **CONFIG)
    whole_report = await upload(client, admin, whole_id, "".join(map(csv_line, rows)).encode())
    assert whole_report["rows_read"] == len(rows)
    assert whole_report["calls_created"] == len(calls)
    # … and shuffled, cut in two files at a random place, legs of one call on both sides.
    shuffled = rows[:]
    random.Random(7).shuffle(shuffled)
    cut = len(shuffled) // 3
    split_id = await create_asterisk(client, admin, **CONFIG)
    first = await upload(client, admin, split_id, "".join(map(csv_line, shuffled[:cut])).encode())
    second = await upload(client, admin, split_id, "".join(map(csv_line, shuffled[cut:])).encode())
    assert first["stored"] + second["stored"] == len(rows)
    assert first["calls_created"] + second["calls_created"] == len(calls)
    assert second["calls_updated"] > 0  # calls begun in the first file, finished by the second

    whole = await calls_by_id(database, whole_id)
    split = await calls_by_id(database, split_id)
    # The same calls, column for column and merge state for merge state.
    assert split == whole
    for call in calls:
        want = call.expected
        got = whole[want.provider_call_id]
        assert {
            "direction": got["direction"],
            "status": got["status"],
            "extension": got["extension"],
            "external_number": got["external_number"],
            "started_at": got["started_at"],
            "answered_at": got["answered_at"],
            "ended_at": got["ended_at"],
            "ring_seconds": got["ring_seconds"],
            "talk_seconds": got["talk_seconds"],
            "duration_seconds": got["duration_seconds"],
        } == {
            "direction": want.direction,
            "status": want.status,
            "extension": want.extension,
            "external_number": want.external_number,
            "started_at": _text(want.started_at),
            "answered_at": _text(want.answered_at),
            "ended_at": _text(want.ended_at),
            "ring_seconds": want.ring_seconds,
            "talk_seconds": want.talk_seconds,
            "duration_seconds": want.duration_seconds,
        }, want
        assert got["has_employee"] == (want.extension is not None)
        assert got["has_lead"]  # every call here has a customer
    # The recordings named in userfield, the transferred call's two legs' both.
    expected_recordings = {c.expected.provider_call_id: list(c.expected.recordings) for c in calls}
    expected_recordings = {k: v for k, v in expected_recordings.items() if v}
    assert await _recordings(database, whole_id) == expected_recordings
    assert await _recordings(database, split_id) == expected_recordings


async def test_the_bulk_path_writes_what_event_by_event_merging_writes(
    client: AsyncClient, admin: dict[str, str], database: Database
) -> None:
    from app.calls.service import call_service
    from app.integrations.models import Integration
    from app.integrations.service import config_of
    from app.webhooks.providers.asterisk import ADAPTER, stored_row
    from app.webhooks.providers.cdr_columns import FIELDS

    calls = list(history(seed=5, calls=60))
    rows = [row for call in calls for row in call.rows]
    bulk_id = await create_asterisk(client, admin, **CONFIG)
    await upload(client, admin, bulk_id, "".join(map(csv_line, rows)).encode())
    # The webhooks' way: each row's events merged on their own, one transaction per row.
    one_by_one_id = await create_asterisk(client, admin, **CONFIG)
    async with database.unit_of_work(read_only=True) as session:
        integration = await session.get(Integration, one_by_one_id)
        assert integration is not None
        config = config_of(integration)
    order = FIELDS[:21]  # the 21 cdr_csv columns, in their order
    for row in reversed(rows):
        fields = dict(zip(order, row, strict=True))
        events = ADAPTER.normalise(stored_row(fields), config)
        async with database.unit_of_work() as session:
            await call_service.merge_call_events(session, one_by_one_id, config, events)
    assert await calls_by_id(database, one_by_one_id) == await calls_by_id(database, bulk_id)
    assert await _recordings(database, one_by_one_id) == await _recordings(database, bulk_id)


async def test_a_failing_merge_keeps_only_its_calls_rows_as_failed(
    client: AsyncClient,
    admin: dict[str, str],
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app.calls.service import call_service
    from app.webhooks.models import WebhookEvent

    calls = list(history(seed=9, calls=10, kinds=("missed", "outbound")))
    broken = calls[3].expected.provider_call_id
    original = call_service.merge_events_of_one_call

    async def failing(session, integration_id, config, events):  # type: ignore[no-untyped-def]
        if events[0].provider_call_id == broken:
            raise ValueError("a bug in the merge")
        return await original(session, integration_id, config, events)

    import app.cdr.service as service

    async def bulk_fails(*_args: object) -> object:
        raise ValueError("a bug in the merge")

    monkeypatch.setattr(service, "merge_batch", bulk_fails)
    monkeypatch.setattr(call_service, "merge_events_of_one_call", failing)
    integration_id = await create_asterisk(client, admin, **CONFIG)
    rows = [row for call in calls for row in call.rows]
    report = await upload(client, admin, integration_id, "".join(map(csv_line, rows)).encode())
    assert report["stored"] == len(rows)
    assert report["failed"] == len(calls[3].rows)
    assert report["calls_created"] == len(calls) - 1
    found = await calls_by_id(database, integration_id)
    assert broken not in found
    assert len(found) == len(calls) - 1
    async with database.unit_of_work(read_only=True) as session:
        failed = (
            (
                await session.execute(
                    select(WebhookEvent.error).where(WebhookEvent.status == "failed")
                )
            )
            .scalars()
            .all()
        )
    assert failed == ["ValueError: a bug in the merge"] * len(calls[3].rows)
    # After the fix, a replay of the failed rows makes the call.
    monkeypatch.undo()
    replayed = await client.post(
        "/api/v1/webhook-events/replay", json={"status": "failed"}, headers=admin
    )
    assert replayed.json()["processed"] == len(calls[3].rows)
    assert broken in await calls_by_id(database, integration_id)
