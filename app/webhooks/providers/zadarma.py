"""Zadarma PBX notifications (Novofon shares the API and this adapter).

Each ``NOTIFY_*`` form carries a ``Signature`` header: base64 of the *hex* HMAC-SHA1, keyed with the
API secret, of a few fields that depend on the event. The signed string leaves out ``event``,
``duration`` and ``disposition``, so START and END of one call share a signature; ``allowed_ips``
narrows who may send at all. The REST API that hands out recording links is signed the same way.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
from collections.abc import Mapping, Sequence
from typing import ClassVar
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator

from app.calls.events import CallEvent, CallStatus, Direction, RecordingRef
from app.phones import split_party
from app.webhooks.providers._common import (
    FORM_CONTENT_TYPE,
    as_text,
    e164_digits,
    expect_config,
    form_request,
    hashed_key,
    header,
    read_form,
    read_form_to_verify,
    read_seconds,
    read_stored_form,
    require_secrets,
    same,
    seconds_between,
    stored_event,
    utc_from_local,
)
from app.webhooks.providers.base import (
    ForbiddenSourceError,
    HandshakeReply,
    InboundRequest,
    MalformedRequestError,
    NormalisationError,
    ProviderConfig,
    RecordingNotReadyError,
    RecordingPlan,
    RecordingSourceError,
    RecordingTarget,
    SignatureError,
    StoredEvent,
)
from app.webhooks.providers.simulation import CallSpec, SignedRequest


class ZadarmaConfig(ProviderConfig):
    secret_fields: ClassVar[frozenset[str]] = frozenset({"api_key", "api_secret"})

    api_key: str
    api_secret: str
    allowed_ips: list[str] = Field(default_factory=list)  # IPs or CIDR networks; empty: any

    @field_validator("allowed_ips")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError as exc:
                raise ValueError(f"not an IP address or network: {entry!r}") from exc
        return [entry.strip() for entry in value]


_INBOUND_SIGNED = ("caller_id", "called_did", "call_start")
_SIGNED_FIELDS: Mapping[str, tuple[str, ...]] = {
    "NOTIFY_START": _INBOUND_SIGNED,
    "NOTIFY_IVR": _INBOUND_SIGNED,
    "NOTIFY_INTERNAL": _INBOUND_SIGNED,
    "NOTIFY_END": _INBOUND_SIGNED,
    "NOTIFY_ANSWER": ("caller_id", "destination", "call_start"),
    "NOTIFY_OUT_START": ("internal", "destination", "call_start"),
    "NOTIFY_OUT_END": ("internal", "destination", "call_start"),
    "NOTIFY_RECORD": ("pbx_call_id", "call_id_with_rec"),
}
_OUTBOUND_EVENTS = frozenset({"NOTIFY_OUT_START", "NOTIFY_OUT_END"})
_END_EVENTS = frozenset({"NOTIFY_END", "NOTIFY_OUT_END"})
_RINGING_EVENTS = frozenset({"NOTIFY_START", "NOTIFY_IVR", "NOTIFY_INTERNAL", "NOTIFY_OUT_START"})

_DISPOSITIONS = {
    "answered": CallStatus.ANSWERED,
    "busy": CallStatus.BUSY,
    "cancel": CallStatus.CANCELLED,
    "no answer": CallStatus.NO_ANSWER,
}

# Q.931 cause codes Zadarma reports beside each disposition, for the signing helpers.
_STATUS_CODES = {
    CallStatus.ANSWERED: ("answered", "16"),
    CallStatus.BUSY: ("busy", "17"),
    CallStatus.NO_ANSWER: ("no answer", "19"),
    CallStatus.CANCELLED: ("cancel", "16"),
    CallStatus.FAILED: ("failed", "34"),
}
DEMO_CALLED_DID = "74950000000"


def _hex_hmac_b64(secret: str, message: str) -> str:
    """Base64 of the *hex* HMAC-SHA1: how Zadarma signs both its notifications and its API."""
    digest = hmac.new(secret.encode("utf-8"), message.encode("utf-8"), hashlib.sha1).hexdigest()
    return base64.b64encode(digest.encode("ascii")).decode("ascii")


def _signature(secret: str, fields: Mapping[str, str], event: str) -> str:
    # PHP's string concatenation of a missing field is "", and that is what Zadarma signs.
    return _hex_hmac_b64(secret, "".join(fields.get(name, "") for name in _SIGNED_FIELDS[event]))


def _check_source(client_ip: str | None, allowed: Sequence[str]) -> None:
    if not allowed:
        return
    try:
        address = ipaddress.ip_address((client_ip or "").strip())
    except ValueError as exc:
        raise ForbiddenSourceError("the request's source address is unknown") from exc
    for entry in allowed:
        if address in ipaddress.ip_network(entry, strict=False):
            return
    raise ForbiddenSourceError(f"{address} is not in the integration's allowed_ips")


def _status(disposition: str | None) -> CallStatus:
    # Every other disposition (no money, unallocated number, line limit, …) is a failed attempt.
    return _DISPOSITIONS.get((disposition or "").strip().lower(), CallStatus.FAILED)


def _parties(event: str, fields: Mapping[str, str]) -> tuple[Direction, str | None, str | None]:
    """(direction, employee's extension, customer's number) for a call event."""
    if event in _OUTBOUND_EVENTS:
        employee = split_party(fields.get("internal")).extension
        callee = split_party(fields.get("destination"))
        if callee.extension is not None:
            return Direction.INTERNAL, employee, None
        return Direction.OUTBOUND, employee, callee.number
    caller = split_party(fields.get("caller_id"))
    extension: str | None = None
    if event == "NOTIFY_ANSWER":
        extension = (
            split_party(fields.get("internal")).extension
            or split_party(fields.get("destination")).extension
        )
    elif event in _END_EVENTS:
        extension = split_party(fields.get("internal")).extension
    # NOTIFY_INTERNAL names a phone that rings, one per member of a ring group: not the employee.
    if caller.extension is not None:
        return Direction.INTERNAL, caller.extension, None
    return Direction.INBOUND, extension, caller.number


def _recording(fields: Mapping[str, str]) -> RecordingRef | None:
    ref = fields.get("call_id_with_rec", "").strip()
    return RecordingRef(ref) if ref else None


class ZadarmaAdapter:
    name = "zadarma"
    config_model: type[ProviderConfig] = ZadarmaConfig

    def handshake(self, request: InboundRequest, config: ProviderConfig) -> HandshakeReply | None:
        echo = request.query.get("zd_echo")
        if request.method.upper() == "GET" and echo is not None:
            return HandshakeReply(text=echo)
        return None

    def verify(self, request: InboundRequest, config: ProviderConfig) -> None:
        cfg = expect_config(config, ZadarmaConfig)
        _check_source(request.client_ip, cfg.allowed_ips)
        require_secrets(cfg.api_secret)
        fields = read_form_to_verify(request.body)
        event = fields.get("event", "")
        if event not in _SIGNED_FIELDS:
            raise SignatureError(f"unknown Zadarma event {event[:40]!r}: its signature is unknown")
        given = header(request, "signature")
        if given is None:
            raise SignatureError("Zadarma request has no Signature header")
        if not same(given.strip(), _signature(cfg.api_secret, fields, event)):
            raise SignatureError("Zadarma Signature does not match")

    def split(self, request: InboundRequest) -> Sequence[StoredEvent]:
        fields = read_form(request.body)
        if not fields.get("event"):
            raise MalformedRequestError("Zadarma request has no event")
        # No event identity: a ring group sends one NOTIFY_INTERNAL per extension with the same
        # call id, so only the whole set of fields tells two deliveries apart.
        return [stored_event(request, hashed_key("zadarma", fields), FORM_CONTENT_TYPE)]

    def normalise(self, event: StoredEvent, config: ProviderConfig) -> Sequence[CallEvent]:
        cfg = expect_config(config, ZadarmaConfig)
        fields = read_stored_form(event)
        name = fields.get("event", "")
        call_id = fields.get("pbx_call_id", "").strip()
        if name not in _SIGNED_FIELDS:
            return []
        if not call_id:
            raise NormalisationError(f"Zadarma {name} has no pbx_call_id")
        if name == "NOTIFY_RECORD":
            recording = _recording(fields)
            if recording is None:
                raise NormalisationError("Zadarma NOTIFY_RECORD has no call_id_with_rec")
            return [CallEvent(provider_call_id=call_id, recording=recording)]
        started = utc_from_local(fields.get("call_start"), cfg.zone, "call_start")
        if started is None:
            # Kept as failed (replayable) rather than folded into a call that would have no start.
            raise NormalisationError(
                f"Zadarma {name} has no call_start: the call's time is unknown"
            )
        direction, extension, external = _parties(name, fields)
        if name in _END_EVENTS:
            # duration is talk time; Zadarma reports no ring time and no end time.
            talk = read_seconds(fields.get("duration"), "duration") or 0
            recorded = fields.get("is_recorded", "").strip() == "1"
            return [
                CallEvent(
                    provider_call_id=call_id,
                    final=True,
                    direction=direction,
                    status=_status(fields.get("disposition")),
                    extension=extension,
                    external_number=external,
                    started_at=started,
                    talk_seconds=talk,
                    duration_seconds=talk,
                    disconnect_reason=fields.get("status_code") or None,
                    recording=_recording(fields) if recorded else None,
                )
            ]
        return [
            CallEvent(
                provider_call_id=call_id,
                occurred_at=started if name in _RINGING_EVENTS else None,
                direction=direction,
                status=CallStatus.RINGING if name in _RINGING_EVENTS else CallStatus.IN_PROGRESS,
                extension=extension,
                external_number=external,
                started_at=started,
            )
        ]

    def webhook_urls(self, config: ProviderConfig, base_path: str) -> Mapping[str, str]:
        return {"events": base_path}

    def signed_requests(
        self, call: CallSpec, config: ProviderConfig, *, integration_id: str
    ) -> Sequence[SignedRequest]:
        cfg = expect_config(config, ZadarmaConfig)
        return [
            form_request(
                "",
                list(fields.items()),
                {"Signature": _signature(cfg.api_secret, fields, fields["event"])},
            )
            for fields in _notifications(call, cfg.zone)
        ]

    def recording_plan(self, config: ProviderConfig, target: RecordingTarget) -> RecordingPlan:
        """Ask the API for a temporary link to the file, then download that link (unsigned).

        The API is the one of the integration's platform (``target.provider``: Zadarma or Novofon).
        ``call_id`` (not ``pbx_call_id``) names the recording: it is the ``call_id_with_rec`` the
        adapter kept, one file exactly, while ``pbx_call_id`` names the whole call and answers every
        recording of it (a transferred call has several).
        """
        cfg = expect_config(config, ZadarmaConfig)
        query = api_query({"call_id": target.provider_ref})
        return RecordingPlan(
            method="GET",
            url=f"{_API_URLS.get(target.provider, ZADARMA_API_URL)}{_RECORD_REQUEST}?{query}",
            hosts=RECORDING_HOSTS,
            headers={"authorization": api_authorization(cfg, _RECORD_REQUEST, query)},
            read_answer=_recording_link,
        )


def _notifications(call: CallSpec, zone: ZoneInfo) -> list[dict[str, str]]:
    """The forms Zadarma posts for one call, in its order and with its field order."""
    common = {"call_start": call.started_at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")}
    number = e164_digits(call.external_number)
    if call.direction is Direction.INBOUND:
        pbx_call_id = f"in_{call.call_id}"
        caller = {**common, "pbx_call_id": pbx_call_id, "caller_id": number}
        rung = {**caller, "called_did": DEMO_CALLED_DID}
        events = [
            {"event": "NOTIFY_START", **rung},
            {"event": "NOTIFY_INTERNAL", **rung, "internal": call.extension},
        ]
        if call.answered_at is not None:
            answer = {"destination": call.extension, "internal": call.extension}
            events.append({"event": "NOTIFY_ANSWER", **caller, **answer})
        end = {"event": "NOTIFY_END", **rung, "internal": call.extension}
    else:
        pbx_call_id = f"out_{call.call_id}"
        destination = number if call.direction is Direction.OUTBOUND else call.external_number
        dialled = {"internal": call.extension, "destination": destination}
        events = [{"event": "NOTIFY_OUT_START", **common, "pbx_call_id": pbx_call_id, **dialled}]
        caller = {"pbx_call_id": pbx_call_id, "caller_id": call.extension}
        end = {"event": "NOTIFY_OUT_END", **common, **caller, **dialled}
    talk = seconds_between(call.answered_at, call.ended_at) if call.answered_at else 0
    disposition, status_code = _STATUS_CODES.get(call.status, _STATUS_CODES[CallStatus.FAILED])
    rec_id = f"{pbx_call_id}.rec" if call.recording_id else ""
    outcome = {
        "duration": str(talk),
        "disposition": disposition,
        "status_code": status_code,
        "is_recorded": "1" if rec_id else "0",
        "call_id_with_rec": rec_id,
    }
    events.append({**end, **outcome})
    if rec_id:
        events.append(
            {"event": "NOTIFY_RECORD", "call_id_with_rec": rec_id, "pbx_call_id": pbx_call_id}
        )
    return events


# --- recording downloads --------------------------------------------------------------------------

# Novofon runs Zadarma's API on its own hosts, and its keys are valid only there.
ZADARMA_API_URL = "https://api.zadarma.com"
NOVOFON_API_URL = "https://api.novofon.com"
_API_URLS = {"zadarma": ZADARMA_API_URL, "novofon": NOVOFON_API_URL}
RECORDING_HOSTS = ("*.zadarma.com", "*.novofon.com", "*.novofon.ru")
_RECORD_REQUEST = "/v1/pbx/record/request/"


def api_query(params: Mapping[str, str]) -> str:
    """An API query string as Zadarma signs it: sorted by name, form-encoded like PHP does."""
    return urlencode(sorted(params.items()))


def api_authorization(config: ZadarmaConfig, method: str, query: str) -> str:
    """The ``Authorization`` header of an API call: ``key:base64(hex(hmac_sha1(secret, …)))``
    over the method's path, the ``api_query`` and that query's MD5."""
    message = method + query + hashlib.md5(query.encode("utf-8"), usedforsecurity=False).hexdigest()
    return f"{config.api_key}:{_hex_hmac_b64(config.api_secret, message)}"


def _recording_link(answer: object) -> str:
    if not isinstance(answer, dict):
        raise RecordingSourceError("the recording API did not answer a JSON object")
    if answer.get("status") != "success":
        message = as_text(answer.get("message")) or "no reason given"
        raise RecordingNotReadyError(f"no recording link yet: {message}")
    link = as_text(answer.get("link"))
    links = answer.get("links")
    if link is None and isinstance(links, list) and links:
        link = as_text(links[0])
    if link is None:
        raise RecordingSourceError("the recording API answered success without a link")
    return link


ADAPTER = ZadarmaAdapter()
