"""What the provider adapter tests share: the committed fixtures, requests, and a small fact oracle.

The oracle folds one call's normalised events the way any sensible merge must (earliest start,
final event's status and durations, agreeing parties) without being the merge: it only lets the
tests state the fixture's expected calls in their own terms.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

from hypothesis import strategies as st

from app.calls.events import CallEvent, CallStatus, Direction
from app.phones import normalise_phone
from app.webhooks.providers.base import InboundRequest, ProviderAdapter, ProviderConfig, StoredEvent
from app.webhooks.providers.simulation import CallSpec, SignedRequest

C = TypeVar("C", bound=ProviderConfig)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "providers"


@dataclass(frozen=True)
class Fixture:
    provider: str
    integration: dict[str, Any]
    requests: list[dict[str, Any]]
    expected: dict[str, dict[str, Any]]

    @property
    def integration_id(self) -> str:
        return str(self.integration["id"])

    def config(self, model: type[C], **changes: Any) -> C:
        fields = {k: v for k, v in self.integration.items() if k != "id"}
        return model(**{**fields, **changes})

    def inbound(self, raw: Mapping[str, Any], **changes: Any) -> InboundRequest:
        prefix = f"/webhooks/{self.provider}/{self.integration_id}"
        parts = urlsplit(raw["path"])
        assert parts.path.startswith(prefix)
        request = InboundRequest(
            method=raw["method"],
            subpath=parts.path[len(prefix) :].lstrip("/"),
            query=dict(_query_pairs(parts.query)),
            headers={k.lower(): v for k, v in raw["headers"].items()},
            body=raw["body"].encode("utf-8"),
            integration_id=self.integration_id,
            raw_query=parts.query,
        )
        return replace(request, **changes)

    def requests_of(self, call: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["call"] == call]


def _query_pairs(query: str) -> list[tuple[str, str]]:
    return parse_qsl(query, keep_blank_values=True)


def load(provider: str) -> Fixture:
    data = json.loads((FIXTURES / f"{provider}.json").read_text("utf-8"))
    return Fixture(
        provider=data["provider"],
        integration=data["integration"],
        requests=data["requests"],
        expected={call["call"]: call for call in data["expected_calls"]},
    )


def inbound_from(
    signed: SignedRequest, integration_id: str, *, client_ip: str | None = None
) -> InboundRequest:
    return InboundRequest(
        method=signed.method,
        subpath=signed.subpath,
        query=dict(_query_pairs(signed.query)),
        headers={k.lower(): v for k, v in signed.headers.items()},
        body=signed.body,
        client_ip=client_ip,
        integration_id=integration_id,
        raw_query=signed.query,
    )


def with_header(request: InboundRequest, name: str, value: str | None) -> InboundRequest:
    headers = {k: v for k, v in request.headers.items() if k != name.lower()}
    if value is not None:
        headers[name.lower()] = value
    return replace(request, headers=headers)


def ingest(
    adapter: ProviderAdapter, request: InboundRequest, config: ProviderConfig
) -> list[tuple[StoredEvent, list[CallEvent]]]:
    """What the service does with one delivery: handshake?, verify, split, normalise each."""
    assert adapter.handshake(request, config) is None
    adapter.verify(request, config)
    return [(event, list(adapter.normalise(event, config))) for event in adapter.split(request)]


def call_events(
    adapter: ProviderAdapter, requests: Iterable[InboundRequest], config: ProviderConfig
) -> list[CallEvent]:
    return [
        ce
        for request in requests
        for _, events in ingest(adapter, request, config)
        for ce in events
    ]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


@dataclass(frozen=True)
class Facts:
    provider_call_ids: frozenset[str]
    directions: frozenset[Direction]
    extensions: frozenset[str]
    external_numbers: frozenset[str]
    started_at: datetime | None
    status: CallStatus | None
    talk_seconds: int | None
    duration_seconds: int | None
    has_recording: bool
    finals: int


def facts(events: Sequence[CallEvent], region: str) -> Facts:
    finals = [e for e in events if e.final]
    final = finals[-1] if finals else None
    started = min((e.started_at for e in events if e.started_at), default=None)
    answered = min((e.answered_at for e in events if e.answered_at), default=None)
    duration = final.duration_seconds if final else None
    talk = final.talk_seconds if final else None
    if final is not None and duration is None and started is not None and talk is not None:
        # Providers without a summary (Twilio): ring = answered (or end) − first callback.
        until = answered or final.ended_at
        if until is not None:
            duration = int((until - started).total_seconds()) + talk
    numbers = {normalise_phone(e.external_number, region) for e in events if e.external_number}
    return Facts(
        provider_call_ids=frozenset(e.provider_call_id for e in events),
        directions=frozenset(e.direction for e in events if e.direction),
        extensions=frozenset(e.extension for e in events if e.extension),
        external_numbers=frozenset(n for n in numbers if n),
        started_at=started,
        status=final.status if final else None,
        talk_seconds=talk,
        duration_seconds=duration,
        has_recording=any(e.recording for e in events),
        finals=len(finals),
    )


def assert_expected(got: Facts, expected: Mapping[str, Any]) -> None:
    assert got.finals >= 1
    assert got.directions == {Direction(expected["direction"])}
    assert got.status == CallStatus(expected["status"])
    assert got.extensions == {expected["extension"]}
    assert got.external_numbers == {expected["external_number"]}
    assert got.started_at == utc(expected["started_at"])
    assert got.talk_seconds == expected["talk_seconds"]
    assert got.duration_seconds == expected["duration_seconds"]
    assert got.has_recording is expected["has_recording"]


def spec_for(
    expected: Mapping[str, Any], *, ring_seconds: int | None = None, recording_id: str | None = None
) -> CallSpec:
    """The CallSpec behind one of the fixtures' expected calls (ring: duration − talk)."""
    started = utc(expected["started_at"])
    talk = expected["talk_seconds"]
    ring = expected["duration_seconds"] - talk if ring_seconds is None else ring_seconds
    answered_at = started + timedelta(seconds=ring) if expected["status"] == "answered" else None
    ended = (
        (answered_at + timedelta(seconds=talk))
        if answered_at
        else started + timedelta(seconds=ring)
    )
    return CallSpec(
        call_id=expected["call"],
        direction=Direction(expected["direction"]),
        extension=expected["extension"],
        external_number=expected["external_number"],
        started_at=started,
        answered_at=answered_at,
        ended_at=ended,
        status=CallStatus(expected["status"]),
        recording_id=recording_id if expected["has_recording"] else None,
    )


