from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from app.calls.events import CallStatus, Direction, RecordingRef
from app.webhooks.providers import generic, get_adapter
from app.webhooks.providers.base import (
    InboundRequest,
    MalformedRequestError,
    NormalisationError,
    SignatureError,
)
from tests.webhooks.providers.support import ingest, load, with_header

FIXTURE = load("generic")
ADAPTER = generic.ADAPTER
CONFIG = FIXTURE.config(generic.GenericConfig)
SECRET = FIXTURE.integration["secret"]

STARTED_1001, ENDED_1001, RECORDING_1001, ENDED_1002 = 0, 1, 2, 4


def fixture_request(index: int) -> InboundRequest:
    return FIXTURE.inbound(FIXTURE.requests[index])


def signed(payload: Any, *, raw: bytes | None = None, secret: str = SECRET) -> InboundRequest:
    """A bridge's request, signed here independently of the adapter."""
    body = raw if raw is not None else json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {"content-type": "application/json", "x-callfunnel-signature": signature}
    return InboundRequest("POST", "", {}, headers, body, integration_id=FIXTURE.integration_id)


def event(event_id: str, **fields: Any) -> dict[str, Any]:
    # Every call event carries some time: one with none is kept as failed (see below).
    base = {"occurred_at": "2026-11-16T07:00:00Z"}
    return {"event_id": event_id, "call_id": "c-1", "type": "call.started", **base, **fields}


def normalise_one(request: InboundRequest) -> list[Any]:
    [(_, events)] = ingest(ADAPTER, request, CONFIG)
    return events


def test_registry_serves_generic() -> None:
    assert get_adapter("generic") is ADAPTER
    assert generic.GenericConfig.secret_fields == {"secret"}
    config = FIXTURE.config(generic.GenericConfig, recording_hosts=["recordings.example.com"])
    assert config.public_dict()["recording_hosts"] == ["recordings.example.com"]
    assert "secret" not in config.public_dict()
    trimmed = FIXTURE.config(generic.GenericConfig, recording_hosts=[" Files.Example.COM "])
    assert trimmed.recording_hosts == ["files.example.com"]
    for bad in ("https://files.example.com", "files.example.com/x", ""):
        with pytest.raises(ValidationError):
            FIXTURE.config(generic.GenericConfig, recording_hosts=[bad])


def test_ended_event_is_final_and_complete() -> None:
    [ended] = normalise_one(fixture_request(ENDED_1001))
    assert ended.final
    assert (ended.provider_call_id, ended.direction) == ("g-1001", Direction.OUTBOUND)
    assert (ended.status, ended.extension, ended.external_number) == (
        CallStatus.ANSWERED,
        "101",
        "+79161234567",
    )
    assert ended.started_at == datetime(2026, 11, 16, 7, 0, tzinfo=UTC)
    assert ended.answered_at == datetime(2026, 11, 16, 7, 0, 10, tzinfo=UTC)
    assert ended.ended_at == datetime(2026, 11, 16, 7, 1, 45, tzinfo=UTC)
    assert (ended.talk_seconds, ended.duration_seconds) == (95, 105)
    [started] = normalise_one(fixture_request(STARTED_1001))
    assert (started.final, started.status) == (False, CallStatus.RINGING)


def test_recording_ready() -> None:
    [ready] = normalise_one(fixture_request(RECORDING_1001))
    assert ready.provider_call_id == "g-1001"
    assert ready.recording == RecordingRef("g-1001-r", "https://recordings.example.com/1001.mp3")
    [named] = normalise_one(
        signed(
            event("e2", type="recording.ready", recording_id="rec-7", recording_url="https://x/y")
        )
    )
    assert named.recording == RecordingRef("rec-7", "https://x/y")


def test_times_with_offsets_or_without_a_zone() -> None:
    [with_offset] = normalise_one(signed(event("e1", started_at="2026-11-16T10:00:00+03:00")))
    assert with_offset.started_at == datetime(2026, 11, 16, 7, 0, tzinfo=UTC)
    moscow = FIXTURE.config(generic.GenericConfig, timezone="Europe/Moscow")
    request = signed(event("e1", started_at="2026-11-16T10:00:00"))
    [(stored, _)] = ingest(ADAPTER, request, CONFIG)
    [naive] = ADAPTER.normalise(stored, moscow)
    assert naive.started_at == datetime(2026, 11, 16, 7, 0, tzinfo=UTC)


def test_the_employee_side_is_found_without_an_extension_field() -> None:
    inbound = event("e1", direction="inbound", **{"from": "+7 900 000-00-01", "to": "sip:102@pbx"})
    [got] = normalise_one(signed(inbound))
    assert (got.extension, got.external_number) == ("102", "+7 900 000-00-01")


