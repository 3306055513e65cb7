"""Simulated PBX traffic: a call described plainly, and the signed requests a provider sends for it.

Not part of the adapter protocol (``base.ProviderAdapter``): receiving webhooks never needs it.
The tests, the demo-data generator and the benchmarks use it (through ``app.webhooks.traffic``)
so that they speak to the webhooks exactly as the PBX would. Each provider module implements
``CallSimulator`` next to its adapter, because only it may know the provider's field names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from app.calls.events import CallStatus, Direction
from app.webhooks.providers.base import ProviderConfig


@dataclass(frozen=True, slots=True)
class CallSpec:
    """A call described plainly, from which the signing helpers build a provider's real requests.

    Used by the tests and by the demo-data generator: both must speak to the webhooks exactly as the
    PBX would.
    """

    call_id: str
    direction: Direction
    extension: str
    external_number: str  # E.164
    started_at: datetime  # UTC
    answered_at: datetime | None
    ended_at: datetime
    status: CallStatus
    recording_id: str | None = None


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """A request ready to send: path relative to /webhooks/{provider}/{integration_id}."""

    method: str
    subpath: str
    headers: Mapping[str, str]
    body: bytes
    query: str = ""


@runtime_checkable
class CallSimulator(Protocol):
    def signed_requests(
        self, call: CallSpec, config: ProviderConfig, *, integration_id: str
    ) -> Sequence[SignedRequest]:
        """Build the requests this provider would send for ``call``, signed with ``config``."""
