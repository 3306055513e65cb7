"""The call vocabulary: what a PBX can say about a call, in callfunnel's own words.

Adapters (``app/webhooks/providers/``) translate a provider's fields into these types; the merge,
the calls and leads services and the funnel queries read them. The dependency runs one way: the
adapters import this module, and nothing here knows a provider (checked by the import-linter
contracts in ``pyproject.toml``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INTERNAL = "internal"


class CallStatus(StrEnum):
    RINGING = "ringing"
    IN_PROGRESS = "in_progress"
    ANSWERED = "answered"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL_STATUSES = frozenset(
    {
        CallStatus.ANSWERED,
        CallStatus.NO_ANSWER,
        CallStatus.BUSY,
        CallStatus.FAILED,
        CallStatus.CANCELLED,
    }
)


@dataclass(frozen=True, slots=True)
class RecordingRef:
    """A recording the PBX says exists; fetching it is the recording worker's job."""

    provider_ref: str
    url: str | None = None


@dataclass(frozen=True, slots=True)
class CallEvent:
    """One normalised fact about one provider call.

    Every field but ``provider_call_id`` may be unknown (``None``): the merge keeps what it knows
    and fills the rest as other events arrive. ``final`` marks the provider's summary/end event,
    whose durations and status win over anything else.
    """

    provider_call_id: str
    occurred_at: datetime | None = None
    leg_id: str | None = None
    seq: int | None = None
    final: bool = False
    direction: Direction | None = None
    status: CallStatus | None = None
    extension: str | None = None  # the employee's side, as a PBX extension
    external_number: str | None = None  # the customer's side, raw (normalised by app.phones)
    started_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    ring_seconds: int | None = None
    talk_seconds: int | None = None
    duration_seconds: int | None = None
    disconnect_reason: str | None = None
    recording: RecordingRef | None = None


class CallSource(Protocol):
    """What folding events into calls needs to know of the integration they came from.

    An integration's provider config (``app.webhooks.providers.base.ProviderConfig``) is one; the
    calls package names only these two facts, so it never depends on the adapters.
    """

    @property
    def default_region(self) -> str:
        """Where a national customer number is dialled from (two-letter country code)."""
        ...

    @property
    def duration_from_span(self) -> bool:
        """Whether a call's duration is its start-to-end span (a CDR) rather than the PBX's."""
        ...
