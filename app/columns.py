"""Column types the models share beyond SQLAlchemy's own."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Generic, TypeVar

from sqlalchemy import String
from sqlalchemy.types import TypeDecorator

E = TypeVar("E", bound=StrEnum)


class EnumText(TypeDecorator[E], Generic[E]):
    """A status column read as its ``StrEnum``, stored as the plain string it always was.

    The schema is a ``VARCHAR(length)`` exactly as before (no database enum, no CHECK constraint),
    so the migrations and the Alembic comparison see no change and a value added to an enum needs
    no migration. Code compares and assigns enum members; a plain string is still accepted on the
    way in (SQL literals, rows written by Core ``insert`` statements), and every value read back is
    turned into its member. SQL expressions over the column (``coalesce(status, '')``, ``max``, a
    ``case``) carry this type too, so a value the enum does not name is returned as the plain
    string it is rather than failing the whole query.
    """

    impl = String
    cache_ok = True

    def __init__(self, enum: type[E], length: int) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return str(value.value) if isinstance(value, StrEnum) else str(value)

    def process_result_value(self, value: Any, dialect: Any) -> E | None:
        if value is None:
            return None
        member: E | None = self.enum._value2member_map_.get(value)  # type: ignore[assignment]
        return member if member is not None else value

    def coerce_compared_value(self, op: Any, value: Any) -> Any:
        # ``column == "literal"`` binds the literal through this type as well.
        return self
