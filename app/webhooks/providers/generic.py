"""Callfunnel's own JSON webhook, for any PBX behind a small bridge.

``X-Callfunnel-Signature: sha256=<hex HMAC-SHA256 of the raw body>``. A body is one event or
``{"events": [...]}``; each event carries its ``event_id``, the idempotency key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import ClassVar, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator

from app.calls.events import CallEvent, CallStatus, Direction, RecordingRef
from app.phones import split_party
from app.webhooks.providers._common import (
    JSON_CONTENT_TYPE,
    as_text,
    expect_config,
    header,
    identity_key,
    json_object,
    load_json,
    read_seconds,
    require_secrets,
    same,
    seconds_between,
    utc_from_iso,
)
from app.webhooks.providers.base import (
    HandshakeReply,
    InboundRequest,
    MalformedRequestError,
    NormalisationError,
    ProviderConfig,
    RecordingPlan,
    RecordingSourceError,
    RecordingTarget,
    SignatureError,
    StoredEvent,
)
from app.webhooks.providers.simulation import CallSpec, SignedRequest

_E = TypeVar("_E", bound=StrEnum)

MAX_BATCH = 1000
SIGNATURE_HEADER = "X-Callfunnel-Signature"
_SIGNATURE_PREFIX = "sha256="
_TYPES = frozenset({"call.started", "call.answered", "call.ended", "recording.ready"})
_IMPLIED_STATUS = {"call.started": CallStatus.RINGING, "call.answered": CallStatus.IN_PROGRESS}

# Where the signing helpers pretend the bridge keeps its recordings.
DEMO_RECORDING_BASE = "https://recordings.example.com"
_RECORDING_READY_DELAY = timedelta(seconds=20)


class GenericConfig(ProviderConfig):
    secret_fields: ClassVar[frozenset[str]] = frozenset({"secret"})

    secret: str
    # Hosts recording_url (and its redirects) may name: exact, or "*.example.com" for
    # example.com and every name under it.
    recording_hosts: list[str] = Field(default_factory=list)

    @field_validator("recording_hosts")
    @classmethod
    def _hosts(cls, value: list[str]) -> list[str]:
        # Host names compare case-blind; a URL or a path here would never match a host.
        hosts = [host.strip().lower() for host in value]
        for host in hosts:
            if not host or any(c in host for c in "/:@ "):
                raise ValueError(f"not a host name: {host!r}")
        return hosts


def sign_body(secret: str, body: bytes) -> str:
    """The header value a bridge sends with ``body``."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return _SIGNATURE_PREFIX + digest


def _event_id(event: Mapping[str, object], index: int | None) -> str:
    event_id = as_text(event.get("event_id"))
    if event_id is None:
        where = "" if index is None else f" (events[{index}])"
        raise MalformedRequestError(f"an event has no event_id{where}: nothing was stored")
    return event_id


def _member(kind: type[_E], value: object, what: str) -> _E | None:
    if value is None or value == "":
        return None
    try:
        return kind(str(value).strip().lower())
    except ValueError as exc:
        raise NormalisationError(f"unknown {what} {value!r}") from exc


def _sides(
    data: Mapping[str, object], direction: Direction | None
) -> tuple[str | None, str | None]:
    """(employee's extension, customer's number): an explicit ``extension`` wins over from/to."""
    caller = split_party(as_text(data.get("from")))
    callee = split_party(as_text(data.get("to")))
    extension = as_text(data.get("extension"))
    if direction is Direction.OUTBOUND:
        return extension or caller.extension, callee.number
    if direction is Direction.INBOUND:
        return extension or callee.extension, caller.number
    if direction is Direction.INTERNAL:
        return extension or caller.extension, None
    return extension or caller.extension or callee.extension, caller.number or callee.number


def _times(data: Mapping[str, object], zone: ZoneInfo) -> dict[str, datetime | None]:
    return {
        name: utc_from_iso(data.get(name), zone, name)
        for name in ("occurred_at", "started_at", "answered_at", "ended_at")
    }


