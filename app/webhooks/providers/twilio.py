"""Twilio Voice status and recording callbacks.

``X-Twilio-Signature`` is base64 of the raw HMAC-SHA1, keyed with the auth token, of the full URL
Twilio called followed by every POST field sorted by name, ``name + value``. The URL is rebuilt from
the integration's ``public_base_url`` (never from proxy headers), because that is what the account
was configured with.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import field_validator

from app.calls.events import CallEvent, CallStatus, Direction, RecordingRef
from app.phones import split_party
from app.webhooks.providers._common import (
    FORM_CONTENT_TYPE,
    as_int,
    decode_form,
    expect_config,
    form_request,
    hashed_key,
    header,
    identity_key,
    read_int,
    read_seconds,
    require_secrets,
    same,
    seconds_between,
    stored_event,
    utc_from_rfc2822,
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

# Twilio's connection-override fragment asking for retries on 5xx too. A fragment never reaches the
# server and whether Twilio signs it is undocumented, so a signature over either URL is accepted.
RETRY_FRAGMENT = "#rc=3&rp=all"


class TwilioConfig(ProviderConfig):
    secret_fields: ClassVar[frozenset[str]] = frozenset({"auth_token"})

    account_sid: str
    auth_token: str
    public_base_url: str  # scheme and host (and any path prefix) Twilio is configured to call

    @field_validator("public_base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        value = value.strip()
        if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", value):
            raise ValueError("public_base_url must be an http(s) URL without query or fragment")
        return value.rstrip("/")


_STATUSES = {
    "queued": CallStatus.RINGING,
    "initiated": CallStatus.RINGING,
    "ringing": CallStatus.RINGING,
    "in-progress": CallStatus.IN_PROGRESS,
    "completed": CallStatus.ANSWERED,
    "busy": CallStatus.BUSY,
    "failed": CallStatus.FAILED,
    "no-answer": CallStatus.NO_ANSWER,
    "canceled": CallStatus.CANCELLED,
}
_STARTING = frozenset({"queued", "initiated", "ringing"})
_TERMINAL = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
_TERMINAL_NAMES = {
    CallStatus.ANSWERED: "completed",
    CallStatus.BUSY: "busy",
    CallStatus.FAILED: "failed",
    CallStatus.NO_ANSWER: "no-answer",
    CallStatus.CANCELLED: "canceled",
}


def webhook_url(config: TwilioConfig, integration_id: str, subpath: str = "") -> str:
    """The URL Twilio calls for this integration (``subpath``: ``status`` or ``recording``)."""
    base = f"{config.public_base_url}/webhooks/twilio/{integration_id}"
    return f"{base}/{subpath.lstrip('/')}" if subpath else base


def _signature(token: str, url: str, pairs: Sequence[tuple[str, str]]) -> str:
    # As Twilio's own validator: names sorted, and a repeated name's distinct values sorted.
    message = url + "".join(name + value for name, value in sorted(set(pairs)))
    digest = hmac.new(token.encode("utf-8"), message.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _port_variants(url: str) -> tuple[str, ...]:
    """The URL with its default port added and with any port removed: Twilio's validator accepts a
    signature over either, since what its servers put in the signed URL has varied."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return (url,)
    host = parts.netloc.rsplit(":", 1)[0] if port is not None else parts.netloc
    default = 443 if parts.scheme.lower() == "https" else 80
    with_port = parts.netloc if port is not None else f"{host}:{default}"
    return tuple(
        dict.fromkeys(
            (
                url,
                urlunsplit(parts._replace(netloc=with_port)),
                urlunsplit(parts._replace(netloc=host)),
            )
        )
    )


def signature_valid(token: str, url: str, body: bytes, given: str) -> bool:
    """Whether ``given`` is Twilio's signature of a request to ``url`` (query included) with
    ``body``. A form is signed with its fields (repeated names too); a JSON body instead carries
    its SHA-256 in the URL's ``bodySHA256`` and only the URL is signed."""
    query = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    if "bodySHA256" in query:
        if not same(query["bodySHA256"].lower(), hashlib.sha256(body).hexdigest()):
            return False
        pairs: list[tuple[str, str]] = []
    else:
        try:
            pairs = decode_form(body)
        except MalformedRequestError:
            return False
    return any(
        same(given.strip(), _signature(token, candidate, pairs))
        for candidate in _port_variants(url)
    )


