"""Asterisk and FreePBX: call detail records (one row per leg) instead of webhooks.

Rows arrive through ``callfunnel import cdr`` / ``POST /api/v1/integrations/{id}/cdr``
(``Master.csv`` of ``cdr_csv``/``cdr_custom``, CSV exports with a header) and ``callfunnel cdr
sync`` (FreePBX's ``cdr`` table); ``app.cdr`` reads them into field dicts named as in
``app.webhooks.providers.cdr_columns``. Each row is kept as one stored event (its JSON, keyed by a
hash of its fields) and becomes at most one call event here. A row is read on its own, never
together with the other legs of its call, so the call the merge folds from them cannot depend on
which rows came first, or in which file or batch.

How a row reads (docs/cdr.md): the call is the legs sharing ``linkedid`` (else ``uniqueid``); a leg
is *answered* only when an extension's endpoint answered it in a bridging application with
``billsec`` > 0 (an IVR, voicemail or playback answer is the PBX's, so such an inbound call is a
missed one); technical legs (``Snoop``, ``UnicastRTP``, ``Stasis``, the ``Local`` half whose other
half carries the real dial) give no call event at all and are kept raw only.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import ClassVar
from zoneinfo import ZoneInfo

from pydantic import field_validator

from app.calls.events import CallEvent, CallStatus, Direction, RecordingRef
from app.webhooks.providers._common import JSON_CONTENT_TYPE, expect_config
from app.webhooks.providers.base import (
    HandshakeReply,
    InboundRequest,
    LocalRecording,
    NormalisationError,
    ProviderConfig,
    RecordingNotReadyError,
    RecordingSourceError,
    RecordingTarget,
    SignatureError,
    StoredEvent,
)
from app.webhooks.providers.cdr_columns import validate_columns
from app.webhooks.providers.simulation import CallSpec, SignedRequest

CDR_SUBPATH = "cdr"
DEFAULT_EXTENSION_PATTERN = r"^\d{2,6}$"
_MYSQL_SCHEMES = ("mysql://", "mysql+aiomysql://", "mariadb://", "mariadb+aiomysql://")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")

# Applications that answer a channel themselves: a leg they answered was answered by the PBX,
# whatever channel it had dialled before (Dial, no answer, then VoiceMail leaves dstchannel set).
_PBX_APPS = frozenset(
    {
        "voicemail",
        "voicemailmain",
        "playback",
        "background",
        "read",
        "waitexten",
        "record",
        "musiconhold",
        "festival",
        "echo",
        "saydigits",
        "saynumber",
        "sayalpha",
        "milliwatt",
        "playtones",
        "congestion",
        "busy",
        "answer",
        "wait",
        "appdial2",
        "stasis",
    }
)
_TECHNICAL_TECHS = ("snoop/", "unicastrtp/")
_DISPOSITIONS: Mapping[str, CallStatus] = {
    "ANSWERED": CallStatus.ANSWERED,
    "NO ANSWER": CallStatus.NO_ANSWER,
    "NOANSWER": CallStatus.NO_ANSWER,
    "BUSY": CallStatus.BUSY,
    "FAILED": CallStatus.FAILED,
    "CONGESTION": CallStatus.FAILED,
}
# A channel name ends in a sequence number (``SIP/301-0000002a``), a Local one in ``;1``/``;2``.
_CHANNEL_SUFFIX = re.compile(r"-[0-9a-fA-F]+(?:;\d)?$")
_CLID_NUMBER = re.compile(r"<([^<>]*)>\s*$")
_PHONE_LIKE = re.compile(r"\+?\d[\d\s()-]{5,}")
_AUDIO_FILE = re.compile(r"[^\s:]+\.(?:wav|WAV|mp3|MP3|ogg|OGG|gsm|GSM|m4a|wav49|WAV49)")
_ZERO_DATE = "0000-00-00"


class AsteriskConfig(ProviderConfig):
    secret_fields: ClassVar[frozenset[str]] = frozenset({"mysql_url"})
    # CDR rows carry no duration of the whole call, only each leg's: the call's duration is the span
    # from its first start to its last end (docs/cdr.md), not ring + talk.
    duration_from_span: ClassVar[bool] = True

    times_in_utc: bool = False
    extension_pattern: str = DEFAULT_EXTENSION_PATTERN
    columns: list[str] | None = None
    recordings_dir: str | None = None
    mysql_url: str | None = None
    mysql_table: str = "cdr"
    # Rows are written when a leg ends but dated by its start: a sync reads again this far back
    # from the last start it saw, so a long call's late rows are not missed (duplicates dedupe).
    sync_overlap_seconds: int = 3600

    @field_validator("extension_pattern")
    @classmethod
    def _pattern(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"extension_pattern is not a regular expression: {exc}") from None
        return value

    @field_validator("columns")
    @classmethod
    def _columns(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else validate_columns(value)

    @field_validator("recordings_dir")
    @classmethod
    def _recordings_dir(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if "\x00" in value:
            raise ValueError("recordings_dir is not a path")
        return value.strip()

    @field_validator("mysql_url")
    @classmethod
    def _mysql_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        url = value.strip()
        if not url.startswith(_MYSQL_SCHEMES):
            # The message must not echo the URL: it may hold a password.
            raise ValueError("mysql_url must be a mysql:// (or mysql+aiomysql://) URL")
        return url

    @field_validator("mysql_table")
    @classmethod
    def _table(cls, value: str) -> str:
        if not _IDENTIFIER.fullmatch(value):
            raise ValueError("mysql_table must be a plain table name")
        return value

    @field_validator("sync_overlap_seconds")
    @classmethod
    def _overlap(cls, value: int) -> int:
        if not 0 <= value <= 7 * 24 * 3600:
            raise ValueError("sync_overlap_seconds must be between 0 and a week")
        return value

    @property
    def cdr_zone(self) -> ZoneInfo:
        return ZoneInfo("UTC") if self.times_in_utc else self.zone


# --- rows ----------------------------------------------------------------------------------------


class RowSkipped(ValueError):
    """A row that cannot be a leg (no start, a zero date, bad numbers): reported, not kept."""


def row_key(fields: Mapping[str, str]) -> str:
    """The row's idempotency key: a hash of its non-empty fields, whatever file or table it came
    from and in whichever column layout (empty optional columns do not change it)."""
    return "cdr:" + hashlib.sha256(row_body(fields)).hexdigest()


def row_body(fields: Mapping[str, str]) -> bytes:
    """The row as stored: its non-empty fields as sorted JSON."""
    kept = {name: value for name, value in fields.items() if value != ""}
    return json.dumps(kept, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def stored_row(fields: Mapping[str, str]) -> StoredEvent:
    body = row_body(fields)
    return StoredEvent(
        dedupe_key="cdr:" + hashlib.sha256(body).hexdigest(),
        subpath=CDR_SUBPATH,
        content_type=JSON_CONTENT_TYPE,
        body=body,
    )


@dataclass(frozen=True, slots=True)
class Leg:
    """One CDR row, read: UTC times, whole seconds, the disposition as a status."""

    call_id: str
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime
    billsec: int
    disposition: CallStatus
    fields: Mapping[str, str]


def read_leg(fields: Mapping[str, str], config: AsteriskConfig) -> Leg:
    """The row as a leg; ``RowSkipped`` (with the reason) when it cannot be one."""
    start_text = (fields.get("start") or fields.get("calldate") or "").strip()
    if not start_text:
        raise RowSkipped("no start time")
    if start_text.startswith(_ZERO_DATE):
        raise RowSkipped(f"dated {start_text}")
    zone = config.cdr_zone
    started_at = _time(start_text, zone, "start")
    duration = _seconds(fields.get("duration", ""), "duration")
    billsec = _seconds(fields.get("billsec", ""), "billsec")
    end_text = (fields.get("end") or "").strip()
    ended_at = (
        _time(end_text, zone, "end")
        if end_text and not end_text.startswith(_ZERO_DATE)
        else started_at + timedelta(seconds=duration)
    )
    answer_text = (fields.get("answer") or "").strip()
    answered_at: datetime | None
    if answer_text and not answer_text.startswith(_ZERO_DATE):
        answered_at = _time(answer_text, zone, "answer")
    elif not (fields.get("start") or "").strip() and billsec > 0:
        # FreePBX's table (dated by calldate) has no answer column: the leg was answered billsec
        # before it ended.
        answered_at = ended_at - timedelta(seconds=billsec)
    else:
        answered_at = None
    disposition_text = (fields.get("disposition") or "").strip().upper()
    disposition = _DISPOSITIONS.get(disposition_text)
    if disposition is None:
        raise RowSkipped(f"disposition {disposition_text[:40]!r} is not one Asterisk writes")
    call_id = (fields.get("linkedid") or "").strip() or (fields.get("uniqueid") or "").strip()
    if not call_id:
        # A row with neither id is a call of its own, named by its content.
        call_id = "row:" + row_key(fields).removeprefix("cdr:")[:32]
    return Leg(
        call_id=call_id[:200],
        started_at=started_at,
        answered_at=answered_at,
        ended_at=max(ended_at, started_at),
        billsec=billsec,
        disposition=disposition,
        fields=fields,
    )


def check_row(fields: Mapping[str, str], config: AsteriskConfig) -> str | None:
    """Why the row is skipped, or ``None`` when it is a leg."""
    try:
        read_leg(fields, config)
    except RowSkipped as exc:
        return str(exc)
    return None


def _time(text: str, zone: ZoneInfo, what: str) -> datetime:
    try:
        naive = _parse_time(text)
    except ValueError:
        raise RowSkipped(f"{what} is not a time: {text[:40]!r}") from None
    if naive.tzinfo is not None:
        return naive.astimezone(UTC)
    return naive.replace(tzinfo=zone).astimezone(UTC)


@lru_cache(maxsize=8192)
def _parse_time(text: str) -> datetime:
    # Rows of one call (and one second) share their times: parsing each once is a good saving.
    return datetime.fromisoformat(text).replace(microsecond=0)


def _seconds(text: str, what: str) -> int:
    value = text.strip()
    if not value:
        return 0
    try:
        number = int(value)
    except ValueError:
        raise RowSkipped(f"{what} is not a number of seconds: {value[:20]!r}") from None
    if number < 0:
        raise RowSkipped(f"{what} is negative: {number}")
    return number


# --- sides of a leg ------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _extension_re(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _endpoint(channel: str) -> tuple[str, str]:
    """``SIP/301-0000002a`` → (``sip``, ``301``); ``PJSIP/101-00a1`` → (``pjsip``, ``101``)."""
    tech, _, rest = channel.strip().partition("/")
    resource = _CHANNEL_SUFFIX.sub("", rest).split("@", 1)[0]
    return tech.lower(), resource


def _channel_extension(channel: str, pattern: re.Pattern[str]) -> str | None:
    if not channel:
        return None
    tech, resource = _endpoint(channel)
    if tech in ("local", "snoop", "unicastrtp", "") or not resource:
        return None
    return resource if pattern.search(resource) else None


def _is_technical(fields: Mapping[str, str]) -> bool:
    channel = (fields.get("channel") or "").strip()
    dstchannel = (fields.get("dstchannel") or "").strip()
    lowered = (channel.lower(), dstchannel.lower())
    if any(name.startswith(_TECHNICAL_TECHS) for name in lowered):
        return True
    if (fields.get("lastapp") or "").strip().lower() == "stasis":
        return True
    # A dial into a Local channel: its ;2 half writes the row of the real dial.
    if lowered[1].startswith("local/"):
        return True
    # A Local half that dialled nothing ran an application while its other half dialled.
    return lowered[0].startswith("local/") and not dstchannel


def _is_local(channel: str) -> bool:
    return channel.lower().startswith("local/")


def _phone_like(text: str) -> str | None:
    value = text.strip()
    return value if _PHONE_LIKE.fullmatch(value) else None


def _caller_number(fields: Mapping[str, str]) -> str | None:
    src = _phone_like(fields.get("src") or "")
    if src is not None:
        return src
    match = _CLID_NUMBER.search(fields.get("clid") or "")
    return _phone_like(match.group(1)) if match else None


def _recording(fields: Mapping[str, str]) -> RecordingRef | None:
    name = (fields.get("recordingfile") or "").strip()
    if not name:
        userfield = (fields.get("userfield") or "").strip()
        found = _AUDIO_FILE.search(userfield)
        name = found.group(0) if found else ""
    # Longer than the recording table keeps: no real PBX names a file so, and a cut name finds none.
    return RecordingRef(provider_ref=name) if name and len(name) <= 300 else None


def leg_event(leg: Leg, config: AsteriskConfig) -> CallEvent | None:
    """The leg's call event, or ``None`` for a technical leg (kept raw, no part in the call)."""
    fields = leg.fields
    if _is_technical(fields):
        return None
    pattern = _extension_re(config.extension_pattern)
    src = (fields.get("src") or "").strip()
    channel = (fields.get("channel") or "").strip()
    dstchannel = (fields.get("dstchannel") or "").strip()
    caller_ext = (
        (src if pattern.search(src) else None) if src else _channel_extension(channel, pattern)
    )
    # A Local channel calling with no caller number is the PBX's own dialplan placing the call (a
    # call file, an originate); with a caller number it is the half of an inbound ring group.
    originated = channel.lower().startswith("local/") and _phone_like(src) is None
    dst = (fields.get("dst") or "").strip()
    dialled_ext = _channel_extension(dstchannel, pattern) if dstchannel else None
    callee_ext = dialled_ext or (dst if dst and pattern.search(dst) else None)
    # Who was called when it was no extension: a number (or a trunk's channel) is a customer; a
    # bare ``s``, a menu digit or a feature code with no channel dialled is the PBX itself.
    callee_external = callee_ext is None and (
        _phone_like(dst) is not None or (bool(dstchannel) and not _is_local(dstchannel))
    )
    if caller_ext is not None or originated:
        direction = Direction.OUTBOUND if callee_external else Direction.INTERNAL
    else:
        direction = Direction.INBOUND
    # The employee's endpoint: the channel that answered an inbound (or internal) call, which
    # only a dialled channel can be (without one the PBX itself answered), or who dialled out.
    endpoint_ext = (
        _channel_extension(channel, pattern) if direction is Direction.OUTBOUND else dialled_ext
    )
    lastapp = (fields.get("lastapp") or "").strip().lower()
    answered = (
        leg.disposition is CallStatus.ANSWERED
        and leg.billsec > 0
        and endpoint_ext is not None
        and lastapp not in _PBX_APPS
    )
    if answered:
        status = CallStatus.ANSWERED
    elif leg.disposition is CallStatus.ANSWERED:
        # Answered, but by the PBX (an IVR, voicemail) or not long enough to talk: nobody did.
        status = CallStatus.NO_ANSWER
    else:
        status = leg.disposition
    if direction is Direction.INBOUND:
        extension = endpoint_ext if answered else None
        external = _caller_number(fields)
    elif direction is Direction.OUTBOUND:
        extension = caller_ext
        external = _phone_like(dst)
    else:
        extension = callee_ext if answered else caller_ext
        external = None
    answered_at = None
    if answered:
        answered_at = leg.answered_at or (leg.ended_at - timedelta(seconds=leg.billsec))
    return CallEvent(
        provider_call_id=leg.call_id,
        occurred_at=leg.ended_at,
        direction=direction,
        status=status,
        extension=extension,
        external_number=external,
        started_at=leg.started_at,
        answered_at=answered_at,
        ended_at=leg.ended_at,
        talk_seconds=leg.billsec if answered else None,
        recording=_recording(fields),
    )


