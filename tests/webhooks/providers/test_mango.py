from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest

from app.calls.events import CallStatus, Direction, RecordingRef
from app.webhooks.providers import get_adapter, mango
from app.webhooks.providers.base import (
    HandshakeReply,
    InboundRequest,
    MalformedRequestError,
    NormalisationError,
    SignatureError,
    StoredEvent,
)
from tests.webhooks.providers.support import ingest, load

FIXTURE = load("mango")
ADAPTER = mango.ADAPTER
CONFIG = FIXTURE.config(mango.MangoConfig)
KEY, SALT = FIXTURE.integration["api_key"], FIXTURE.integration["api_salt"]


def signed(
    data: dict[str, Any] | str, kind: str = "call", *, key: str = KEY, salt: str = SALT
) -> InboundRequest:
    """A Mango request signed here, independently of the adapter's own helpers."""
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    sign = hashlib.sha256((key + payload + salt).encode()).hexdigest()
    body = urlencode([("vpbx_api_key", key), ("sign", sign), ("json", payload)]).encode()
    return InboundRequest("POST", f"events/{kind}", {}, {}, body, integration_id="intg_x")


def fixture_request(index: int) -> InboundRequest:
    return FIXTURE.inbound(FIXTURE.requests[index])


def form(request: InboundRequest) -> dict[str, str]:
    return dict(parse_qsl(request.body.decode(), keep_blank_values=True))


def reform(request: InboundRequest, **changes: str) -> InboundRequest:
    fields = {**form(request), **changes}
    return replace(request, body=urlencode(list(fields.items())).encode())


def normalise_one(request: InboundRequest) -> list[Any]:
    [(_, events)] = ingest(ADAPTER, request, CONFIG)
    return events


SUMMARY_1001 = 3
SUMMARY_1002 = 8


def test_registry_serves_mango() -> None:
    assert get_adapter("mango") is ADAPTER
    assert ADAPTER.config_model is mango.MangoConfig
    assert mango.MangoConfig.secret_fields == {"api_key", "api_salt"}
    assert CONFIG.public_dict() == {"timezone": "Europe/Moscow", "default_region": "RU"}


def test_summary_is_final_with_durations_in_utc() -> None:
    [answered] = normalise_one(fixture_request(SUMMARY_1001))
    assert answered.final
    assert answered.provider_call_id == "E1001"
    assert answered.direction is Direction.OUTBOUND
    assert answered.status is CallStatus.ANSWERED
    assert (answered.extension, answered.external_number) == ("101", "79161234567")
    assert answered.started_at == datetime(2026, 11, 16, 7, 0, 0, tzinfo=UTC)
    assert answered.answered_at == datetime(2026, 11, 16, 7, 0, 10, tzinfo=UTC)
    assert answered.ended_at == datetime(2026, 11, 16, 7, 1, 45, tzinfo=UTC)
    assert (answered.ring_seconds, answered.talk_seconds, answered.duration_seconds) == (
        10,
        95,
        105,
    )
    assert answered.disconnect_reason == "1110"

    [missed] = normalise_one(fixture_request(SUMMARY_1002))
    assert missed.status is CallStatus.NO_ANSWER
    assert missed.answered_at is None
    assert (missed.ring_seconds, missed.talk_seconds, missed.duration_seconds) == (30, 0, 30)


def test_inbound_summary_takes_the_employee_from_the_callee() -> None:
    [summary] = normalise_one(fixture_request(12))
    assert summary.direction is Direction.INBOUND
    assert (summary.extension, summary.external_number) == ("102", "79161234567")
    assert (summary.ring_seconds, summary.talk_seconds, summary.duration_seconds) == (8, 42, 50)


def summary(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "entry_id": "E9",
        "call_direction": 2,
        "from": {"extension": "101"},
        "to": {"number": "79161234567"},
        "create_time": 1794812400,
        "talk_time": 0,
        "end_time": 1794812430,
        "entry_result": 0,
    }
    return {**base, **changes}


