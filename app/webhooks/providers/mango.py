"""Mango Office VPBX API: ``events/call``, ``summary``, ``recording``, ``record/added`` and others.

Every request is a form ``vpbx_api_key``, ``sign``, ``json``; ``sign`` is the SHA-256 of
``api_key + json + api_salt`` over the ``json`` value exactly as sent. Recordings are downloaded
with the same signed form, sent the other way.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import ClassVar

from app.calls.events import CallEvent, CallStatus, Direction, RecordingRef
from app.phones import split_party
from app.webhooks.providers._common import (
    FORM_CONTENT_TYPE,
    as_int,
    as_text,
    e164_digits,
    encode_form,
    epoch,
    expect_config,
    form_request,
    hashed_key,
    identity_key,
    json_object,
    read_form,
    read_form_to_verify,
    read_int,
    read_stored_form,
    require_secrets,
    same,
    stored_event,
    sub_object,
    utc_from_epoch,
)
from app.webhooks.providers.base import (
    HandshakeReply,
    InboundRequest,
    MalformedRequestError,
    NormalisationError,
    ProviderConfig,
    RecordingNotReadyError,
    RecordingPlan,
    RecordingTarget,
    SignatureError,
    StoredEvent,
)
from app.webhooks.providers.simulation import CallSpec, SignedRequest


class MangoConfig(ProviderConfig):
    secret_fields: ClassVar[frozenset[str]] = frozenset({"api_key", "api_salt"})

    api_key: str
    api_salt: str


_DIRECTIONS = {0: Direction.INTERNAL, 1: Direction.INBOUND, 2: Direction.OUTBOUND}
_DIRECTION_CODES = {direction: code for code, direction in _DIRECTIONS.items()}
_LEG_STATUSES = {
    "appeared": CallStatus.RINGING,
    "connected": CallStatus.IN_PROGRESS,
    "onhold": CallStatus.IN_PROGRESS,
    # The leg is over; whether anybody talked on the call is the merge's verdict (the leg's
    # Connected, or the summary), so a Disconnected that arrives alone still ends the call.
    "disconnected": CallStatus.NO_ANSWER,
}

# What the signing helpers put where the PBX would: a line number, Mango's SIP domain, and the
# disconnect codes seen on normal answered and unanswered calls.
DEMO_LINE_NUMBER = "74950000000"
_SIP_DOMAIN = "vpbx.mangosip.ru"
_REASON_ANSWERED = 1110
_REASON_UNANSWERED = 1120
_RECORD_ADDED_DELAY_SECONDS = 5

_KNOWN_KINDS = frozenset({"call", "summary", "recording", "record/added"})


def _sign(config: MangoConfig, payload: str) -> str:
    return hashlib.sha256((config.api_key + payload + config.api_salt).encode("utf-8")).hexdigest()


def _signed_form(config: MangoConfig, data: Mapping[str, object]) -> list[tuple[str, str]]:
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return [("vpbx_api_key", config.api_key), ("sign", _sign(config, payload)), ("json", payload)]


def _event_kind(subpath: str) -> str:
    """``events/call`` → ``call``; the route may or may not keep the ``events/`` prefix."""
    return subpath.strip("/").removeprefix("events/")


def _payload(fields: Mapping[str, str]) -> dict[str, object]:
    payload = fields.get("json")
    if payload is None:
        raise MalformedRequestError("the Mango request has no json field")
    return json_object(payload, "the Mango json field")


def _dedupe_key(kind: str, data: Mapping[str, object], fields: Mapping[str, str]) -> str:
    entry_id = as_text(data.get("entry_id"))
    recording_id = as_text(data.get("recording_id"))
    if kind == "call":
        leg_id = as_text(data.get("call_id"))
        seq = as_int(data.get("seq"))
        if entry_id and leg_id and seq is not None:
            return identity_key("mango.call", entry_id, leg_id, seq)
    elif kind == "summary":
        if entry_id:
            return identity_key("mango.summary", entry_id)
    elif kind == "recording":
        state = as_text(data.get("recording_state"))
        if recording_id and state:
            return identity_key("mango.recording", recording_id, state.lower())
    elif kind == "record/added" and recording_id:
        return identity_key("mango.record_added", recording_id)
    # Other event kinds, and known kinds missing their identity: kept for replay, never merged.
    return hashed_key(f"mango.{kind}" if kind in _KNOWN_KINDS else "mango.other", fields)


def _customer(side: Mapping[str, object]) -> str | None:
    number = as_text(side.get("number"))
    return split_party(number).number if number else None


def _sides(
    data: Mapping[str, object], direction: Direction | None
) -> tuple[Direction | None, str | None, str | None]:
    """(direction, employee's extension, customer's number) from the ``from``/``to`` objects.

    Call events carry no direction: the side with an extension is the employee's.
    """
    caller, callee = sub_object(data, "from"), sub_object(data, "to")
    caller_ext, callee_ext = as_text(caller.get("extension")), as_text(callee.get("extension"))
    if direction is None:
        if caller_ext and callee_ext:
            direction = Direction.INTERNAL
        elif caller_ext:
            direction = Direction.OUTBOUND
        elif callee_ext or as_text(callee.get("line_number")):
            # Mango names the company's own line a customer dialled (``to.line_number``) even
            # before any extension rings (an IVR answering first): that call came in.
            direction = Direction.INBOUND
    if direction is Direction.OUTBOUND:
        return direction, caller_ext, _customer(callee)
    if direction is Direction.INBOUND:
        return direction, callee_ext, _customer(caller)
    if direction is Direction.INTERNAL:
        return direction, caller_ext, None
    return None, None, None


def _required(data: Mapping[str, object], key: str, what: str) -> str:
    value = as_text(data.get(key))
    if value is None:
        raise NormalisationError(f"Mango {what} event has no {key}")
    return value


def _call_event(data: Mapping[str, object]) -> list[CallEvent]:
    entry_id = _required(data, "entry_id", "call")
    state = (as_text(data.get("call_state")) or "").lower()
    seq = read_int(data.get("seq"), "seq")
    at = utc_from_epoch(data.get("timestamp"), "timestamp")
    if at is None:
        # Kept as failed (replayable) rather than folded into a call that would have no time.
        raise NormalisationError("Mango call event has no timestamp: the call's time is unknown")
    direction, extension, external = _sides(data, None)
    if direction is Direction.INBOUND and state != "connected":
        # Every phone of a ring group gets its own leg; only the one that answers is the employee.
        extension = None
    return [
        CallEvent(
            provider_call_id=entry_id,
            occurred_at=at,
            leg_id=as_text(data.get("call_id")),
            seq=seq,
            direction=direction,
            status=_LEG_STATUSES.get(state),
            extension=extension,
            external_number=external,
            started_at=at if state == "appeared" else None,
            answered_at=at if state == "connected" else None,
            disconnect_reason=as_text(data.get("disconnect_reason")),
        )
    ]


def _summary_event(data: Mapping[str, object]) -> list[CallEvent]:
    entry_id = _required(data, "entry_id", "summary")
    created = utc_from_epoch(data.get("create_time"), "create_time")
    ended = utc_from_epoch(data.get("end_time"), "end_time")
    if created is None or ended is None:
        raise NormalisationError("Mango summary lacks create_time or end_time")
    # entry_result is not trusted alone: a call was answered when somebody talked.
    talked = utc_from_epoch(data.get("talk_time"), "talk_time")
    code = read_int(data.get("call_direction"), "call_direction")
    stated = _DIRECTIONS.get(code) if code is not None else None
    direction, extension, external = _sides(data, stated)
    ring = max(0, epoch(talked or ended) - epoch(created))
    talk = max(0, epoch(ended) - epoch(talked)) if talked else 0
    return [
        CallEvent(
            provider_call_id=entry_id,
            occurred_at=ended,
            final=True,
            direction=direction,
            status=CallStatus.ANSWERED if talked else CallStatus.NO_ANSWER,
            extension=extension,
            external_number=external,
            started_at=created,
            answered_at=talked,
            ended_at=ended,
            ring_seconds=ring,
            talk_seconds=talk,
            duration_seconds=ring + talk,
            disconnect_reason=as_text(data.get("disconnect_reason")),
        )
    ]


def _recording_event(data: Mapping[str, object]) -> list[CallEvent]:
    state = (as_text(data.get("recording_state")) or "").lower()
    recipient = (as_text(data.get("recipient")) or "cloud").lower()
    # Started/Continued announce a file that does not exist yet; a recording mailed elsewhere is
    # not ours to fetch. Only a completed cloud recording can be downloaded.
    if state != "completed" or recipient != "cloud":
        return []
    return [
        CallEvent(
            provider_call_id=_required(data, "entry_id", "recording"),
            occurred_at=utc_from_epoch(data.get("timestamp"), "timestamp"),
            # The recording's seq counts recording events, not the leg's: never mix it in.
            leg_id=as_text(data.get("call_id")),
            recording=RecordingRef(_required(data, "recording_id", "recording")),
        )
    ]


def _record_added_event(data: Mapping[str, object]) -> list[CallEvent]:
    return [
        CallEvent(
            provider_call_id=_required(data, "entry_id", "record/added"),
            occurred_at=utc_from_epoch(data.get("timestamp"), "timestamp"),
            recording=RecordingRef(_required(data, "recording_id", "record/added")),
        )
    ]


class MangoAdapter:
    name = "mango"
    config_model: type[ProviderConfig] = MangoConfig

    def handshake(self, request: InboundRequest, config: ProviderConfig) -> HandshakeReply | None:
        try:
            fields = read_form(request.body)
        except MalformedRequestError:
            return None
        # The "test connection" button sends no json: answer it, store nothing.
        return None if "json" in fields else HandshakeReply()

    def verify(self, request: InboundRequest, config: ProviderConfig) -> None:
        cfg = expect_config(config, MangoConfig)
        require_secrets(cfg.api_key, cfg.api_salt)
        fields = read_form_to_verify(request.body)
        key, sign, payload = fields.get("vpbx_api_key"), fields.get("sign"), fields.get("json")
        if key is None or sign is None or payload is None:
            raise SignatureError("Mango request lacks vpbx_api_key, sign or json")
        if not same(key, cfg.api_key):
            raise SignatureError("vpbx_api_key is not this integration's API key")
        if not same(sign.strip().lower(), _sign(cfg, payload)):
            raise SignatureError("Mango sign does not match")

    def split(self, request: InboundRequest) -> Sequence[StoredEvent]:
        fields = read_form(request.body)
        data = _payload(fields)
        key = _dedupe_key(_event_kind(request.subpath), data, fields)
        return [stored_event(request, key, FORM_CONTENT_TYPE)]

    def normalise(self, event: StoredEvent, config: ProviderConfig) -> Sequence[CallEvent]:
        expect_config(config, MangoConfig)
        try:
            data = _payload(read_stored_form(event))
        except MalformedRequestError as exc:
            raise NormalisationError(str(exc)) from exc
        kind = _event_kind(event.subpath)
        if kind == "call":
            return _call_event(data)
        if kind == "summary":
            return _summary_event(data)
        if kind == "recording":
            return _recording_event(data)
        if kind == "record/added":
            return _record_added_event(data)
        return []

    def webhook_urls(self, config: ProviderConfig, base_path: str) -> Mapping[str, str]:
        return {"events": base_path}

    def signed_requests(
        self, call: CallSpec, config: ProviderConfig, *, integration_id: str
    ) -> Sequence[SignedRequest]:
        cfg = expect_config(config, MangoConfig)
        return _MangoCallWriter(call, cfg).requests()

    def recording_plan(self, config: ProviderConfig, target: RecordingTarget) -> RecordingPlan:
        """The signed download request; Mango redirects it to a one-time URL that is never kept."""
        cfg = expect_config(config, MangoConfig)
        form = _signed_form(cfg, {"recording_id": target.provider_ref, "action": "download"})
        return RecordingPlan(
            method="POST",
            url=RECORDING_URL,
            hosts=RECORDING_HOSTS,
            headers={"content-type": FORM_CONTENT_TYPE},
            body=encode_form(form),
            read_answer=_no_file_yet,
        )


class _MangoCallWriter:
    """The requests Mango sends for one single-leg call, in the order it sends them."""

    def __init__(self, call: CallSpec, config: MangoConfig) -> None:
        self.call = call
        self.config = config
        self.entry_id = f"E{call.call_id}"
        self.leg_id = f"L{call.call_id}"
        employee: dict[str, object] = {
            "extension": call.extension,
            "number": f"sip:user{call.extension}@{_SIP_DOMAIN}",
        }
        if call.direction is Direction.INBOUND:
            self.caller: dict[str, object] = {"number": e164_digits(call.external_number)}
            self.callee: dict[str, object] = {**employee, "line_number": DEMO_LINE_NUMBER}
        elif call.direction is Direction.OUTBOUND:
            self.caller, self.callee = employee, {"number": e164_digits(call.external_number)}
        else:
            other = call.external_number
            self.caller = employee
            self.callee = {"extension": other, "number": f"sip:user{other}@{_SIP_DOMAIN}"}

    def _request(self, kind: str, data: Mapping[str, object]) -> SignedRequest:
        return form_request(f"events/{kind}", _signed_form(self.config, data))

    def _leg(self, seq: int, state: str, at: int, reason: int | None = None) -> SignedRequest:
        data: dict[str, object] = {
            "entry_id": self.entry_id,
            "call_id": self.leg_id,
            "timestamp": at,
            "seq": seq,
            "call_state": state,
            "location": "abonent",
            "from": self.caller,
            "to": self.callee,
        }
        if reason is not None:
            data["disconnect_reason"] = reason
        return self._request("call", data)

    def requests(self) -> list[SignedRequest]:
        call = self.call
        created, ended = epoch(call.started_at), epoch(call.ended_at)
        talked = epoch(call.answered_at) if call.answered_at else 0
        reason = _REASON_ANSWERED if talked else _REASON_UNANSWERED
        out = [self._leg(1, "Appeared", created)]
        if talked:
            out.append(self._leg(2, "Connected", talked))
        out.append(self._leg(len(out) + 1, "Disconnected", ended, reason))
        summary: dict[str, object] = {
            "entry_id": self.entry_id,
            "call_direction": _DIRECTION_CODES[call.direction],
            "from": self.caller,
            "to": self.callee,
            "line_number": DEMO_LINE_NUMBER,
            "create_time": created,
            "forward_time": created if talked else 0,
            "talk_time": talked,
            "end_time": ended,
            "entry_result": 1 if talked else 0,
            "disconnect_reason": reason,
        }
        out.append(self._request("summary", summary))
        if call.recording_id:
            out.extend(self._recording(call.recording_id, ended))
        return out

    def _recording(self, recording_id: str, ended: int) -> list[SignedRequest]:
        recording: dict[str, object] = {
            "recording_id": recording_id,
            "recording_state": "Completed",
            "seq": 1,
            "entry_id": self.entry_id,
            "call_id": self.leg_id,
            "extension": self.call.extension,
            "timestamp": ended,
            "completion_code": 1000,
            "recipient": "Cloud",
        }
        added: dict[str, object] = {
            "entry_id": self.entry_id,
            "product_id": 1,
            "user_id": 1,
            "timestamp": ended + _RECORD_ADDED_DELAY_SECONDS,
            "recording_id": recording_id,
        }
        return [self._request("recording", recording), self._request("record/added", added)]


# --- recording downloads --------------------------------------------------------------------------

RECORDING_HOSTS = ("*.mango-office.ru",)
RECORDING_URL = "https://app.mango-office.ru/vpbx/queries/recording/post"


def _no_file_yet(answer: object) -> str:
    """Until the file is in the cloud, Mango answers a document instead of a redirect to it."""
    result = as_text(answer.get("result")) if isinstance(answer, dict) else None
    raise RecordingNotReadyError(
        f"Mango has no file yet (result {result})" if result else "Mango has no file yet"
    )


ADAPTER = MangoAdapter()
