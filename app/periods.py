"""``from``/``to``/``as_of`` query values: a local date in the reporting zone, or a timestamp."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement
from sqlalchemy.orm import QueryableAttribute

from app.edge import EARLIEST_YEAR, LATEST_YEAR, out_of_range_message, time_in_range
from app.errors import Unprocessable

_DATE_LENGTH = len("2026-11-16")


def parse_instant(value: str, zone: ZoneInfo) -> datetime:
    """A local date → its midnight in ``zone``; a timestamp → itself (local to ``zone`` if naive).

    Raises ``ValueError`` with a readable message for anything else.
    """
    text = value.strip()
    # An unencoded "+03:00" in a query string arrives as " 03:00".
    if len(text) > _DATE_LENGTH and text[-6] == " ":
        text = text[:-6] + "+" + text[-5:]
    try:
        if len(text) == _DATE_LENGTH:
            moment = datetime.combine(date.fromisoformat(text), time(), tzinfo=zone)
        else:
            moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(
            f"{value!r} is neither a date (2026-11-16) nor a timestamp (2026-11-16T10:00:00Z)"
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    # Years 1 and 9999 are valid ISO dates, but converting them (and adding a week to them)
    # overflows; nothing the service stores lies there, so such values are refused outright.
    if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        raise ValueError(out_of_range_message(repr(value)))
    instant = moment.astimezone(UTC)
    if not time_in_range(instant):
        raise ValueError(out_of_range_message(repr(value)))
    return instant


def query_instant(name: str, value: str, zone: ZoneInfo) -> datetime:
    """``parse_instant`` for a query parameter: a 422 problem naming it when unreadable."""
    try:
        return parse_instant(value, zone)
    except ValueError as exc:
        raise Unprocessable.at("query", name, msg=str(exc)) from exc


def period_filters(
    column: QueryableAttribute[datetime] | QueryableAttribute[datetime | None],
    start: str | None,
    end: str | None,
    zone: ZoneInfo,
) -> list[ColumnElement[bool]]:
    """``from``/``to`` query values as filters on ``column`` (``to`` exclusive)."""
    filters = []
    if start is not None:
        filters.append(column >= query_instant("from", start, zone))
    if end is not None:
        filters.append(column < query_instant("to", end, zone))
    return filters
