from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from pydantic import ValidationError

from app.calls.events import CallStatus, Direction, RecordingRef
from app.webhooks.providers import get_adapter, twilio
from app.webhooks.providers.base import (
    InboundRequest,
    MalformedRequestError,
    NormalisationError,
    SignatureError,
)
from tests.webhooks.providers.support import ingest, load, with_header

FIXTURE = load("twilio")
ADAPTER = twilio.ADAPTER
CONFIG = FIXTURE.config(twilio.TwilioConfig)
TOKEN = FIXTURE.integration["auth_token"]
ID = FIXTURE.integration_id
BASE = FIXTURE.integration["public_base_url"]

INITIATED_1001, RINGING_1001, ANSWERED_1001, COMPLETED_1001, RECORDING_1001 = range(5)
NO_ANSWER_1002 = 7
ANSWERED_1003, COMPLETED_1003 = 10, 11
RECORDING_SID = "RE532da1d56be6ac25002fab31916e1127"


def fixture_request(index: int) -> InboundRequest:
    return FIXTURE.inbound(FIXTURE.requests[index])


def fields_of(request: InboundRequest) -> dict[str, str]:
    return dict(parse_qsl(request.body.decode(), keep_blank_values=True))


def signed(fields: dict[str, str], url: str, token: str = TOKEN) -> str:
    """Twilio's scheme written out here, independently of the adapter."""
    message = url + "".join(k + v for k, v in sorted(fields.items()))
    digest = hmac.new(token.encode(), message.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def resign(
    request: InboundRequest, url: str | None = None, *, token: str = TOKEN, **changes: str
) -> InboundRequest:
    fields = {**fields_of(request), **changes}
    url = url or f"{BASE}/webhooks/twilio/{ID}/{request.subpath}"
    body = urlencode(list(fields.items())).encode()
    signature = signed(fields, url, token)
    return with_header(replace(request, body=body), "X-Twilio-Signature", signature)


def normalise_one(request: InboundRequest) -> list[Any]:
    [(_, events)] = ingest(ADAPTER, request, CONFIG)
    return events


def test_registry_serves_twilio() -> None:
    assert get_adapter("twilio") is ADAPTER
    assert twilio.TwilioConfig.secret_fields == {"auth_token"}
    assert "auth_token" not in CONFIG.public_dict()


def test_each_callback_tells_its_own_moment() -> None:
    initiated, ringing, answered, completed = (
        normalise_one(fixture_request(i))[0]
        for i in (INITIATED_1001, RINGING_1001, ANSWERED_1001, COMPLETED_1001)
    )
    sid = "CAb8c37e33defde51cf91e1e03e51657da"
    for seq, event in enumerate((initiated, ringing, answered, completed)):
        assert (event.provider_call_id, event.leg_id, event.seq) == (sid, sid, seq)
        assert event.direction is Direction.OUTBOUND
        assert (event.extension, event.external_number) == ("101", "+14151234567")
    assert initiated.started_at == datetime(2026, 11, 16, 7, 0, tzinfo=UTC)
    assert initiated.status is CallStatus.RINGING
    assert answered.status is CallStatus.IN_PROGRESS
    assert answered.answered_at == datetime(2026, 11, 16, 7, 0, 10, tzinfo=UTC)
    assert answered.occurred_at == answered.answered_at
    assert completed.final
    assert completed.status is CallStatus.ANSWERED
    assert completed.ended_at == datetime(2026, 11, 16, 7, 1, 45, tzinfo=UTC)
    assert (completed.talk_seconds, completed.ring_seconds, completed.duration_seconds) == (
        95,
        None,
        None,
    )
    assert not any(e.final for e in (initiated, ringing, answered))


def test_no_answer_is_final_with_no_talk() -> None:
    [missed] = normalise_one(fixture_request(NO_ANSWER_1002))
    assert (missed.final, missed.status, missed.talk_seconds) == (True, CallStatus.NO_ANSWER, 0)


def test_to_the_browser_client_is_inbound() -> None:
    [answered] = normalise_one(fixture_request(ANSWERED_1003))
    assert answered.direction is Direction.INBOUND
    assert (answered.extension, answered.external_number) == ("102", "+14151234567")


@pytest.mark.parametrize(
    ("caller", "callee", "direction", "extension", "external"),
    [
        ("sip:205@pbx.sip.twilio.com", "+14155550100", Direction.OUTBOUND, "205", "+14155550100"),
        ("+14155550100", "sip:205@pbx.sip.twilio.com", Direction.INBOUND, "205", "+14155550100"),
        ("client:alice", "client:bob", Direction.INTERNAL, "alice", None),
        ("sip:+14155550100@trunk.example", "client:7", Direction.INBOUND, "7", "+14155550100"),
    ],
)
def test_direction_comes_from_the_employee_side(
    caller: str, callee: str, direction: Direction, extension: str, external: str | None
) -> None:
    # Twilio's own Direction ("inbound" for a browser client's parent leg) is not the business one.
    request = resign(fixture_request(RINGING_1001), From=caller, To=callee, Direction="inbound")
    [event] = normalise_one(request)
    assert (event.direction, event.extension, event.external_number) == (
        direction,
        extension,
        external,
    )


def test_a_child_leg_belongs_to_its_parent_call_and_does_not_end_it() -> None:
    request = resign(fixture_request(COMPLETED_1003), CallSid="CAchild", ParentCallSid="CAparent")
    [child] = normalise_one(request)
    assert (child.provider_call_id, child.leg_id) == ("CAparent", "CAchild")
    assert not child.final
    assert child.ended_at is None


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("busy", CallStatus.BUSY),
        ("failed", CallStatus.FAILED),
        ("canceled", CallStatus.CANCELLED),
        ("no-answer", CallStatus.NO_ANSWER),
    ],
)
def test_terminal_statuses(status: str, expected: CallStatus) -> None:
    [event] = normalise_one(resign(fixture_request(NO_ANSWER_1002), CallStatus=status))
    assert (event.final, event.status) == (True, expected)