def assert_reproduces(
    fixture: Fixture,
    generated: Sequence[SignedRequest],
    call: str,
    signature_header: str | None = None,
) -> None:
    """Every fixture request of ``call`` is generated byte for byte, with the same signature.

    Mango signs inside the body, so an identical body is an identical signature.
    """
    by_body = {(g.subpath, g.body): g for g in generated}
    wanted = fixture.requests_of(call)
    assert wanted
    for raw in wanted:
        subpath = fixture.inbound(raw).subpath
        match = by_body.get((subpath, raw["body"].encode("utf-8")))
        assert match is not None, f"not generated: {raw['kind']} {raw['body']}"
        headers = {k.lower(): v for k, v in match.headers.items()}
        expected_headers = {k.lower(): v for k, v in raw["headers"].items()}
        assert headers["content-type"] == expected_headers["content-type"]
        if signature_header is not None:
            name = signature_header.lower()
            assert headers[name] == expected_headers[name]


# --- round trips: CallSpec → signed requests → verify → split → normalise → facts ---------------

REGION_NUMBERS = st.one_of(
    st.integers(900_000_0000, 999_999_9999).map(lambda n: f"+7{n}"),
    st.integers(201_200_0000, 989_999_9999).map(lambda n: f"+1{n}"),
)


@st.composite
def call_specs(
    draw: st.DrawFn,
    statuses: Sequence[CallStatus] = (
        CallStatus.ANSWERED,
        CallStatus.NO_ANSWER,
        CallStatus.BUSY,
        CallStatus.FAILED,
        CallStatus.CANCELLED,
    ),
    directions: Sequence[Direction] = (Direction.OUTBOUND, Direction.INBOUND, Direction.INTERNAL),
) -> CallSpec:
    direction = draw(st.sampled_from(directions))
    status = draw(st.sampled_from(statuses))
    extension = str(draw(st.integers(100, 99_999)))
    if direction is Direction.INTERNAL:
        other = str(draw(st.integers(100, 99_999).filter(lambda n: str(n) != extension)))
    else:
        other = draw(REGION_NUMBERS)
    started = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(
        seconds=draw(st.integers(0, 3 * 365 * 86_400))
    )
    ring = timedelta(seconds=draw(st.integers(0, 120)))
    answered_at = started + ring if status is CallStatus.ANSWERED else None
    talk = timedelta(seconds=draw(st.integers(1, 3_600)))
    ended = answered_at + talk if answered_at else started + ring
    recording = answered_at is not None and draw(st.booleans())
    return CallSpec(
        call_id=draw(st.from_regex(r"[a-z0-9]{1,12}", fullmatch=True)),
        direction=direction,
        extension=extension,
        external_number=other,
        started_at=started,
        answered_at=answered_at,
        ended_at=ended,
        status=status,
        recording_id=f"rec-{draw(st.integers(1, 10**6))}" if recording else None,
    )


def round_trip(
    adapter: ProviderAdapter,
    config: ProviderConfig,
    spec: CallSpec,
    *,
    integration_id: str = "intg_round_trip",
    client_ip: str | None = None,
) -> Facts:
    signed = adapter.signed_requests(spec, config, integration_id=integration_id)
    requests = [inbound_from(s, integration_id, client_ip=client_ip) for s in signed]
    return facts(call_events(adapter, requests, config), config.default_region)


def assert_spec_facts(
    got: Facts, spec: CallSpec, *, status: CallStatus | None = None, duration: int | None = None
) -> None:
    """The facts a call's own requests give back: as the spec says, unless the provider cannot."""
    talk = int((spec.ended_at - spec.answered_at).total_seconds()) if spec.answered_at else 0
    assert got.finals == 1
    assert got.directions == {spec.direction}
    assert got.extensions == {spec.extension}
    internal = spec.direction is Direction.INTERNAL
    assert got.external_numbers == (set() if internal else {spec.external_number})
    assert got.started_at == spec.started_at
    assert got.status == (status or spec.status)
    assert got.talk_seconds == talk
    whole = int((spec.ended_at - spec.started_at).total_seconds())
    assert got.duration_seconds == (whole if duration is None else duration)
    assert got.has_recording is (spec.recording_id is not None)