class GenericAdapter:
    name = "generic"
    config_model: type[ProviderConfig] = GenericConfig

    def handshake(self, request: InboundRequest, config: ProviderConfig) -> HandshakeReply | None:
        return None

    def verify(self, request: InboundRequest, config: ProviderConfig) -> None:
        cfg = expect_config(config, GenericConfig)
        require_secrets(cfg.secret)
        given = header(request, SIGNATURE_HEADER)
        if not given:
            raise SignatureError(f"{SIGNATURE_HEADER} header is missing")
        given = given.strip()
        # Hex digits are case-blind; the prefix is not.
        if given.startswith(_SIGNATURE_PREFIX):
            given = _SIGNATURE_PREFIX + given.removeprefix(_SIGNATURE_PREFIX).lower()
        if not same(given, sign_body(cfg.secret, request.body)):
            raise SignatureError(f"{SIGNATURE_HEADER} does not match the body")

    def split(self, request: InboundRequest) -> Sequence[StoredEvent]:
        parsed = load_json(request.body, "the body")
        if isinstance(parsed, dict) and "events" in parsed:
            batch = parsed["events"]
            if not isinstance(batch, list):
                raise MalformedRequestError('"events" is not a list')
            if len(batch) > MAX_BATCH:
                raise MalformedRequestError(f"a batch holds at most {MAX_BATCH} events")
            stored: dict[str, StoredEvent] = {}
            for index, item in enumerate(batch):
                if not isinstance(item, dict):
                    raise MalformedRequestError(f"events[{index}] is not an object")
                key = identity_key("generic", _event_id(item, index))
                body = json.dumps(item, ensure_ascii=False, separators=(",", ":"))
                # The first of two events sharing an id wins, as the unique key would decide,
                # and the batch never collides with itself on insert.
                stored.setdefault(key, self._stored(key, request, body.encode("utf-8")))
            return list(stored.values())
        if not isinstance(parsed, dict):
            raise MalformedRequestError('the body is neither an event nor {"events": [...]}')
        key = identity_key("generic", _event_id(parsed, None))
        return [self._stored(key, request, request.body)]

    @staticmethod
    def _stored(key: str, request: InboundRequest, body: bytes) -> StoredEvent:
        return StoredEvent(
            dedupe_key=key, subpath=request.subpath, content_type=JSON_CONTENT_TYPE, body=body
        )

    def normalise(self, event: StoredEvent, config: ProviderConfig) -> Sequence[CallEvent]:
        cfg = expect_config(config, GenericConfig)
        try:
            data = json_object(event.body, "the stored event")
        except MalformedRequestError as exc:
            raise NormalisationError(str(exc)) from exc
        kind = as_text(data.get("type"))
        if kind not in _TYPES:
            raise NormalisationError(
                f"unknown event type {kind!r}; expected one of {sorted(_TYPES)}"
            )
        call_id = as_text(data.get("call_id"))
        if call_id is None:
            raise NormalisationError("the event has no call_id")
        times = _times(data, cfg.zone)
        if kind == "recording.ready":
            url = as_text(data.get("recording_url"))
            if url is None:
                raise NormalisationError("recording.ready has no recording_url")
            if urlsplit(url).scheme.lower() not in ("http", "https"):
                # Hosts are checked by the recording worker; other schemes never reach it.
                raise NormalisationError(f"recording_url is not an http(s) URL: {url[:80]!r}")
            ref = as_text(data.get("recording_id")) or as_text(data.get("event_id")) or url
            return [
                CallEvent(
                    provider_call_id=call_id,
                    occurred_at=times["occurred_at"],
                    recording=RecordingRef(ref, url),
                )
            ]
        if all(moment is None for moment in times.values()):
            # Kept as failed (replayable) rather than folded into a call that would have no start.
            raise NormalisationError(
                f"{kind} carries none of occurred_at, started_at, answered_at, ended_at:"
                " the call's time is unknown"
            )
        direction = _member(Direction, data.get("direction"), "direction")
        extension, external = _sides(data, direction)
        status = _member(CallStatus, data.get("status"), "status")
        if status is None:
            status = {
                "call.started": CallStatus.RINGING,
                "call.answered": CallStatus.IN_PROGRESS,
            }.get(kind)
        answered_at = times["answered_at"]
        if answered_at is None and kind == "call.answered":
            answered_at = times["occurred_at"]
        ended_at = times["ended_at"]
        if ended_at is None and kind == "call.ended":
            ended_at = times["occurred_at"]
        return [
            CallEvent(
                provider_call_id=call_id,
                occurred_at=times["occurred_at"],
                final=kind == "call.ended",
                direction=direction,
                status=status,
                extension=extension,
                external_number=external,
                started_at=times["started_at"],
                answered_at=answered_at,
                ended_at=ended_at,
                ring_seconds=read_seconds(data.get("ring_seconds"), "ring_seconds"),
                talk_seconds=read_seconds(data.get("talk_seconds"), "talk_seconds"),
                duration_seconds=read_seconds(data.get("duration_seconds"), "duration_seconds"),
                disconnect_reason=as_text(data.get("disconnect_reason")),
            )
        ]

    def webhook_urls(self, config: ProviderConfig, base_path: str) -> Mapping[str, str]:
        return {"events": base_path}

    def signed_requests(
        self, call: CallSpec, config: ProviderConfig, *, integration_id: str
    ) -> Sequence[SignedRequest]:
        cfg = expect_config(config, GenericConfig)
        call_id = f"g-{call.call_id}"
        if call.direction is Direction.INBOUND:
            caller, callee = call.external_number, call.extension
        else:
            caller, callee = call.extension, call.external_number
        base: dict[str, object] = {
            "call_id": call_id,
            "direction": call.direction.value,
            "from": caller,
            "to": callee,
            "extension": call.extension,
        }
        started = _iso(call.started_at)
        events: list[dict[str, object]] = [
            {
                **base,
                "event_id": f"{call_id}-1",
                "type": "call.started",
                "occurred_at": started,
                "started_at": started,
            }
        ]
        if call.answered_at is not None:
            events.append(
                {
                    **base,
                    "event_id": f"{call_id}-2",
                    "type": "call.answered",
                    "occurred_at": _iso(call.answered_at),
                    "started_at": started,
                    "answered_at": _iso(call.answered_at),
                }
            )
        ended: dict[str, object] = {
            **base,
            "event_id": f"{call_id}-9",
            "type": "call.ended",
            "occurred_at": _iso(call.ended_at),
            "started_at": started,
            "status": call.status.value,
            "talk_seconds": (
                seconds_between(call.answered_at, call.ended_at) if call.answered_at else 0
            ),
            "duration_seconds": seconds_between(call.started_at, call.ended_at),
        }
        if call.answered_at is not None:
            ended["answered_at"] = _iso(call.answered_at)
        events.append(ended)
        if call.recording_id:
            events.append(
                {
                    "event_id": f"{call_id}-r",
                    "call_id": call_id,
                    "type": "recording.ready",
                    "occurred_at": _iso(call.ended_at + _RECORDING_READY_DELAY),
                    "recording_url": f"{DEMO_RECORDING_BASE}/{call.call_id}.mp3",
                }
            )
        requests = []
        for item in events:
            body = json.dumps(item, ensure_ascii=False).encode("utf-8")
            headers = {
                "content-type": JSON_CONTENT_TYPE,
                SIGNATURE_HEADER: sign_body(cfg.secret, body),
            }
            requests.append(SignedRequest(method="POST", subpath="", headers=headers, body=body))
        return requests

    def recording_plan(self, config: ProviderConfig, target: RecordingTarget) -> RecordingPlan:
        """``recording_url`` as the bridge sent it, on the integration's own ``recording_hosts``."""
        cfg = expect_config(config, GenericConfig)
        if not target.source_url:
            raise RecordingSourceError("the recording has no recording_url to download")
        return RecordingPlan(method="GET", url=target.source_url, hosts=tuple(cfg.recording_hosts))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


ADAPTER = GenericAdapter()