def test_recording_callback() -> None:
    [recording] = normalise_one(fixture_request(RECORDING_1001))
    assert recording.provider_call_id == "CAb8c37e33defde51cf91e1e03e51657da"
    assert recording.leg_id == recording.provider_call_id
    assert recording.recording == RecordingRef(
        RECORDING_SID,
        f"https://api.twilio.com/2010-04-01/Accounts/{FIXTURE.integration['account_sid']}"
        f"/Recordings/{RECORDING_SID}",
    )
    failed = resign(fixture_request(RECORDING_1001), RecordingStatus="failed")
    assert normalise_one(failed) == []


# --- signatures -----------------------------------------------------------------------------------


def test_the_signature_covers_the_public_url_and_sorted_fields() -> None:
    request = fixture_request(COMPLETED_1001)
    url = f"{BASE}/webhooks/twilio/{ID}/status"
    assert request.headers["x-twilio-signature"] == signed(fields_of(request), url)


def test_a_signature_over_the_url_with_the_retry_fragment_is_accepted() -> None:
    request = fixture_request(COMPLETED_1001)
    url = f"{BASE}/webhooks/twilio/{ID}/status{twilio.RETRY_FRAGMENT}"
    ADAPTER.verify(resign(request, url), CONFIG)


def test_the_query_string_is_part_of_the_signed_url() -> None:
    request = fixture_request(COMPLETED_1001)
    url = f"{BASE}/webhooks/twilio/{ID}/status?tenant=a%20b"
    resigned = replace(resign(request, url), raw_query="tenant=a%20b", query={"tenant": "a b"})
    ADAPTER.verify(resigned, CONFIG)
    with pytest.raises(SignatureError):
        ADAPTER.verify(replace(resigned, raw_query="tenant=other"), CONFIG)


