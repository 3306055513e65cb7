"""What the service can store: the rules both databases must agree on, checked at the edge.

SQLite stores almost anything; PostgreSQL refuses a NUL character in text, a string longer than its
column, an integer past 32 bits and answers ``-infinity`` for ``datetime.min``. Left to the
databases, the same input would be a 500 on one and stored on the other. So the service refuses
such values itself, the same way on both:

- API input: a 422 problem. Path and query strings are checked by ``RejectUnstorableText`` before
  routing; everything that reaches SQL through the API's engine passes ``_check_parameters`` (no
  NUL, no lone surrogate), and every ORM flush passes ``_check_flush`` (lengths, integer range,
  time range). The ORM check runs before anything is sent, so a refused write leaves no trace.
- Webhook events: ``event_problem`` names what is wrong and the event is kept ``failed`` with it.
- Times: query values outside ``[EARLIEST, LATEST)`` are a 422; event times must lie within
  ``EVENT_PAST``…now + ``EVENT_FUTURE`` (a PBX's clock is not off by decades; Go's zero time
  ``0001-01-01`` is a bridge bug).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote_to_bytes

from sqlalchemy import BigInteger, DateTime, Integer, SmallInteger, String, event, inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session, UOWTransaction
from sqlalchemy.types import TypeDecorator
from starlette.types import ASGIApp, Receive, Scope, Send

from app.calls.events import CallEvent
from app.errors import Unprocessable, problem_response

# Any time a query may name: a PBX did not exist before 1970, and nothing is planned past 2200.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
EARLIEST_YEAR, LATEST_YEAR = EARLIEST.year, LATEST.year - 1
# An event's times: after 1980 (the Unix epoch 0 and Go's zero time are bridge bugs; real PBX
# documentation examples date from 1989 on), and at most a year ahead of when it is processed.
EVENT_PAST = datetime(1980, 1, 1, tzinfo=UTC)
EVENT_FUTURE = timedelta(days=366)
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1

NUL_MESSAGE = "text must not contain NUL characters (U+0000)"
_JSON_NUL = "\\u0000"  # PostgreSQL's jsonb refuses this escape too


def text_problem(value: str) -> str | None:
    """Why PostgreSQL would refuse the text ``value`` (and so the service does), or None."""
    if "\x00" in value or _JSON_NUL in value:
        return NUL_MESSAGE
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "text must be valid Unicode (a lone surrogate is not)"
    return None


def time_in_range(moment: datetime) -> bool:
    return EARLIEST <= moment < LATEST


def _storable_time(moment: datetime) -> bool:
    # Naive values are refused by UTCDateTime itself, with a clearer message.
    return moment.tzinfo is None or time_in_range(moment)


def out_of_range_message(name: str) -> str:
    return f"{name} must lie between {EARLIEST.date()} and {LATEST.date()}"


# --- webhook events -------------------------------------------------------------------------


def _limit(model_column: Any) -> int | None:
    length = getattr(model_column.type, "length", None)
    return int(length) if length else None


def _event_limits() -> dict[str, int | None]:
    # The columns each CallEvent text lands in, so that the limits have one home: the models.
    from app.calls.models import Call, CallLeg
    from app.recordings.models import Recording

    return {
        "provider_call_id": _limit(Call.__table__.c.provider_call_id),
        "leg_id": _limit(CallLeg.__table__.c.provider_leg_id),
        "extension": _limit(Call.__table__.c.extension),
        "external_number": _limit(Call.__table__.c.external_number),
        "disconnect_reason": _limit(Call.__table__.c.disconnect_reason),
        "recording.provider_ref": _limit(Recording.__table__.c.provider_ref),
    }


_EVENT_LIMITS: dict[str, int | None] = {}


def event_problem(call_event: CallEvent, now: datetime) -> str | None:
    """Why ``call_event`` cannot be stored alike on both databases, or None when it can."""
    if not _EVENT_LIMITS:
        _EVENT_LIMITS.update(_event_limits())
    texts: list[tuple[str, str | None]] = [
        ("provider_call_id", call_event.provider_call_id),
        ("leg_id", call_event.leg_id),
        ("extension", call_event.extension),
        ("external_number", call_event.external_number),
        ("disconnect_reason", call_event.disconnect_reason),
    ]
    if call_event.recording is not None:
        texts.append(("recording.provider_ref", call_event.recording.provider_ref))
        texts.append(("recording.url", call_event.recording.url))
    for name, text in texts:
        if text is None:
            continue
        problem = text_problem(text)
        if problem is not None:
            return f"{name}: {problem}"
        limit = _EVENT_LIMITS.get(name)
        if limit is not None and len(text) > limit:
            return f"{name}: longer than {limit} characters"
    for name, number in (
        ("seq", call_event.seq),
        ("ring_seconds", call_event.ring_seconds),
        ("talk_seconds", call_event.talk_seconds),
        ("duration_seconds", call_event.duration_seconds),
    ):
        if number is not None and not -INT32_MAX <= number <= INT32_MAX:
            return f"{name}: {number} is out of range"
    latest = now + EVENT_FUTURE
    for name, moment in (
        ("occurred_at", call_event.occurred_at),
        ("started_at", call_event.started_at),
        ("answered_at", call_event.answered_at),
        ("ended_at", call_event.ended_at),
    ):
        if moment is not None and not EVENT_PAST <= moment <= latest:
            return (
                f"{name}: {moment.isoformat()} is far from the present "
                f"(accepted: {EVENT_PAST.date()} to now + {EVENT_FUTURE.days} days)"
            )
    return None


# --- path and query strings -----------------------------------------------------------------


class RejectUnstorableText:
    """422 for a NUL (or invalid UTF-8) in a request's path or query string, before routing.

    Ids and filters go into SQL; PostgreSQL would answer an error (a 500) where SQLite answers
    "not found". Rejecting them here gives one answer on both and costs a byte scan.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            problem = _request_line_problem(scope)
            if problem is not None:
                await problem_response(422, problem, slug="validation-error")(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _request_line_problem(scope: Scope) -> str | None:
    path: str = scope.get("path", "")
    if "\x00" in path:
        return f"the path: {NUL_MESSAGE}"
    query: bytes = scope.get("query_string", b"")
    if query:
        raw = unquote_to_bytes(query.replace(b"+", b" "))
        if b"\x00" in raw:
            return f"the query string: {NUL_MESSAGE}"
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            return "the query string is not valid UTF-8"
    return None


# --- everything that reaches SQL ------------------------------------------------------------


def _values(parameters: Any) -> Iterator[Any]:
    if isinstance(parameters, Mapping):
        yield from parameters.values()
    elif isinstance(parameters, list | tuple):
        for item in parameters:
            if isinstance(item, Mapping | list | tuple):
                yield from _values(item)
            else:
                yield item


def _check_parameters(
    _conn: Connection,
    _cursor: Any,
    _statement: str,
    parameters: Any,
    _context: Any,
    _executemany: bool,
) -> None:
    for value in _values(parameters):
        if isinstance(value, str):
            problem = text_problem(value)
            if problem is not None:
                raise Unprocessable(problem)


def guard_engine(engine: AsyncEngine) -> None:
    """Refuse NUL characters in any statement's text parameters (a 422 instead of PG's error).

    For the API's engine: webhooks check their events in ``event_problem`` and keep a bad one as
    ``failed``; this is the net under every other path (filters, path ids, CSV cells, bodies).
    """
    if not event.contains(engine.sync_engine, "before_cursor_execute", _check_parameters):
        event.listen(engine.sync_engine, "before_cursor_execute", _check_parameters)


# --- ORM writes -----------------------------------------------------------------------------


def _column_limits(mapper: Any) -> list[tuple[str, str, Any]]:
    limits = []
    for attr in mapper.column_attrs:
        column = attr.columns[0]
        column_type = column.type
        if isinstance(column_type, TypeDecorator):
            column_type = column_type.impl_instance
        if isinstance(column_type, String):
            limits.append((attr.key, "text", column_type.length))
        elif isinstance(column_type, BigInteger):
            limits.append((attr.key, "int", INT64_MAX))
        elif isinstance(column_type, SmallInteger):
            limits.append((attr.key, "int", 2**15 - 1))
        elif isinstance(column_type, Integer):
            limits.append((attr.key, "int", INT32_MAX))
        elif isinstance(column_type, DateTime):
            limits.append((attr.key, "time", None))
    return limits


_LIMITS: dict[type, list[tuple[str, str, Any]]] = {}


def _problem(obj: object) -> tuple[str, str] | None:
    cls = type(obj)
    limits = _LIMITS.get(cls)
    if limits is None:
        limits = _LIMITS[cls] = _column_limits(inspect(cls))
    values = vars(obj)
    for key, kind, limit in limits:
        value = values.get(key)
        if value is None or isinstance(value, bool):
            continue
        if kind == "text" and isinstance(value, str):
            problem = text_problem(value)
            if problem is not None:
                return key, problem
            if limit is not None and len(value) > limit:
                return key, f"longer than {limit} characters"
        elif kind == "int" and isinstance(value, int) and not -limit - 1 <= value <= limit:
            return key, f"{value} is out of range"
        elif kind == "time" and isinstance(value, datetime) and not _storable_time(value):
            return key, out_of_range_message("the time")
    return None


def _check_flush(session: Session, _flush_context: UOWTransaction, _instances: Any) -> None:
    for obj in _pending(session.new, session.dirty):
        found = _problem(obj)
        if found is not None:
            key, problem = found
            raise Unprocessable.at("body", key, msg=problem, detail=f"{key}: {problem}")


def _pending(*groups: Iterable[object]) -> Iterator[object]:
    for group in groups:
        yield from group


def install_flush_guard() -> None:
    """Check every ORM write against its columns before it is sent (idempotent)."""
    if not event.contains(Session, "before_flush", _check_flush):
        event.listen(Session, "before_flush", _check_flush)
