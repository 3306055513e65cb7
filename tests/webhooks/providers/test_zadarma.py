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
from app.webhooks.providers import ADAPTERS, get_adapter, zadarma
from app.webhooks.providers.base import (
    ForbiddenSourceError,
    HandshakeReply,
    InboundRequest,
    MalformedRequestError,
    NormalisationError,
    SignatureError,
)
from tests.webhooks.providers.support import ingest, load, with_header

FIXTURE = load("zadarma")
ADAPTER = zadarma.ADAPTER
CONFIG = FIXTURE.config(zadarma.ZadarmaConfig)
SECRET = FIXTURE.integration["api_secret"]

OUT_START_1001, OUT_END_1001, RECORD_1001, OUT_END_1002 = 0, 1, 2, 4
START_1003, INTERNAL_1003, ANSWER_1003, END_1003 = 5, 6, 7, 8


def fixture_request(index: int) -> InboundRequest:
    return FIXTURE.inbound(FIXTURE.requests[index])


def fields_of(request: InboundRequest) -> dict[str, str]:
    return dict(parse_qsl(request.body.decode(), keep_blank_values=True))


def refields(request: InboundRequest, **changes: str) -> InboundRequest:
    return replace(
        request, body=urlencode(list({**fields_of(request), **changes}.items())).encode()
    )


def signature(message: str, secret: str = SECRET) -> str:
    """Zadarma's scheme, written out here independently of the adapter."""
    hex_digest = hmac.new(secret.encode(), message.encode(), hashlib.sha1).hexdigest()
    return base64.b64encode(hex_digest.encode()).decode()


def normalise_one(request: InboundRequest, config: Any = CONFIG) -> list[Any]:
    [(_, events)] = ingest(ADAPTER, request, config)
    return events


def test_registry_serves_zadarma_and_novofon() -> None:
    assert get_adapter("zadarma") is ADAPTER
    assert get_adapter("novofon") is ADAPTER
    assert set(ADAPTERS) == {"mango", "zadarma", "novofon", "twilio", "generic", "asterisk"}
    with pytest.raises(KeyError):
        get_adapter("beeline")
    assert zadarma.ZadarmaConfig.secret_fields == {"api_key", "api_secret"}


def test_outbound_end_is_final_with_talk_only_durations() -> None:
    [end] = normalise_one(fixture_request(OUT_END_1001))
    assert end.final
    assert end.provider_call_id == "out_1001"
    assert end.direction is Direction.OUTBOUND
    assert end.status is CallStatus.ANSWERED
    assert (end.extension, end.external_number) == ("101", "79161234567")
    # call_start is Moscow wall time: 10:00 there is 07:00 UTC.
    assert end.started_at == datetime(2026, 11, 16, 7, 0, tzinfo=UTC)
    assert (end.ring_seconds, end.talk_seconds, end.duration_seconds) == (None, 95, 95)
    assert end.recording == RecordingRef("out_1001.rec")
    assert end.disconnect_reason == "16"

    [missed] = normalise_one(fixture_request(OUT_END_1002))
    assert missed.status is CallStatus.NO_ANSWER
    assert (missed.talk_seconds, missed.duration_seconds) == (0, 0)
    assert missed.recording is None


def test_inbound_events() -> None:
    [start] = normalise_one(fixture_request(START_1003))
    assert (start.direction, start.status) == (Direction.INBOUND, CallStatus.RINGING)
    assert (start.extension, start.external_number) == (None, "79161234567")
    assert start.started_at == datetime(2026, 11, 16, 8, 0, tzinfo=UTC)
    [internal] = normalise_one(fixture_request(INTERNAL_1003))
    assert internal.extension is None  # a phone that rings is not the one that answers
    [answer] = normalise_one(fixture_request(ANSWER_1003))
    assert (answer.status, answer.extension) == (CallStatus.IN_PROGRESS, "102")
    [end] = normalise_one(fixture_request(END_1003))
    assert end.final
    assert (end.extension, end.talk_seconds, end.duration_seconds) == ("102", 42, 42)


def test_record_notification_names_the_recording() -> None:
    [record] = normalise_one(fixture_request(RECORD_1001))
    assert record.provider_call_id == "out_1001"
    assert record.recording == RecordingRef("out_1001.rec")


@pytest.mark.parametrize(
    ("disposition", "status"),
    [
        ("answered", CallStatus.ANSWERED),
        ("busy", CallStatus.BUSY),
        ("cancel", CallStatus.CANCELLED),
        ("no answer", CallStatus.NO_ANSWER),
        ("failed", CallStatus.FAILED),
        ("no money", CallStatus.FAILED),
        ("no money, no limit", CallStatus.FAILED),
        ("something new", CallStatus.FAILED),
    ],
)
def test_dispositions(disposition: str, status: CallStatus) -> None:
    # duration and disposition are outside the signed string, so the signature still holds.
    request = refields(fixture_request(OUT_END_1002), disposition=disposition)
    [end] = normalise_one(request)
    assert end.status is status


def test_call_start_uses_the_integration_zone() -> None:
    utc_config = FIXTURE.config(zadarma.ZadarmaConfig, timezone="UTC")
    [start] = normalise_one(fixture_request(OUT_START_1001), utc_config)
    assert start.started_at == datetime(2026, 11, 16, 10, 0, tzinfo=UTC)


# --- signatures and sources -----------------------------------------------------------------------