@pytest.mark.parametrize(
    "url",
    [
        f"{BASE}/webhooks/twilio/intg_other/status",  # another integration's URL
        f"{BASE}/webhooks/twilio/{ID}/recording",  # another path
        f"https://proxy.internal/webhooks/twilio/{ID}/status",  # a rebuilt host
        f"{BASE}/webhooks/twilio/{ID}/status#other",
    ],
)
def test_a_signature_over_another_url_is_refused(url: str) -> None:
    with pytest.raises(SignatureError):
        ADAPTER.verify(resign(fixture_request(COMPLETED_1001), url), CONFIG)


def test_tampered_fields_or_missing_signature_are_refused() -> None:
    request = fixture_request(COMPLETED_1001)
    tampered = replace(request, body=request.body.replace(b"CallDuration=95", b"CallDuration=9"))
    with pytest.raises(SignatureError):
        ADAPTER.verify(tampered, CONFIG)
    added = replace(request, body=request.body + b"&Extra=1")
    with pytest.raises(SignatureError):
        ADAPTER.verify(added, CONFIG)
    with pytest.raises(SignatureError):
        ADAPTER.verify(with_header(request, "X-Twilio-Signature", None), CONFIG)
    with pytest.raises(SignatureError):
        ADAPTER.verify(with_header(request, "X-Twilio-Signature", "AAAA"), CONFIG)


def test_an_empty_token_or_unknown_integration_id_refuses() -> None:
    request = fixture_request(COMPLETED_1001)
    with pytest.raises(SignatureError, match="no secret"):
        ADAPTER.verify(
            resign(request, token=""), FIXTURE.config(twilio.TwilioConfig, auth_token="")
        )
    with pytest.raises(SignatureError, match="integration id"):
        ADAPTER.verify(replace(request, integration_id=""), CONFIG)


def test_public_base_url_is_checked_and_trimmed() -> None:
    config = FIXTURE.config(twilio.TwilioConfig, public_base_url="https://calls.example.com/")
    ADAPTER.verify(fixture_request(COMPLETED_1001), config)
    for bad in ("calls.example.com", "https://calls.example.com/?a=1", "ftp://x"):
        with pytest.raises(ValidationError):
            FIXTURE.config(twilio.TwilioConfig, public_base_url=bad)


# --- split ----------------------------------------------------------------------------------------


def test_split_keys() -> None:
    keys = [ADAPTER.split(fixture_request(i))[0].dedupe_key for i in range(5)]
    sid = "CAb8c37e33defde51cf91e1e03e51657da"
    assert keys == [
        f'twilio.status:["{sid}","seq",0]',
        f'twilio.status:["{sid}","seq",1]',
        f'twilio.status:["{sid}","seq",2]',
        f'twilio.status:["{sid}","seq",3]',
        f'twilio.recording:["{RECORDING_SID}","completed"]',
    ]


def test_without_sequence_numbers_the_status_tells_callbacks_apart() -> None:
    fields = fields_of(fixture_request(COMPLETED_1001))
    del fields["SequenceNumber"]
    request = replace(fixture_request(COMPLETED_1001), body=urlencode(fields).encode())
    key = ADAPTER.split(request)[0].dedupe_key
    assert key == 'twilio.status:["CAb8c37e33defde51cf91e1e03e51657da","status","completed"]'
    assert ADAPTER.split(request)[0].dedupe_key == key


@pytest.mark.parametrize("body", [b"", b"CallSid=CA1&CallSid=CA2", b"Caller=%ff"])
def test_unsplittable_forms_are_malformed(body: bytes) -> None:
    with pytest.raises(MalformedRequestError):
        ADAPTER.split(replace(fixture_request(0), body=body))


def test_unreadable_authentic_events_fail_normalisation() -> None:
    for changes in ({"Timestamp": "yesterday"}, {"SequenceNumber": "x"}, {"CallDuration": "-4"}):
        [stored] = ADAPTER.split(resign(fixture_request(COMPLETED_1001), **changes))
        with pytest.raises(NormalisationError):
            ADAPTER.normalise(stored, CONFIG)


# --- signing helpers (the shared contract is in test_contract.py) -------------------------------


def test_webhook_url() -> None:
    assert twilio.webhook_url(CONFIG, ID, "status") == f"{BASE}/webhooks/twilio/{ID}/status"
