"""``POST /api/v1/integrations/{id}/cdr`` and the asterisk integration's edges: who may import,
what is refused (with nothing stored), what a report says, replay of stored rows."""

from __future__ import annotations

from httpx import AsyncClient

from app.auth.roles import Role
from app.db import Database
from tests.cdr.support import RU_RINGGROUP, calls_by_id, create_asterisk, raw_count, upload
from tests.factories import bearer, make_key

HEADER = "calldate,src,dst,channel,dstchannel,lastapp,duration,billsec,disposition,uniqueid\n"
GOOD = "2026-11-02 10:00:00,101,89161234567,SIP/101-1,SIP/trunk-2,Dial,65,60,ANSWERED,1.1\n"


async def test_the_report_names_skipped_rows_by_line_and_reason(
    client: AsyncClient, admin: dict[str, str], database: Database
) -> None:
    integration_id = await create_asterisk(client, admin, timezone="Europe/Moscow")
    content = (
        HEADER
        + GOOD
        + "0000-00-00 00:00:00,,,,,,0,0,,\n"
        + ",101,102,SIP/101-1,SIP/102-2,Dial,5,5,ANSWERED,1.2\n"
        + "2026-11-02 10:05:00,101,102,SIP/101-1,SIP/102-2,Dial,five,5,ANSWERED,1.3\n"
        + "2026-11-02 10:06:00,101,102,SIP/101-1,SIP/102-2,Dial,5,5,MAYBE,1.4\n"
        + "2026-11-02 10:07:00,101\n"
        + GOOD  # the same row twice in one file: stored once
    )
    report = await upload(client, admin, integration_id, content.encode())
    assert report["rows_read"] == 7
    assert report["stored"] == 1
    assert report["duplicates"] == 1
    assert report["skipped"] == 5
    assert [(row["line"], row["reason"]) for row in report["skipped_rows"]] == [
        (3, "dated 0000-00-00 00:00:00"),
        (4, "no start time"),
        (5, "duration is not a number of seconds: 'five'"),
        (6, "disposition 'MAYBE' is not one Asterisk writes"),
        (7, "2 columns where the header has 10"),
    ]
    calls = await calls_by_id(database)
    assert list(calls) == ["1.1"]
    # Moscow wall time 10:00 is 07:00 UTC; answered billsec before the end (the export has no
    # answer column).
    assert calls["1.1"]["started_at"] == "2026-11-02 07:00:00"
    assert calls["1.1"]["answered_at"] == "2026-11-02 07:00:05"
    assert (calls["1.1"]["direction"], calls["1.1"]["status"]) == ("outbound", "answered")


async def test_refusals_store_nothing(
    client: AsyncClient, admin: dict[str, str], database: Database
) -> None:
    integration_id = await create_asterisk(client, admin)
    # A 17-column file whose 17th column is always empty: uniqueid or userfield?
    row = ",".join(['""'] * 9 + ['"2026-11-02 10:00:00"', "", '"2026-11-02 10:00:05"'])
    ambiguous = (row + ',5,0,"NO ANSWER","DOCUMENTATION",""\n') * 3
    response = await client.post(
        f"/api/v1/integrations/{integration_id}/cdr",
        files={"file": ("Master.csv", ambiguous.encode(), "text/csv")},
        headers=admin,
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "columns" in response.json()["detail"]
    assert await raw_count(database) == 0

    head = bearer(await make_key(database, Role.HEAD))
    files = {"file": ("Master.csv", (HEADER + GOOD).encode(), "text/csv")}
    forbidden = await client.post(
        f"/api/v1/integrations/{integration_id}/cdr", files=files, headers=head
    )
    assert forbidden.status_code == 403
    missing = await client.post("/api/v1/integrations/intg_nope/cdr", files=files, headers=admin)
    assert missing.status_code == 404
    generic = await client.post(
        "/api/v1/integrations",
        json={"provider": "generic", "name": "g", "config": {"secret": "s"}},
        headers=admin,
    )
    wrong = await client.post(
        f"/api/v1/integrations/{generic.json()['id']}/cdr", files=files, headers=admin
    )
    assert wrong.status_code == 422
    no_file = await client.post(f"/api/v1/integrations/{integration_id}/cdr", headers=admin)
    assert no_file.status_code == 422
    assert await raw_count(database) == 0
    # CDR never comes as a webhook: nothing posted to /webhooks/asterisk/... is stored.
    posted = await client.post(f"/webhooks/asterisk/{integration_id}", content=GOOD)
    assert posted.status_code == 401
    assert await raw_count(database) == 0


async def test_config_is_checked_and_the_mysql_url_never_shown(
    client: AsyncClient, admin: dict[str, str]
) -> None:
    for bad in (
        {"extension_pattern": "(("},
        {"columns": ["start", "nope"]},
        {"mysql_url": "postgresql://user:hunter2@pbx/asteriskcdrdb"},
        {"mysql_table": "cdr; DROP TABLE x"},
        {"timezone": "Mars/Olympus"},
    ):
        response = await client.post(
            "/api/v1/integrations",
            json={"provider": "asterisk", "name": "pbx", "config": bad},
            headers=admin,
        )
        assert response.status_code == 422, bad
        assert "hunter2" not in response.text
    integration_id = await create_asterisk(
        client, admin, mysql_url="mysql://reader:hunter2@pbx.local/asteriskcdrdb"
    )
    shown = await client.get(f"/api/v1/integrations/{integration_id}", headers=admin)
    assert "hunter2" not in shown.text
    assert shown.json()["webhook_url"] == f"/api/v1/integrations/{integration_id}/cdr"


async def test_stored_rows_replay_to_the_same_calls(
    client: AsyncClient, admin: dict[str, str], database: Database
) -> None:
    integration_id = await create_asterisk(
        client, admin, times_in_utc=True, extension_pattern=r"^\d{3}$"
    )
    await upload(client, admin, integration_id, RU_RINGGROUP.read_bytes())
    before = await calls_by_id(database)
    for status in ("processed", "ignored"):
        response = await client.post(
            "/api/v1/webhook-events/replay", json={"status": status}, headers=admin
        )
        assert response.status_code == 200, response.text
        assert response.json()["failed"] == 0
    assert await calls_by_id(database) == before
