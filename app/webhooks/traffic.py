"""Plausible cold-calling traffic as the PBXs would send it: signed requests for random calls.

Used by the mixed-stream test, ``bench/ingest_stream.py`` and the demo: all of them must speak to
the webhooks exactly as a PBX does, through the adapters' own signing helpers.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.calls.events import CallStatus, Direction
from app.webhooks.providers import get_adapter
from app.webhooks.providers.base import ProviderConfig
from app.webhooks.providers.simulation import CallSimulator, CallSpec

# Integration configs (test secrets) for generating traffic to every provider at once.
EXAMPLE_CONFIGS: Mapping[str, Mapping[str, Any]] = {
    "mango": {"api_key": "mk-example", "api_salt": "salt-example", "timezone": "Europe/Moscow"},
    "zadarma": {"api_key": "zk-example", "api_secret": "zs-example", "timezone": "Europe/Moscow"},
    "twilio": {
        "account_sid": "AC0000000000000000000000000example",
        "auth_token": "token-example",
        "public_base_url": "https://calls.example.com",
        "default_region": "RU",
    },
    "generic": {"secret": "generic-example"},
}

# Roughly a cold base: most dials are not answered.
_OUTCOMES = (
    (CallStatus.NO_ANSWER, 0.55),
    (CallStatus.BUSY, 0.10),
    (CallStatus.ANSWERED, 0.33),
    (CallStatus.FAILED, 0.02),
)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One HTTP request to send, with the call it belongs to."""

    call: CallSpec
    method: str
    path: str  # absolute path on the server, query included
    headers: dict[str, str]
    body: bytes


def random_calls(
    rng: random.Random,
    count: int,
    *,
    start: datetime,
    extensions: Sequence[str],
    numbers: Sequence[str],
    prefix: str,
    span: timedelta = timedelta(days=5),
    inbound_share: float = 0.1,
) -> list[CallSpec]:
    """``count`` calls spread over ``span``: outbound dials mostly, some inbound call-backs.

    Every call starts at a different second, so a call can be found again by its start time.
    """
    calls = []
    offsets = rng.sample(range(int(span.total_seconds())), count)
    for n, offset in enumerate(offsets):
        direction = Direction.INBOUND if rng.random() < inbound_share else Direction.OUTBOUND
        status = rng.choices([s for s, _ in _OUTCOMES], weights=[w for _, w in _OUTCOMES])[0]
        if direction is Direction.INBOUND:
            status = CallStatus.ANSWERED
        started = start + timedelta(seconds=offset)
        ring = timedelta(seconds=rng.randint(3, 30))
        answered = started + ring if status is CallStatus.ANSWERED else None
        talk = timedelta(seconds=rng.choice((rng.randint(5, 60), rng.randint(60, 600))))
        calls.append(
            CallSpec(
                call_id=f"{prefix}{n:05d}",
                direction=direction,
                extension=rng.choice(extensions),
                external_number=rng.choice(numbers),
                started_at=started,
                answered_at=answered,
                ended_at=answered + talk if answered else started + ring,
                status=status,
                recording_id=f"rec{prefix}{n:05d}" if answered and rng.random() < 0.8 else None,
            )
        )
    return calls


def simulator(provider: str) -> CallSimulator:
    """The request writer of ``provider``'s adapter; ``KeyError`` if it cannot simulate traffic."""
    adapter = get_adapter(provider)
    if not isinstance(adapter, CallSimulator):
        raise KeyError(f"provider {provider!r} cannot simulate calls")
    return adapter


def deliveries(
    provider: str, integration_id: str, config: ProviderConfig, calls: Sequence[CallSpec]
) -> list[Delivery]:
    """Every request ``provider`` sends for ``calls``, in the order it would send them."""
    writer = simulator(provider)
    out = []
    base = f"/webhooks/{provider}/{integration_id}"
    for call in calls:
        for request in writer.signed_requests(call, config, integration_id=integration_id):
            path = f"{base}/{request.subpath}".rstrip("/")
            out.append(
                Delivery(
                    call=call,
                    method=request.method,
                    path=path + (f"?{request.query}" if request.query else ""),
                    headers=dict(request.headers),
                    body=request.body,
                )
            )
    return out


def shuffled_with_duplicates(
    rng: random.Random, items: Sequence[Delivery], *, duplicate_share: float = 0.3
) -> list[Delivery]:
    """The stream a real PBX produces on a bad day: out of order, some requests sent twice."""
    stream = list(items) + [item for item in items if rng.random() < duplicate_share]
    rng.shuffle(stream)
    return stream


def call_key(integration_id: str, started_at: datetime) -> tuple[str, str]:
    """How a delivered call is found again in the API's answer: integration and start second."""
    return integration_id, started_at.isoformat().replace("+00:00", "Z")


def mismatches(
    expected: Mapping[tuple[str, str], CallSpec], seen: Sequence[Mapping[str, Any]]
) -> list[str]:
    """What differs between the calls sent and the calls the API shows (empty: all correct).

    Providers differ in what they can tell (Mango cannot tell busy from unanswered, Zadarma
    reports no ring time), so only what every provider reports is compared.
    """
    problems = []
    found = {call_key(str(c["integration_id"]), _utc(str(c["started_at"]))): c for c in seen}
    if len(found) != len(seen):
        problems.append(f"{len(seen) - len(found)} calls share an integration and start second")
    for key in expected.keys() - found.keys():
        problems.append(f"missing call {key}")
    for key in found.keys() - expected.keys():
        problems.append(f"unexpected call {key}")
    for key in expected.keys() & found.keys():
        want, got = expected[key], found[key]
        answered = want.status is CallStatus.ANSWERED
        talk = int((want.ended_at - want.answered_at).total_seconds()) if want.answered_at else 0
        checks = {
            "direction": (got["direction"], want.direction.value),
            "extension": (got["extension"], want.extension),
            "external_number": (got["external_number"], want.external_number),
            "answered": (got["status"] == CallStatus.ANSWERED, answered),
            "talk_seconds": (got["talk_seconds"], talk),
            "recording": (got["recording"] is not None, want.recording_id is not None),
        }
        problems += [
            f"{key} {name}: got {actual!r}, sent {sent!r}"
            for name, (actual, sent) in checks.items()
            if actual != sent
        ]
    return problems


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