def test_answered_is_judged_by_talk_time_not_entry_result() -> None:
    [lying_answered] = normalise_one(signed(summary(entry_result=1), "summary"))
    assert lying_answered.status is CallStatus.NO_ANSWER
    assert lying_answered.talk_seconds == 0
    [lying_missed] = normalise_one(signed(summary(talk_time=1794812410, entry_result=0), "summary"))
    assert lying_missed.status is CallStatus.ANSWERED
    assert (lying_missed.ring_seconds, lying_missed.talk_seconds) == (10, 20)


def test_fields_are_read_leniently() -> None:
    event = {
        "entry_id": "E9",
        "call_id": "L9",
        "timestamp": "1794812400",
        "seq": "1",
        "call_state": "Appeared",
        "from": {"extension": 101},
        "to": {"number": "sip:79161234567@trunk.example"},
    }
    [appeared] = normalise_one(signed(event))
    assert appeared.seq == 1
    assert appeared.started_at == datetime(2026, 11, 16, 7, 0, tzinfo=UTC)
    assert (appeared.extension, appeared.external_number) == ("101", "79161234567")
    [stated] = normalise_one(
        signed(summary(call_direction="1", to={"extension": "102"}), "summary")
    )
    assert stated.direction is Direction.INBOUND
    assert stated.extension == "102"


def test_call_events_report_each_leg_moment() -> None:
    appeared, connected, disconnected = (normalise_one(fixture_request(i))[0] for i in (9, 10, 11))
    assert [e.seq for e in (appeared, connected, disconnected)] == [1, 2, 3]
    assert {e.leg_id for e in (appeared, connected, disconnected)} == {"L1003"}
    assert appeared.status is CallStatus.RINGING
    assert appeared.started_at == datetime(2026, 11, 16, 8, 0, tzinfo=UTC)
    # A ringing leg of an inbound call is not yet the employee: only the answered one is.
    assert appeared.extension is None
    assert connected.extension == "102"
    assert connected.answered_at == datetime(2026, 11, 16, 8, 0, 8, tzinfo=UTC)
    assert disconnected.disconnect_reason == "1110"
    assert not any(e.final for e in (appeared, connected, disconnected))


def test_recordings() -> None:
    [completed] = normalise_one(fixture_request(4))
    assert completed.recording == RecordingRef("cmVjLTEwMDE=")
    assert completed.provider_call_id == "E1001"
    assert completed.seq is None  # the recording's seq is not the leg's
    [added] = normalise_one(fixture_request(5))
    assert added.recording == RecordingRef("cmVjLTEwMDE=")
    started = {"recording_id": "R1", "recording_state": "Started", "entry_id": "E1", "seq": 1}
    assert normalise_one(signed(started, "recording")) == []


# --- signatures -----------------------------------------------------------------------------------


def test_tampered_json_is_refused() -> None:
    request = fixture_request(SUMMARY_1001)
    payload = form(request)["json"].replace('"talk_time":1794812410', '"talk_time":1794812500')
    with pytest.raises(SignatureError):
        ADAPTER.verify(reform(request, json=payload), CONFIG)


def test_reserialised_json_is_refused() -> None:
    # The signature covers the json text as sent: the same object spelled otherwise is not signed.
    request = fixture_request(0)
    spaced = json.dumps(json.loads(form(request)["json"]))
    with pytest.raises(SignatureError):
        ADAPTER.verify(reform(request, json=spaced), CONFIG)


def test_tampered_or_missing_sign_is_refused() -> None:
    request = fixture_request(0)
    with pytest.raises(SignatureError):
        ADAPTER.verify(reform(request, sign="0" * 64), CONFIG)
    without = {k: v for k, v in form(request).items() if k != "sign"}
    with pytest.raises(SignatureError):
        ADAPTER.verify(replace(request, body=urlencode(without).encode()), CONFIG)


def test_another_accounts_key_is_refused_even_when_signed_with_it() -> None:
    request = signed(summary(), "summary", key="mk_other")
    with pytest.raises(SignatureError, match="vpbx_api_key"):
        ADAPTER.verify(request, CONFIG)


@pytest.mark.parametrize(("key", "salt"), [("", SALT), (KEY, ""), ("", "")])
def test_an_empty_secret_refuses_everything(key: str, salt: str) -> None:
    # Signed correctly with the empty values, so only the empty-secret rule can refuse it.
    config = FIXTURE.config(mango.MangoConfig, api_key=key, api_salt=salt)
    with pytest.raises(SignatureError, match="no secret"):
        ADAPTER.verify(signed(summary(), "summary", key=key, salt=salt), config)


