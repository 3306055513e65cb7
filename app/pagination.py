"""Cursor pagination: ``?limit=&cursor=`` in, ``{"items": [...], "next_cursor": ...}`` out.

A cursor is the opaque, URL-safe encoding of the last row's sort key; it survives inserts between
pages, unlike an offset.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel

from app.errors import BadRequest

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


T = TypeVar("T")
R = TypeVar("R")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(key: Sequence[Any]) -> str:
    raw = json.dumps(list(key), separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("cursor is not valid; use next_cursor from a previous page") from exc
    if not isinstance(value, list):
        raise BadRequest("cursor is not valid; use next_cursor from a previous page")
    return value


class PageParams(BaseModel):
    limit: int
    after: list[Any] | None

    @property
    def after_id(self) -> str | None:
        """The cursor of lists ordered by id alone."""
        return str(self.after[0]) if self.after else None

    def after_moment(self) -> tuple[datetime, str] | None:
        """The cursor of lists ordered by (a timestamp, id)."""
        if not self.after:
            return None
        try:
            return datetime.fromisoformat(str(self.after[0])), str(self.after[1])
        except (ValueError, IndexError) as exc:
            raise BadRequest("cursor is not valid; use next_cursor from a previous page") from exc


def _page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query()] = None,
) -> PageParams:
    return PageParams(limit=limit, after=decode_cursor(cursor) if cursor else None)


PageDep = Annotated[PageParams, Depends(_page_params)]


def paginate(
    rows: Sequence[R],
    page: PageParams,
    *,
    to_item: Callable[[R], T],
    key: Callable[[R], Sequence[Any]],
) -> Page[T]:
    """Shape ``rows`` (fetched with ``limit + 1``) into a page; the extra row says there is more."""
    visible = rows[: page.limit]
    next_cursor = encode_cursor(key(visible[-1])) if len(rows) > page.limit and visible else None
    return Page[T](items=[to_item(row) for row in visible], next_cursor=next_cursor)