# The fields the adapter reads: one of them repeated with different values makes the event
# ambiguous (it is kept as failed); any other field may repeat (Twilio signs them all).
_READ_FIELDS = frozenset(
    {
        "CallSid",
        "ParentCallSid",
        "CallStatus",
        "Timestamp",
        "SequenceNumber",
        "CallDuration",
        "From",
        "To",
        "Direction",
        "RecordingSid",
        "RecordingStatus",
        "RecordingUrl",
    }
)


def _read_twilio_form(body: bytes) -> tuple[dict[str, str], frozenset[str]]:
    """The form's fields by name, and the names it repeats with different values."""
    values: dict[str, list[str]] = {}
    for name, value in decode_form(body):
        values.setdefault(name, []).append(value)
    fields = {name: found[0] for name, found in values.items()}
    conflicting = frozenset(name for name, found in values.items() if len(set(found)) > 1)
    return fields, conflicting


def _canonical(body: bytes) -> dict[str, str]:
    """Every field, repeated values joined, for a hash that tells two deliveries apart."""
    joined: dict[str, list[str]] = {}
    for name, value in decode_form(body):
        joined.setdefault(name, []).append(value)
    return {name: "\n".join(sorted(found)) for name, found in joined.items()}


def _direction(
    fields: Mapping[str, str], is_parent: bool
) -> tuple[Direction | None, str | None, str | None]:
    """(business direction, employee's extension, customer's number) of one leg.

    Twilio's own ``Direction`` names the leg, not the call: a browser client's parent leg is
    ``inbound`` although the employee is calling out. Which side is ``client:``/``sip:`` decides.
    """
    caller, callee = split_party(fields.get("From")), split_party(fields.get("To"))
    if caller.extension and callee.extension:
        return Direction.INTERNAL, caller.extension, None
    if caller.extension:
        return Direction.OUTBOUND, caller.extension, callee.number
    if callee.extension:
        return Direction.INBOUND, callee.extension, caller.number
    if not is_parent:
        # A child leg between two numbers (say forwarding to a mobile) may be the employee's
        # phone: it says nothing certain about the customer.
        return None, None, None
    leg = fields.get("Direction", "").lower()
    if leg == "inbound":
        return Direction.INBOUND, None, caller.number
    if leg.startswith("outbound"):
        return Direction.OUTBOUND, None, callee.number
    return None, None, None


def _status_event(fields: Mapping[str, str]) -> CallEvent:
    call_sid = fields["CallSid"].strip()
    parent = fields.get("ParentCallSid", "").strip() or None
    raw_status = fields.get("CallStatus", "").strip().lower()
    at = utc_from_rfc2822(fields.get("Timestamp"), "Timestamp")
    if at is None:
        # Kept as failed (replayable) rather than folded into a call that would have no start.
        raise NormalisationError("Twilio status callback has no Timestamp: its time is unknown")
    direction, extension, external = _direction(fields, parent is None)
    terminal = raw_status in _TERMINAL
    talk: int | None = None
    if terminal:
        talk = read_seconds(fields.get("CallDuration"), "CallDuration")
        if talk is None and raw_status != "completed":
            talk = 0  # never answered
    return CallEvent(
        provider_call_id=parent or call_sid,
        occurred_at=at,
        leg_id=call_sid,
        seq=read_int(fields.get("SequenceNumber"), "SequenceNumber"),
        # A child leg ending (one phone of a group hanging up) does not end the call.
        final=terminal and parent is None,
        direction=direction,
        status=_STATUSES.get(raw_status),
        extension=extension,
        external_number=external,
        # Each callback tells only its own moment; ring time (answered − first callback) is the
        # merge's to derive across callbacks. A child leg starts after the call has.
        started_at=at if raw_status in _STARTING and parent is None else None,
        answered_at=at if raw_status == "in-progress" else None,
        ended_at=at if terminal and parent is None else None,
        talk_seconds=talk,
    )