def test_unreadable_body_is_not_authentic() -> None:
    with pytest.raises(SignatureError):
        ADAPTER.verify(replace(fixture_request(0), body=b"json=%ff%fe"), CONFIG)


# --- handshake and split -------------------------------------------------------------------------


def test_connection_test_without_json_is_answered_and_not_stored() -> None:
    probe = InboundRequest("POST", "events/ping", {}, {}, f"vpbx_api_key={KEY}&sign=x".encode())
    assert ADAPTER.handshake(probe, CONFIG) == HandshakeReply(200, "")
    assert ADAPTER.handshake(replace(probe, body=b""), CONFIG) == HandshakeReply(200, "")


def test_split_keys_follow_the_provider_identity() -> None:
    keys = [ADAPTER.split(fixture_request(i))[0].dedupe_key for i in range(6)]
    assert keys == [
        'mango.call:["E1001","L1001",1]',
        'mango.call:["E1001","L1001",2]',
        'mango.call:["E1001","L1001",3]',
        'mango.summary:["E1001"]',
        'mango.recording:["cmVjLTEwMDE=","completed"]',
        'mango.record_added:["cmVjLTEwMDE="]',
    ]
    [stored] = ADAPTER.split(fixture_request(0))
    assert stored.body == fixture_request(0).body
    assert stored.subpath == "events/call"


def test_a_redelivery_has_the_same_key_whatever_the_seq_spelling() -> None:
    event = {"entry_id": "E1", "call_id": "L1", "seq": 1, "call_state": "Appeared"}
    as_number = ADAPTER.split(signed(event))[0].dedupe_key
    as_text = ADAPTER.split(signed({**event, "seq": "1"}))[0].dedupe_key
    assert as_number == as_text
    assert ADAPTER.split(signed({**event, "seq": 2}))[0].dedupe_key != as_number


def test_other_event_paths_are_stored_but_give_no_events() -> None:
    request = signed({"entry_id": "E1", "dtmf": "1"}, "dtmf")
    [stored] = ADAPTER.split(request)
    assert stored.dedupe_key.startswith("mango.other:h:")
    assert ADAPTER.split(request)[0].dedupe_key == stored.dedupe_key
    assert ADAPTER.normalise(stored, CONFIG) == []


@pytest.mark.parametrize("payload", ["{not json", "[1, 2]", ""])
def test_unsplittable_json_is_malformed(payload: str) -> None:
    request = signed(payload)
    ADAPTER.verify(request, CONFIG)  # authentic, yet unreadable
    with pytest.raises(MalformedRequestError):
        ADAPTER.split(request)


@pytest.mark.parametrize(
    ("kind", "data", "message"),
    [
        ("call", {"call_id": "L1", "seq": 1}, "entry_id"),
        ("call", {"entry_id": "E1", "seq": "first"}, "seq"),
        ("call", {"entry_id": "E1", "seq": 1, "call_state": "Appeared"}, "time is unknown"),
        ("call", {"entry_id": "E1", "seq": 1, "timestamp": "1.5e9x"}, "timestamp"),
        ("summary", {"entry_id": "E1", "create_time": 1794812400}, "end_time"),
        ("summary", {"entry_id": "E1", "create_time": "yesterday", "end_time": 1}, "create_time"),
        ("record/added", {"entry_id": "E1"}, "recording_id"),
    ],
)
def test_unreadable_authentic_events_fail_normalisation(
    kind: str, data: dict[str, Any], message: str
) -> None:
    [stored] = ADAPTER.split(signed(data, kind))
    with pytest.raises(NormalisationError, match=message):
        ADAPTER.normalise(stored, CONFIG)


def test_normalise_needs_only_the_stored_event() -> None:
    [stored] = ADAPTER.split(fixture_request(SUMMARY_1001))
    again = StoredEvent(stored.dedupe_key, stored.subpath, stored.content_type, stored.body)
    assert ADAPTER.normalise(again, CONFIG) == ADAPTER.normalise(stored, CONFIG)