# --- signatures -----------------------------------------------------------------------------------


def test_tampered_body_or_signature_is_refused() -> None:
    request = fixture_request(ENDED_1001)
    with pytest.raises(SignatureError):
        ADAPTER.verify(replace(request, body=request.body.replace(b"95", b"96")), CONFIG)
    # The same JSON spelled otherwise is not what was signed.
    compact = json.dumps(json.loads(request.body), separators=(",", ":")).encode()
    with pytest.raises(SignatureError):
        ADAPTER.verify(replace(request, body=compact), CONFIG)
    for value in (None, "sha256=" + "0" * 64, "md5=abc", ""):
        with pytest.raises(SignatureError):
            ADAPTER.verify(with_header(request, "X-Callfunnel-Signature", value), CONFIG)


def test_hex_case_does_not_matter() -> None:
    request = fixture_request(ENDED_1001)
    upper = "sha256=" + request.headers["x-callfunnel-signature"].removeprefix("sha256=").upper()
    ADAPTER.verify(with_header(request, "X-Callfunnel-Signature", upper), CONFIG)


def test_an_empty_secret_refuses_everything() -> None:
    request = signed(event("e1"), secret="")
    with pytest.raises(SignatureError, match="no secret"):
        ADAPTER.verify(request, FIXTURE.config(generic.GenericConfig, secret=""))


# --- split ----------------------------------------------------------------------------------------


def test_one_event_is_stored_as_sent() -> None:
    request = fixture_request(ENDED_1001)
    [stored] = ADAPTER.split(request)
    assert stored.dedupe_key == 'generic:["g-1001-9"]'
    assert stored.body == request.body


def test_a_batch_is_stored_one_event_each() -> None:
    batch = {"events": [event("e1"), event("e2", type="call.ended", status="busy")]}
    request = signed(batch)
    ADAPTER.verify(request, CONFIG)
    first, second = ADAPTER.split(request)
    assert (first.dedupe_key, second.dedupe_key) == ('generic:["e1"]', 'generic:["e2"]')
    assert json.loads(second.body) == batch["events"][1]
    [ended] = ADAPTER.normalise(second, CONFIG)
    assert (ended.final, ended.status) == (True, CallStatus.BUSY)
    # A batch event and the same event sent alone dedupe together.
    assert ADAPTER.split(signed(event("e1")))[0].dedupe_key == first.dedupe_key


def test_a_repeated_event_id_in_one_batch_is_stored_once() -> None:
    stored = ADAPTER.split(signed({"events": [event("e1"), event("e1", type="call.ended")]}))
    assert [json.loads(s.body)["type"] for s in stored] == ["call.started"]


@pytest.mark.parametrize(
    "payload",
    [
        {"call_id": "c-1", "type": "call.started"},
        {"events": [event("e1"), {"call_id": "c-1"}]},
        {"events": [event(str(i)) for i in range(generic.MAX_BATCH + 1)]},
        {"events": "e1"},
        {"events": [1]},
        [event("e1")],
        {"event_id": "", "call_id": "c-1"},
    ],
    ids=["no event_id", "one without", "too many", "not a list", "not objects", "list", "empty id"],
)
def test_unsplittable_requests_are_refused_whole(payload: Any) -> None:
    with pytest.raises(MalformedRequestError):
        ADAPTER.split(signed(payload))


def test_a_full_batch_is_accepted() -> None:
    events = [event(str(i)) for i in range(generic.MAX_BATCH)]
    assert len(ADAPTER.split(signed({"events": events}))) == generic.MAX_BATCH


def test_broken_json_is_malformed() -> None:
    request = signed(None, raw=b'{"event_id": "e1",')
    ADAPTER.verify(request, CONFIG)
    with pytest.raises(MalformedRequestError):
        ADAPTER.split(request)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"type": "call.exploded"}, "type"),
        ({"call_id": None}, "call_id"),
        ({"direction": "sideways"}, "direction"),
        ({"status": "maybe"}, "status"),
        ({"talk_seconds": "long"}, "talk_seconds"),
        ({"duration_seconds": -5}, "duration_seconds"),
        ({"started_at": "yesterday"}, "started_at"),
        ({"occurred_at": None}, "time is unknown"),
        ({"type": "recording.ready"}, "recording_url"),
        ({"type": "recording.ready", "recording_url": "file:///etc/passwd"}, "http"),
    ],
)
def test_unreadable_authentic_events_fail_normalisation(
    changes: dict[str, Any], message: str
) -> None:
    [stored] = ADAPTER.split(signed(event("e1", **changes)))
    with pytest.raises(NormalisationError, match=message):
        ADAPTER.normalise(stored, CONFIG)
