"""The four anonymised real CDR files: for a few representative calls of each, the call worked out
by hand from its rows (docs/cdr.md) is asserted exactly; every file imported twice changes nothing.

The expected values below were read off the rows themselves (quoted in the comments), not off
what the code produced.
"""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient

from app.db import Database
from tests.cdr.support import (
    IVR_INTERNAL,
    RU_RINGGROUP,
    US_TRUNK,
    calls_by_id,
    create_asterisk,
    raw_count,
    upload,
)


def _call(
    direction: str,
    status: str,
    extension: str | None,
    external: str | None,
    started: str,
    answered: str | None,
    ended: str,
    ring: int,
    talk: int,
    duration: int,
) -> dict[str, Any]:
    return {
        "direction": direction,
        "status": status,
        "extension": extension,
        "external_number": external,
        "started_at": started,
        "answered_at": answered,
        "ended_at": ended,
        "ring_seconds": ring,
        "talk_seconds": talk,
        "duration_seconds": duration,
    }


def _picked(calls: dict[str, dict[str, Any]], call_id: str) -> dict[str, Any]:
    call = calls[call_id]
    return {name: call[name] for name in _call("", "", None, None, "", None, "", 0, 0, 0)}


async def _import_twice(
    client: AsyncClient, admin: dict[str, str], database: Database, content: bytes, **config: Any
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    integration_id = await create_asterisk(client, admin, **config)
    first = await upload(client, admin, integration_id, content)
    calls = await calls_by_id(database)
    raw = await raw_count(database)
    second = await upload(client, admin, integration_id, content)
    # Importing it again stores nothing and changes nothing, the merge state included.
    assert second["stored"] == 0
    assert second["duplicates"] == first["stored"]
    assert second["calls_created"] == 0
    assert second["calls_updated"] == 0
    assert await calls_by_id(database) == calls
    assert await raw_count(database) == raw
    return first, calls


async def test_ru_ring_groups_of_local_channels(
    client: AsyncClient, admin: dict[str, str], database: Database
) -> None:
    # The office's extensions are three digits; 211553/211474 are its DIDs (trunks) and 214943 a
    # local city number, all six digits, so the default pattern (2-6 digits) would take them too.
    report, calls = await _import_twice(
        client,
        admin,
        database,
        RU_RINGGROUP.read_bytes(),
        times_in_utc=True,
        default_region="RU",
        extension_pattern=r"^\d{3}$",
    )
    assert report["rows_read"] == 84
    assert report["stored"] == 84
    assert report["skipped"] == 0  # the cp1251 caller names and unquoted empty answers included
    # One call per linkedid (36 of them), the system-name-prefixed ones included.
    assert len(calls) == 36
    assert report["calls_created"] == 36
    # The 15 rows of the trunk dialling a Local/...;1 half: the ;2 half's row is the real dial.
    assert report["technical"] == 15

    # linkedid 1706407446.50, a ring group of three Local pairs: ch1;2 rang SIP/301 (answered
    # 02:04:12 with billsec 0), the trunk's three dials into Local/...;1 are technical, then the
    # trunk's leg bridged to SIP/301-00000012 from 02:04:12 to 02:04:29, billsec 17.
    assert _picked(calls, "1706407446.50") == _call(
        "inbound", "answered", "301", "+79021630536",
        "2024-01-28 02:04:06", "2024-01-28 02:04:12", "2024-01-28 02:04:29", 6, 17, 23,
    )  # fmt: skip
    assert calls["1706407446.50"]["has_employee"]
    assert calls["1706407446.50"]["has_lead"]
    # linkedid 1706372196.12: the same ring group, nobody answered (all NO ANSWER, 16:16:36 to
    # 16:17:16): one missed call, not eight.
    assert _picked(calls, "1706372196.12") == _call(
        "inbound", "no_answer", None, "+79249949440",
        "2024-01-27 16:16:36", None, "2024-01-27 16:17:16", 40, 0, 40,
    )  # fmt: skip
    # 1706368044.0: lastapp Hangup, no dstchannel, ANSWERED for 27 s: only the PBX answered.
    assert _picked(calls, "1706368044.0") == _call(
        "inbound", "no_answer", None, "+79249949440",
        "2024-01-27 15:07:24", None, "2024-01-27 15:07:51", 27, 0, 27,
    )  # fmt: skip
    assert not calls["1706368044.0"]["has_employee"]
    # mainserverdss-1706443058.100: SIP/stadionpbx BUSY at once.
    assert _picked(calls, "mainserverdss-1706443058.100") == _call(
        "inbound", "busy", None, "+79021941500",
        "2024-01-28 11:57:38", None, "2024-01-28 11:57:38", 0, 0, 0,
    )  # fmt: skip
    # mainserverdss-1706421930.5: SIP/301 answered 06:05:40, billsec 33 (the times say 34: talk
    # is billsec), ended 06:06:14; duration is end - start = 44, not ring + talk.
    assert _picked(calls, "mainserverdss-1706421930.5") == _call(
        "inbound", "answered", "301", "+79149390771",
        "2024-01-28 06:05:30", "2024-01-28 06:05:40", "2024-01-28 06:06:14", 10, 33, 44,
    )  # fmt: skip
    # 1706415046.98: "810 7 109…" is an international number; SIP/301 did not answer and the
    # remote PBX (SIP/stadionpbx, no extension) did: nobody of ours answered it.
    assert _picked(calls, "1706415046.98") == _call(
        "inbound", "no_answer", None, "+71094128801",
        "2024-01-28 04:10:46", None, "2024-01-28 04:11:23", 37, 0, 37,
    )  # fmt: skip
    # 1706412022.63: a caller with a 6-digit city number (no extension under this pattern).
    assert calls["1706412022.63"]["direction"] == "inbound"
    assert calls["1706412022.63"]["extension"] == "301"


async def test_us_trunk_busy_congestion_and_call_files(
    client: AsyncClient, admin: dict[str, str], database: Database
) -> None:
    report, calls = await _import_twice(
        client, admin, database, US_TRUNK.read_bytes(), times_in_utc=True, default_region="US"
    )
    assert report["rows_read"] == 269
    assert report["skipped"] == 0
    # 1473179935.0: extension 1500 dialled Google Voice, NO ANSWER after a second.
    assert _picked(calls, "1473179935.0") == _call(
        "outbound", "no_answer", "1500", "+12488423343",
        "2016-09-06 16:38:55", None, "2016-09-06 16:38:56", 1, 0, 1,
    )  # fmt: skip
    # 1474040546.32: a call file's Local/...;1 dialled the trunk (BUSY, 15:42:35-15:42:42); its
    # second row (Congestion, no dstchannel) is the Local half's own application: technical.
    assert _picked(calls, "1474040546.32") == _call(
        "outbound", "busy", None, "+12488423343",
        "2016-09-16 15:42:35", None, "2016-09-16 15:42:42", 7, 0, 7,
    )  # fmt: skip
    # 1473242767.4: 1234 on SIP/50.112.48.21 dialled Console/dsp: no dstchannel, so the channel
    # that answered is no extension's: not answered by a person.
    assert calls["1473242767.4"]["status"] == "no_answer"
    # 1473242767.5: VoiceMail answered the call from 1235 to 1235.
    assert calls["1473242767.5"]["status"] == "no_answer"
    assert calls["1473242767.5"]["direction"] == "internal"
    # The Local;1 halves that only ran Wait/Hangup/AppDial2 (uniqueid 1474044879.0, …) are
    # technical and make no call of their own.
    assert "1474044879.0" not in calls
    assert report["technical"] > 0


async def test_ivr_voicemail_and_internal_calls(
    client: AsyncClient, admin: dict[str, str], database: Database
) -> None:
    report, calls = await _import_twice(
        client,
        admin,
        database,
        IVR_INTERNAL.read_bytes(),
        timezone="America/Bogota",
        default_region="CO",
    )
    assert report["rows_read"] == 105
    assert report["skipped"] == 0
    # 1427374175.5: 101 dialled 100, answered 12:49:40 local (UTC-5), billsec 25.
    assert _picked(calls, "1427374175.5") == _call(
        "internal", "answered", "100", None,
        "2015-03-26 17:49:35", "2015-03-26 17:49:40", "2015-03-26 17:50:05", 5, 25, 30,
    )  # fmt: skip
    # 1428415849.0: 101 dialled 100 and VoiceMail answered (ANSWERED, billsec 18): nobody did.
    assert _picked(calls, "1428415849.0") == _call(
        "internal", "no_answer", "101", None,
        "2015-04-07 19:10:49", None, "2015-04-07 19:11:11", 22, 0, 22,
    )  # fmt: skip
    # 1429025256.1: BUSY with an answer time and 27 s of billsec is still busy.
    assert _picked(calls, "1429025256.1") == _call(
        "internal", "busy", "102", None,
        "2015-04-14 20:27:36", None, "2015-04-14 20:28:03", 27, 0, 27,
    )  # fmt: skip
    # 1428416135.10: the IVR menu (WaitExten) answered 101's call.
    assert calls["1428416135.10"]["status"] == "no_answer"
    # 1428419760.34: a call-file row (empty src) ringing SIP/100 to play a recording.
    assert calls["1428419760.34"]["extension"] == "100"
    assert calls["1428419760.34"]["status"] == "no_answer"
