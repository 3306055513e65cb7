"""What the adapters share: form bodies, secrets, idempotency keys, lenient values, time."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache
from types import MappingProxyType
from typing import TypeVar
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

from app.webhooks.providers.base import (
    InboundRequest,
    MalformedRequestError,
    NormalisationError,
    ProviderConfig,
    SignatureError,
    StoredEvent,
    field_hash_key,
)
from app.webhooks.providers.simulation import SignedRequest

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
JSON_CONTENT_TYPE = "application/json"

# Far above what any PBX sends in one event, low enough that a hostile body cannot make us build a
# huge list before the signature has been checked.
MAX_FORM_FIELDS = 200

# Longer identity keys are hashed so that the dedupe key always fits the database column.
_MAX_KEY_PARTS_CHARS = 160

_C = TypeVar("_C", bound=ProviderConfig)


# --- configs and secrets -------------------------------------------------------------------------


def expect_config(config: ProviderConfig, model: type[_C]) -> _C:
    if not isinstance(config, model):
        raise TypeError(f"expected {model.__name__}, got {type(config).__name__}")
    return config


def require_secrets(*secrets: str) -> None:
    """An integration whose secret is not set must refuse everything rather than trust everyone."""
    if not all(secrets):
        raise SignatureError("the integration has no secret configured: every delivery is refused")


def same(given: str, expected: str) -> bool:
    # compare_digest rejects non-ASCII str, and a hostile header may well contain some.
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def header(request: InboundRequest, name: str) -> str | None:
    """A header by name, whatever its case (the contract says lower-case; tests may not)."""
    wanted = name.lower()
    value = request.headers.get(wanted)
    if value is not None:
        return value
    for key, candidate in request.headers.items():
        if key.lower() == wanted:
            return candidate
    return None


# --- form bodies ---------------------------------------------------------------------------------


def decode_form(body: bytes) -> list[tuple[str, str]]:
    """The form's fields as sent, decoded once; ``MalformedRequestError`` if it is not a form."""
    try:
        text = body.decode("utf-8")
        return parse_qsl(
            text,
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_FORM_FIELDS,
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedRequestError("the body is not a UTF-8 form") from exc


def form_fields(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Fields by name; a repeated name is refused so that what is verified is what is used."""
    fields: dict[str, str] = {}
    for name, value in pairs:
        if name in fields:
            raise MalformedRequestError(f"form field {name!r} is repeated")
        fields[name] = value
    return fields


def read_form(body: bytes) -> dict[str, str]:
    if len(body) > _CACHED_FORM_BYTES:
        return form_fields(decode_form(body))
    return dict(_read_small_form(body))


# The handshake, the signature check, the split and the normaliser each read the same form: a
# delivery's form is parsed once. Only small bodies (every PBX event is) are kept, so an unverified
# sender cannot make the cache hold much.
_CACHED_FORM_BYTES = 16 * 1024


@lru_cache(maxsize=64)
def _read_small_form(body: bytes) -> Mapping[str, str]:
    return MappingProxyType(form_fields(decode_form(body)))


def read_form_to_verify(body: bytes) -> dict[str, str]:
    """The form for a signature check: a body we cannot read is not proven authentic."""
    try:
        return read_form(body)
    except MalformedRequestError as exc:
        raise SignatureError(f"cannot check the signature: {exc}") from exc


def read_stored_form(event: StoredEvent) -> dict[str, str]:
    try:
        return read_form(event.body)
    except MalformedRequestError as exc:
        raise NormalisationError(str(exc)) from exc


def encode_form(pairs: Sequence[tuple[str, str]]) -> bytes:
    """Form-encode as PBXs do: ``+`` for a space, all but unreserved characters escaped."""
    return urlencode(pairs).encode("ascii")


def form_request(
    subpath: str, pairs: Sequence[tuple[str, str]], headers: Mapping[str, str] | None = None
) -> SignedRequest:
    return SignedRequest(
        method="POST",
        subpath=subpath,
        headers={"content-type": FORM_CONTENT_TYPE, **(headers or {})},
        body=encode_form(pairs),
    )


def content_type(request: InboundRequest, default: str) -> str:
    return header(request, "content-type") or default


def stored_event(request: InboundRequest, key: str, default_type: str) -> StoredEvent:
    return StoredEvent(
        dedupe_key=key,
        subpath=request.subpath,
        content_type=content_type(request, default_type),
        body=request.body,
    )


# --- idempotency keys ----------------------------------------------------------------------------


def identity_key(kind: str, *parts: str | int) -> str:
    """``kind:["part",…]``: the kind prefix keeps kinds apart, JSON keeps parts unambiguous."""
    text = json.dumps(list(parts), ensure_ascii=False, separators=(",", ":"))
    if len(text) > _MAX_KEY_PARTS_CHARS:
        text = "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
    return f"{kind}:{text}"


def hashed_key(kind: str, fields: Mapping[str, str]) -> str:
    return f"{kind}:{field_hash_key(fields)}"


# --- lenient values ------------------------------------------------------------------------------


def as_text(value: object) -> str | None:
    """A non-empty identifier given as a string or a number (providers mix both)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def as_int(value: object) -> int | None:
    """An integer given as ``1``, ``"1"`` or ``1.0``; ``None`` when it is none of those."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                return None
            return int(number) if number.is_integer() else None
    return None


def read_int(value: object, what: str) -> int | None:
    """An optional integer field: absent is ``None``, present but unreadable is an error."""
    if value is None or value == "":
        return None
    number = as_int(value)
    if number is None:
        raise NormalisationError(f"{what} is not an integer: {value!r}")
    return number


def read_seconds(value: object, what: str) -> int | None:
    number = read_int(value, what)
    if number is not None and number < 0:
        raise NormalisationError(f"{what} is negative: {number}")
    return number


def load_json(data: bytes | str, what: str) -> object:
    try:
        return json.loads(data)
    except RecursionError as exc:
        # Thousands of nested brackets exhaust the parser's stack: a 422, like any bad JSON.
        raise MalformedRequestError(f"{what} is nested too deeply") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedRequestError(f"{what} is not valid JSON") from exc


def json_object(data: bytes | str, what: str) -> dict[str, object]:
    parsed = load_json(data, what)
    if not isinstance(parsed, dict):
        raise MalformedRequestError(f"{what} is not a JSON object")
    return parsed


def sub_object(data: Mapping[str, object], key: str) -> Mapping[str, object]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


# --- time ----------------------------------------------------------------------------------------


def utc_from_epoch(value: object, what: str) -> datetime | None:
    """Epoch seconds (number or numeric string) as UTC; ``0`` and absent mean "never"."""
    seconds = read_int(value, what)
    if seconds is None or seconds == 0:
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise NormalisationError(f"{what} is out of range: {seconds}") from exc


def utc_from_local(text: str | None, zone: ZoneInfo, what: str) -> datetime | None:
    """``YYYY-MM-DD HH:MM:SS`` wall time in the integration's zone, as UTC."""
    if not text:
        return None
    try:
        naive = datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S")  # noqa: DTZ007 - zone set below
    except ValueError as exc:
        raise NormalisationError(f"{what} is not YYYY-MM-DD HH:MM:SS: {text!r}") from exc
    return naive.replace(tzinfo=zone).astimezone(UTC)


def utc_from_rfc2822(text: str | None, what: str) -> datetime | None:
    if not text:
        return None
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError) as exc:
        raise NormalisationError(f"{what} is not an RFC 2822 date: {text!r}") from exc
    if parsed.tzinfo is None:
        # RFC 2822 "-0000" means UTC with no claim about the local zone.
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def utc_from_iso(value: object, zone: ZoneInfo, what: str) -> datetime | None:
    """ISO 8601 with an offset or ``Z``; without one it is wall time in the integration's zone."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise NormalisationError(f"{what} is not an ISO 8601 string: {value!r}")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise NormalisationError(f"{what} is not an ISO 8601 time: {value!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def seconds_between(start: datetime, end: datetime) -> int:
    """Whole seconds from ``start`` to ``end``, never negative (PBX clocks are not monotonic)."""
    return max(0, round((end - start).total_seconds()))


def e164_digits(number: str) -> str:
    """``+79161234567`` → ``79161234567``: how the Russian PBXs write international numbers."""
    return number.strip().removeprefix("+")
