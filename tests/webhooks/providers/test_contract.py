"""The contract every PBX adapter keeps, tested once over all of them.

Each adapter (``tests/fixtures/providers/<name>.json`` holds its recorded requests and the calls
they must give) verifies every recorded request, turns each recorded call into the expected facts
in any order of delivery, regenerates the recorded requests byte for byte with its signing helpers,
and reads back any call its helpers sign. What differs between providers is data in ``CASES``;
the quirks of one provider stay in its own ``test_<name>.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pytest
from hypothesis import given, settings

from app.calls.events import CallStatus
from app.webhooks.providers import generic, mango, twilio, zadarma
from app.webhooks.providers.base import ProviderAdapter, ProviderConfig
from app.webhooks.providers.simulation import CallSpec, SignedRequest
from tests.webhooks.providers.support import (
    Facts,
    Fixture,
    assert_expected,
    assert_reproduces,
    assert_spec_facts,
    call_events,
    call_specs,
    facts,
    load,
    round_trip,
    spec_for,
)


def _generic_answered(generated: list[SignedRequest], spec: CallSpec) -> int:
    # The generic helpers also send call.answered, which the fixture leaves out.
    answered = [g for g in generated if json.loads(g.body)["type"] == "call.answered"]
    assert len(answered) == (spec.answered_at is not None)
    return len(answered)


def _mango_round_trip(got: Facts, spec: CallSpec) -> None:
    # Mango's summary only says whether anybody talked: every unanswered call is "no answer".
    status = CallStatus.ANSWERED if spec.answered_at else CallStatus.NO_ANSWER
    assert_spec_facts(got, spec, status=status)


def _twilio_round_trip(got: Facts, spec: CallSpec) -> None:
    assert_spec_facts(got, spec)
    assert got.provider_call_ids == {twilio.call_sid_for(spec.call_id)}


def _zadarma_round_trip(got: Facts, spec: CallSpec) -> None:
    talk = int((spec.ended_at - spec.answered_at).total_seconds()) if spec.answered_at else 0
    assert_spec_facts(got, spec, duration=talk)  # Zadarma reports no ring time


@dataclass(frozen=True)
class Case:
    name: str
    adapter: ProviderAdapter
    config_model: type[ProviderConfig]
    reversed_region: str
    """The region the reversed delivery is read in (the fixture's own)."""
    call_id: Callable[[str], str] | None = None
    """The provider's id of a fixture call, where the adapter derives it from the call's name."""
    spec_options: dict[str, Any] = field(default_factory=dict)
    signature_header: str | None = None
    extra_generated: Callable[[list[SignedRequest], CallSpec], int] | None = None
    """How many more requests the helpers send than the fixture records (checked inside)."""
    round_trip_config: dict[str, Any] = field(default_factory=dict)
    round_trip_ip: str | None = None
    check_round_trip: Callable[[Facts, CallSpec], None] = assert_spec_facts

    @cached_property
    def fixture(self) -> Fixture:
        return load(self.name)

    def config(self, **overrides: Any) -> Any:
        return self.fixture.config(self.config_model, **overrides)


CASES = {
    case.name: case
    for case in (
        Case(
            "generic",
            generic.ADAPTER,
            generic.GenericConfig,
            reversed_region="RU",
            call_id=lambda call: f"g-{call}",
            spec_options={"recording_id": "rec-1001"},
            signature_header="X-Callfunnel-Signature",
            extra_generated=_generic_answered,
        ),
        Case(
            "mango",
            mango.ADAPTER,
            mango.MangoConfig,
            reversed_region="RU",
            call_id=lambda call: f"E{call}",
            spec_options={"recording_id": "cmVjLTEwMDE="},
            check_round_trip=_mango_round_trip,
        ),
        Case(
            "twilio",
            twilio.ADAPTER,
            twilio.TwilioConfig,
            # Twilio sends no summary: duration = (answered − first callback) + CallDuration,
            # which the oracle derives from started_at/answered_at the callbacks carry.
            reversed_region="US",
            spec_options={"recording_id": "RE532da1d56be6ac25002fab31916e1127"},
            signature_header="X-Twilio-Signature",
            check_round_trip=_twilio_round_trip,
        ),
        Case(
            "zadarma",
            zadarma.ADAPTER,
            zadarma.ZadarmaConfig,
            reversed_region="RU",
            spec_options={"ring_seconds": 10, "recording_id": "rec-1001"},
            signature_header="Signature",
            round_trip_config={"allowed_ips": ["185.45.152.0/24"]},
            round_trip_ip="185.45.152.42",
            check_round_trip=_zadarma_round_trip,
        ),
    )
}

REQUESTS = [
    pytest.param(case, raw, id=f"{case.name}-{raw['call']}-{raw['kind']}")
    for case in CASES.values()
    for raw in case.fixture.requests
]
CALLS = [
    pytest.param(case, call, id=f"{case.name}-{call}")
    for case in CASES.values()
    for call in sorted(case.fixture.expected)
]


@pytest.mark.parametrize(("case", "raw"), REQUESTS)
def test_every_fixture_request_verifies(case: Case, raw: dict[str, Any]) -> None:
    request = case.fixture.inbound(raw)
    config = case.config()
    assert case.adapter.handshake(request, config) is None
    case.adapter.verify(request, config)


@pytest.mark.parametrize(("case", "call"), CALLS)
def test_fixture_calls_give_the_expected_facts(case: Case, call: str) -> None:
    fixture, config = case.fixture, case.config()
    requests = [fixture.inbound(r) for r in fixture.requests_of(call)]
    got = facts(call_events(case.adapter, requests, config), config.default_region)
    assert_expected(got, fixture.expected[call])
    if case.call_id is not None:
        assert got.provider_call_ids == {case.call_id(call)}
    # The same deliveries in reverse order say the same.
    reversed_facts = facts(
        call_events(case.adapter, reversed(requests), config), case.reversed_region
    )
    assert reversed_facts == got


@pytest.mark.parametrize(("case", "call"), CALLS)
def test_signing_helpers_reproduce_the_fixture(case: Case, call: str) -> None:
    fixture = case.fixture
    spec = spec_for(fixture.expected[call], **case.spec_options)
    generated = case.adapter.signed_requests(  # type: ignore[attr-defined]
        spec, case.config(), integration_id=fixture.integration_id
    )
    extra = 0 if case.extra_generated is None else case.extra_generated(generated, spec)
    assert len(generated) == len(fixture.requests_of(call)) + extra
    assert_reproduces(fixture, generated, call, case.signature_header)


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
@settings(max_examples=60, deadline=None)
@given(spec=call_specs())
def test_signed_requests_round_trip(case: Case, spec: Any) -> None:
    config = case.config(**case.round_trip_config)
    got = round_trip(case.adapter, config, spec, client_ip=case.round_trip_ip)
    case.check_round_trip(got, spec)