def row_fields(event: StoredEvent) -> dict[str, str]:
    try:
        data = json.loads(event.body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise NormalisationError("the stored CDR row is not JSON") from exc
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise NormalisationError("the stored CDR row is not an object of strings")
    return data


# --- recordings ----------------------------------------------------------------------------------


def recording_path(recordings_dir: str | None, name: str) -> Path:
    """The file ``name`` inside ``recordings_dir``; ``RecordingSourceError`` if it is not there or
    would be outside it (``..``, an absolute path, a link out of the folder)."""
    if not recordings_dir:
        raise RecordingSourceError("the integration has no recordings_dir to read recordings from")
    if not name or "\x00" in name or "\\" in name or len(name) > 500:
        raise RecordingSourceError("the recording file name is not a plain relative name")
    relative = PurePosixPath(name)
    if relative.is_absolute() or ".." in relative.parts or name.startswith("~"):
        raise RecordingSourceError("the recording file name points outside recordings_dir")
    root = Path(recordings_dir).resolve()
    candidates = [root.joinpath(*relative.parts)]
    if len(relative.parts) == 1:
        # FreePBX stores monitor/YYYY/MM/DD/<name> but its recordingfile column names only <name>.
        candidates += sorted(root.glob(f"[0-9][0-9][0-9][0-9]/[0-9][0-9]/[0-9][0-9]/{name}"))
    for candidate in candidates:
        resolved = candidate.resolve()
        if not resolved.is_relative_to(root):
            raise RecordingSourceError("the recording file name points outside recordings_dir")
        if resolved.is_file():
            return resolved
    # The PBX may not have finished writing it: asking again later can help.
    raise RecordingNotReadyError("no such recording file in recordings_dir (yet)")


# --- the adapter ---------------------------------------------------------------------------------


class AsteriskAdapter:
    name = "asterisk"
    config_model: type[ProviderConfig] = AsteriskConfig

    def handshake(self, request: InboundRequest, config: ProviderConfig) -> HandshakeReply | None:
        return None

    def verify(self, request: InboundRequest, config: ProviderConfig) -> None:
        # CDR is imported or synced, never posted to /webhooks: nothing there can be authentic.
        raise SignatureError("asterisk integrations take CDR imports, not webhooks")

    def split(self, request: InboundRequest) -> Sequence[StoredEvent]:
        return ()

    def normalise(self, event: StoredEvent, config: ProviderConfig) -> Sequence[CallEvent]:
        cfg = expect_config(config, AsteriskConfig)
        try:
            leg = read_leg(row_fields(event), cfg)
        except RowSkipped as exc:
            raise NormalisationError(str(exc)) from exc
        call_event = leg_event(leg, cfg)
        return () if call_event is None else (call_event,)

    def webhook_urls(self, config: ProviderConfig, base_path: str) -> Mapping[str, str]:
        integration_id = base_path.rstrip("/").rsplit("/", 1)[-1]
        return {"cdr_import": f"/api/v1/integrations/{integration_id}/cdr"}

    def recording_plan(self, config: ProviderConfig, target: RecordingTarget) -> LocalRecording:
        cfg = expect_config(config, AsteriskConfig)
        return LocalRecording(path=recording_path(cfg.recordings_dir, target.provider_ref))

    def signed_requests(
        self, call: CallSpec, config: ProviderConfig, *, integration_id: str
    ) -> Sequence[SignedRequest]:
        # An Asterisk PBX sends no requests: its calls arrive as CDR rows (app.cdr).
        return ()


ADAPTER = AsteriskAdapter()