def _recording_event(fields: Mapping[str, str]) -> list[CallEvent]:
    status = fields.get("RecordingStatus", "completed").strip().lower()
    if status != "completed":
        return []  # in-progress or failed: nothing to download
    call_sid = fields.get("CallSid", "").strip()
    if not call_sid:
        raise NormalisationError("Twilio recording callback has no CallSid")
    url = fields.get("RecordingUrl", "").strip() or None
    return [
        CallEvent(
            # Usually names only a leg: the merge finds the call through call_leg.
            provider_call_id=fields.get("ParentCallSid", "").strip() or call_sid,
            leg_id=call_sid,
            recording=RecordingRef(fields["RecordingSid"].strip(), url),
        )
    ]


class TwilioAdapter:
    name = "twilio"
    config_model: type[ProviderConfig] = TwilioConfig

    def handshake(self, request: InboundRequest, config: ProviderConfig) -> HandshakeReply | None:
        return None

    def verify(self, request: InboundRequest, config: ProviderConfig) -> None:
        cfg = expect_config(config, TwilioConfig)
        require_secrets(cfg.auth_token)
        if not request.integration_id:
            raise SignatureError("cannot rebuild the signed URL: the integration id is not known")
        given = header(request, "x-twilio-signature")
        if not given:
            raise SignatureError("Twilio request has no X-Twilio-Signature header")
        url = webhook_url(cfg, request.integration_id, request.subpath)
        # Without the raw query string, re-encoding is the best guess; a wrong guess only refuses.
        query = request.raw_query or urlencode(list(request.query.items()))
        if query:
            url = f"{url}?{query}"
        if not any(
            signature_valid(cfg.auth_token, candidate, request.body, given)
            for candidate in (url, url + RETRY_FRAGMENT)
        ):
            raise SignatureError("X-Twilio-Signature does not match")

    def split(self, request: InboundRequest) -> Sequence[StoredEvent]:
        fields, conflicting = _read_twilio_form(request.body)
        call_sid = fields.get("CallSid", "").strip()
        recording_sid = fields.get("RecordingSid", "").strip()
        if conflicting & _READ_FIELDS:
            # Which value counts would be anybody's guess: what is verified must be what is used.
            names = ", ".join(sorted(conflicting & _READ_FIELDS))
            raise MalformedRequestError(f"Twilio form repeats {names} with different values")
        if recording_sid:
            key = identity_key(
                "twilio.recording", recording_sid, fields.get("RecordingStatus", "").lower()
            )
        elif call_sid:
            seq = as_int(fields.get("SequenceNumber"))
            order: tuple[str, str | int] = (
                ("seq", seq) if seq is not None else ("status", fields.get("CallStatus", ""))
            )
            key = identity_key("twilio.status", call_sid, *order)
        elif fields:
            key = hashed_key("twilio.other", _canonical(request.body))
        else:
            raise MalformedRequestError("Twilio request has no fields")
        return [stored_event(request, key, FORM_CONTENT_TYPE)]

    def normalise(self, event: StoredEvent, config: ProviderConfig) -> Sequence[CallEvent]:
        expect_config(config, TwilioConfig)
        try:
            fields, conflicting = _read_twilio_form(event.body)
        except MalformedRequestError as exc:
            raise NormalisationError(str(exc)) from exc
        if conflicting & _READ_FIELDS:
            names = ", ".join(sorted(conflicting & _READ_FIELDS))
            raise NormalisationError(f"Twilio form repeats {names} with different values")
        if fields.get("RecordingSid", "").strip():
            return _recording_event(fields)
        if not fields.get("CallSid", "").strip():
            return []
        return [_status_event(fields)]

    def webhook_urls(self, config: ProviderConfig, base_path: str) -> Mapping[str, str]:
        # Absolute, because Twilio signs the URL it calls; with the retry fragment, because
        # otherwise Twilio does not retry an event answered 503 while the database is down.
        base = expect_config(config, TwilioConfig).public_base_url + base_path
        return {
            "status": f"{base}/status{RETRY_FRAGMENT}",
            "recording": f"{base}/recording{RETRY_FRAGMENT}",
        }

    def signed_requests(
        self, call: CallSpec, config: ProviderConfig, *, integration_id: str
    ) -> Sequence[SignedRequest]:
        cfg = expect_config(config, TwilioConfig)
        call_sid = call_sid_for(call.call_id)
        employee = f"client:{call.extension}"
        if call.direction is Direction.INBOUND:
            parties, leg = (call.external_number, employee), "inbound"
        elif call.direction is Direction.OUTBOUND:
            parties, leg = (employee, call.external_number), "outbound-api"
        else:
            parties, leg = (employee, f"client:{call.external_number}"), "outbound-api"
        common = [
            ("AccountSid", cfg.account_sid),
            ("CallSid", call_sid),
            ("From", parties[0]),
            ("To", parties[1]),
            ("Direction", leg),
            ("ApiVersion", "2010-04-01"),
            ("CallbackSource", "call-progress-events"),
        ]
        progress: list[tuple[str, datetime, list[tuple[str, str]]]] = [
            ("initiated", call.started_at, []),
            ("ringing", call.started_at, []),
        ]
        if call.answered_at is not None:
            progress.append(("in-progress", call.answered_at, []))
            talk = seconds_between(call.answered_at, call.ended_at)
        else:
            talk = 0
        final = _TERMINAL_NAMES.get(call.status, "completed" if call.answered_at else "no-answer")
        progress.append((final, call.ended_at, [("CallDuration", str(talk))]))

        def signed(subpath: str, pairs: list[tuple[str, str]]) -> SignedRequest:
            url = webhook_url(cfg, integration_id, subpath)
            signature = _signature(cfg.auth_token, url, pairs)
            return form_request(subpath, pairs, {"X-Twilio-Signature": signature})

        out = [
            signed(
                "status",
                [
                    *common,
                    ("CallStatus", status),
                    ("SequenceNumber", str(seq)),
                    ("Timestamp", _rfc2822(at)),
                    *extra,
                ],
            )
            for seq, (status, at, extra) in enumerate(progress)
        ]
        if call.recording_id and call.answered_at is not None:
            recording_sid = recording_sid_for(call.recording_id)
            recording_url = (
                f"https://api.twilio.com/2010-04-01/Accounts/{cfg.account_sid}"
                f"/Recordings/{recording_sid}"
            )
            recording = [
                ("AccountSid", cfg.account_sid),
                ("CallSid", call_sid),
                ("RecordingSid", recording_sid),
                ("RecordingUrl", recording_url),
                ("RecordingStatus", "completed"),
                ("RecordingDuration", str(talk)),
                ("RecordingChannels", "1"),
                ("RecordingSource", "DialVerb"),
                ("RecordingStartTime", _rfc2822(call.answered_at)),
            ]
            out.append(signed("recording", recording))
        return out

    def recording_plan(self, config: ProviderConfig, target: RecordingTarget) -> RecordingPlan:
        """``RecordingUrl`` + ``.mp3`` with the account's basic auth.

        Without a ``RecordingUrl`` the RecordingSid names the same resource under the account.
        """
        cfg = expect_config(config, TwilioConfig)
        url = target.source_url or (
            f"{_API_URL}/Accounts/{cfg.account_sid}/Recordings/{target.provider_ref}"
        )
        try:
            parts = urlsplit(url)
        except ValueError as exc:
            raise RecordingSourceError("RecordingUrl is not a valid URL") from exc
        if not parts.path.endswith(_MEDIA_SUFFIXES):
            url = urlunsplit(parts._replace(path=parts.path + ".mp3"))
        pair = f"{cfg.account_sid}:{cfg.auth_token}"
        credentials = base64.b64encode(pair.encode()).decode("ascii")
        return RecordingPlan(
            method="GET",
            url=url,
            hosts=RECORDING_HOSTS,
            headers={"authorization": f"Basic {credentials}"},
        )


def _rfc2822(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC))


def call_sid_for(call_id: str) -> str:
    """A CallSid-shaped id (``CA`` + 32 hex) derived from a plain call id, stable across runs."""
    return "CA" + hashlib.md5(call_id.encode("utf-8"), usedforsecurity=False).hexdigest()


def recording_sid_for(recording_id: str) -> str:
    """``recording_id`` itself when it is already a RecordingSid, else one derived from it."""
    if re.fullmatch(r"RE[0-9a-f]{32}", recording_id):
        return recording_id
    return "RE" + hashlib.md5(recording_id.encode("utf-8"), usedforsecurity=False).hexdigest()


# --- recording downloads --------------------------------------------------------------------------

RECORDING_HOSTS = ("*.twilio.com",)  # api.twilio.com, and Twilio's media hosts it may redirect to
_API_URL = "https://api.twilio.com/2010-04-01"
_MEDIA_SUFFIXES = (".mp3", ".wav")


ADAPTER = TwilioAdapter()