def test_the_signed_string_depends_on_the_event() -> None:
    cases = {
        START_1003: "79161234567" + "74950000000" + "2026-11-16 11:00:00",
        ANSWER_1003: "79161234567" + "102" + "2026-11-16 11:00:00",
        OUT_START_1001: "101" + "79161234567" + "2026-11-16 10:00:00",
        RECORD_1001: "out_1001" + "out_1001.rec",
    }
    for index, message in cases.items():
        assert fixture_request(index).headers["signature"] == signature(message)


@pytest.mark.parametrize(
    ("index", "field"),
    [
        (START_1003, "call_start"),
        (INTERNAL_1003, "caller_id"),
        (ANSWER_1003, "destination"),
        (OUT_END_1001, "destination"),
        (RECORD_1001, "call_id_with_rec"),
    ],
)
def test_tampered_signed_fields_are_refused(index: int, field: str) -> None:
    request = fixture_request(index)
    with pytest.raises(SignatureError):
        ADAPTER.verify(refields(request, **{field: fields_of(request)[field] + "0"}), CONFIG)


def test_tampered_or_missing_signature_is_refused() -> None:
    request = fixture_request(START_1003)
    with pytest.raises(SignatureError):
        ADAPTER.verify(with_header(request, "Signature", signature("forged")), CONFIG)
    with pytest.raises(SignatureError, match="no Signature"):
        ADAPTER.verify(with_header(request, "Signature", None), CONFIG)


def test_an_unknown_event_cannot_be_verified() -> None:
    request = refields(fixture_request(START_1003), event="NOTIFY_SOMETHING")
    with pytest.raises(SignatureError, match="unknown Zadarma event"):
        ADAPTER.verify(request, CONFIG)


def test_an_empty_secret_refuses_everything() -> None:
    request = fixture_request(RECORD_1001)
    forged = with_header(request, "Signature", signature("out_1001" + "out_1001.rec", secret=""))
    with pytest.raises(SignatureError, match="no secret"):
        ADAPTER.verify(forged, FIXTURE.config(zadarma.ZadarmaConfig, api_secret=""))


def test_allowed_ips_accept_addresses_and_networks() -> None:
    config = FIXTURE.config(zadarma.ZadarmaConfig, allowed_ips=["185.45.152.42", "10.1.0.0/16"])
    request = fixture_request(START_1003)
    ADAPTER.verify(replace(request, client_ip="185.45.152.42"), config)
    ADAPTER.verify(replace(request, client_ip="10.1.200.3"), config)
    for source in ("185.45.152.43", "10.2.0.1", None, "not-an-ip"):
        with pytest.raises(ForbiddenSourceError):
            ADAPTER.verify(replace(request, client_ip=source), config)
    # Without a list, any source with a good signature is accepted.
    ADAPTER.verify(replace(request, client_ip="203.0.113.9"), CONFIG)


def test_allowed_ips_are_validated() -> None:
    with pytest.raises(ValidationError):
        FIXTURE.config(zadarma.ZadarmaConfig, allowed_ips=["zadarma.com"])


# --- handshake and split --------------------------------------------------------------------------


def test_echo_handshake() -> None:
    probe = InboundRequest("GET", "", {"zd_echo": "a1b2c3"}, {}, b"")
    assert ADAPTER.handshake(probe, CONFIG) == HandshakeReply(200, "a1b2c3")
    assert ADAPTER.handshake(replace(probe, query={}), CONFIG) is None


def test_keys_are_field_hashes() -> None:
    keys = [ADAPTER.split(FIXTURE.inbound(r))[0].dedupe_key for r in FIXTURE.requests]
    assert all(k.startswith("zadarma:h:") for k in keys)
    # START and END share a signature but are different events.
    assert len(set(keys)) == len(keys)
    assert ADAPTER.split(fixture_request(START_1003))[0].dedupe_key == keys[START_1003]


def test_every_notify_internal_of_a_ring_group_is_kept() -> None:
    first = fixture_request(INTERNAL_1003)
    second = refields(first, internal="103")
    ADAPTER.verify(second, CONFIG)  # internal is not signed: same signature
    keys = {ADAPTER.split(r)[0].dedupe_key for r in (first, second)}
    assert len(keys) == 2


def test_a_redelivery_with_fields_in_another_order_has_the_same_key() -> None:
    request = fixture_request(START_1003)
    shuffled = replace(request, body=urlencode(sorted(fields_of(request).items())).encode())
    assert ADAPTER.split(shuffled)[0].dedupe_key == ADAPTER.split(request)[0].dedupe_key


@pytest.mark.parametrize(
    "body", [b"pbx_call_id=1", b"event=NOTIFY_START&event=NOTIFY_END", b"%ff=1"]
)
def test_unsplittable_forms_are_malformed(body: bytes) -> None:
    with pytest.raises(MalformedRequestError):
        ADAPTER.split(replace(fixture_request(START_1003), body=body))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"pbx_call_id": ""}, "pbx_call_id"),
        ({"duration": "long"}, "duration"),
    ],
)
def test_unreadable_authentic_events_fail_normalisation(
    changes: dict[str, str], message: str
) -> None:
    [stored] = ADAPTER.split(refields(fixture_request(END_1003), **changes))
    with pytest.raises(NormalisationError, match=message):
        ADAPTER.normalise(stored, CONFIG)


def test_bad_call_start_fails_normalisation() -> None:
    [stored] = ADAPTER.split(refields(fixture_request(START_1003), call_start="yesterday"))
    with pytest.raises(NormalisationError, match="call_start"):
        ADAPTER.normalise(stored, CONFIG)
