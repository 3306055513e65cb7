"""The contract between provider adapters and the rest of callfunnel.

An adapter knows one PBX: how it signs a request, how it says "hello", how one request splits
into stored events with idempotency keys, and how one stored event becomes normalised call
events. Nothing outside ``app/webhooks/providers/`` may know a provider's field names.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Protocol
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, field_validator

from app.calls.events import CallEvent
from app.zones import ZoneName


class ProviderError(Exception):
    """Base of the errors an adapter raises; each maps to one HTTP answer."""


class SignatureError(ProviderError):
    """The request is not authentic (401, nothing stored)."""


class ForbiddenSourceError(ProviderError):
    """The request came from an address outside the integration's allow-list (403)."""


class MalformedRequestError(ProviderError):
    """The request cannot be read at all (422, nothing stored)."""


class NormalisationError(ProviderError):
    """An authentic, stored event could not be turned into call events (kept as ``failed``)."""


class RecordingNotReadyError(ProviderError):
    """The provider has no file for this recording yet: ask again later."""


class RecordingSourceError(ProviderError):
    """The recording cannot be fetched from what the provider gave (asking again will not help)."""


class ProviderConfig(BaseModel):
    """Settings every integration has; adapters extend it with their secrets.

    Secret fields are listed in ``secret_fields`` so that responses and logs can leave them out.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    secret_fields: ClassVar[frozenset[str]] = frozenset()
    # True where the provider gives no duration of the whole call (Asterisk CDR legs): the call's
    # duration is then the span from its start to its end.
    duration_from_span: ClassVar[bool] = False

    timezone: ZoneName = "UTC"
    default_region: str = "RU"

    @field_validator("default_region")
    @classmethod
    def _region_code(cls, value: str) -> str:
        if len(value) != 2 or not value.isalpha():
            raise ValueError("default_region must be a two-letter country code")
        return value.upper()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def public_dict(self) -> dict[str, object]:
        """The config without its secrets: safe for responses and logs."""
        return {k: v for k, v in self.model_dump().items() if k not in self.secret_fields}


@dataclass(frozen=True, slots=True)
class InboundRequest:
    """One HTTP request as the PBX sent it, before anything is trusted."""

    method: str
    subpath: str  # what follows /webhooks/{provider}/{integration_id}, without the leading "/"
    query: Mapping[str, str]
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    client_ip: str | None = None
    # Twilio signs the full URL it called, so its adapter needs the {integration_id} of the path
    # and the query string exactly as received (without "?"), not a re-encoded ``query``.
    integration_id: str = ""
    raw_query: str = ""


@dataclass(frozen=True, slots=True)
class HandshakeReply:
    """A provider set-up check answered without storing anything."""

    status_code: int = 200
    text: str = ""
    media_type: str = "text/plain"


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One event as kept in ``webhook_event``: enough to normalise it again on replay."""

    dedupe_key: str
    subpath: str
    content_type: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RecordingTarget:
    """One recording to download: what the adapter stored, and the provider's id of its call.

    ``provider`` is the integration's provider name: one adapter may serve several platforms
    (Zadarma and Novofon) whose APIs live on different hosts.
    """

    provider: str
    provider_ref: str
    source_url: str | None
    provider_call_id: str


@dataclass(frozen=True, slots=True)
class RecordingPlan:
    """How to download one recording from a provider; the recording downloader carries it out.

    ``hosts`` bounds every hop, redirects included: exact host names, or ``*.example.com`` for
    ``example.com`` and every name under it. When the request's own origin answers with a document
    rather than the file (JSON naming a temporary link, or saying the file is not ready),
    ``read_answer`` gets it parsed (``None`` if it is not JSON) and returns the URL to download, or
    raises ``RecordingNotReadyError`` / ``RecordingSourceError``.
    """

    method: str
    url: str
    hosts: tuple[str, ...]
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    read_answer: Callable[[object], str] | None = None


@dataclass(frozen=True, slots=True)
class LocalRecording:
    """A recording the PBX left in a local folder (Asterisk's ``recordings_dir``): the adapter has
    checked that ``path`` is inside that folder; the downloader copies it into storage."""

    path: Path


class ProviderAdapter(Protocol):
    name: str
    config_model: type[ProviderConfig]

    def handshake(self, request: InboundRequest, config: ProviderConfig) -> HandshakeReply | None:
        """Answer a set-up check (nothing is stored), or ``None`` for a real delivery."""

    def verify(self, request: InboundRequest, config: ProviderConfig) -> None:
        """Raise ``SignatureError``/``ForbiddenSourceError`` unless the request is authentic."""

    def split(self, request: InboundRequest) -> Sequence[StoredEvent]:
        """Cut a verified request into stored events, each with its idempotency key."""

    def normalise(self, event: StoredEvent, config: ProviderConfig) -> Sequence[CallEvent]:
        """Turn one stored event into call events (maybe none); ``NormalisationError`` if not."""

    def webhook_urls(self, config: ProviderConfig, base_path: str) -> Mapping[str, str]:
        """The URLs to paste into the PBX, by purpose; the first is the main one.

        ``base_path`` is ``/webhooks/{provider}/{integration_id}``.
        """

    def recording_plan(
        self, config: ProviderConfig, target: RecordingTarget
    ) -> RecordingPlan | LocalRecording:
        """How to download one recording (``RecordingNotReadyError``/``RecordingSourceError`` if
        it cannot be asked for); the recording downloader carries the plan out."""


def field_hash_key(fields: Mapping[str, str]) -> str:
    """Idempotency key for providers that give an event no identity of its own.

    A hash of the decoded fields, sorted, so a byte- or field-identical redelivery dedupes while two
    different events (say two NOTIFY_INTERNAL of one ring group) never collide.
    """
    canonical = json.dumps(sorted(fields.items()), ensure_ascii=False, separators=(",", ":"))
    return "h:" + hashlib.sha256(canonical.encode()).hexdigest()
