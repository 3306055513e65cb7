"""Money: Decimal in Python, integer minor units (kopecks, cents) in the database.

Amounts are never rounded in the middle of a calculation; ``quantize_money`` rounds half away from
zero only when a value is shown.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

CENT = Decimal("0.01")
MINOR_UNITS = 100


def quantize_money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def to_minor(value: Decimal) -> int:
    """Exact conversion; amounts with more than two decimal places are refused, not rounded."""
    minor = value * MINOR_UNITS
    if minor != minor.to_integral_value():
        raise ValueError(f"{value} has more than two decimal places")
    return int(minor)


def from_minor(value: int) -> Decimal:
    return Decimal(value) / MINOR_UNITS


def format_money(value: Decimal) -> str:
    return str(quantize_money(value))


MAX_AMOUNT = Decimal(10) ** 15


def _parse_decimal(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ValueError("expected a decimal number or a decimal string")
    try:
        # float goes through str so that 0.1 means 0.1, not its binary approximation.
        number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation as exc:
        raise ValueError(f"not a decimal number: {value!r}") from exc
    if not number.is_finite():
        raise ValueError("expected a finite number")
    return number


def _parse_amount(value: object) -> Decimal:
    number = _parse_decimal(value)
    if number < 0:
        raise ValueError("must not be negative")
    if number >= MAX_AMOUNT:
        # Beyond this, quantizing exceeds Decimal's precision and minor units leave 64 bits.
        raise ValueError(f"must be less than {MAX_AMOUNT:,}")
    if number != number.quantize(CENT, rounding=ROUND_HALF_UP):
        raise ValueError("at most two decimal places")
    return number


def _parse_rate(value: object) -> Decimal:
    number = _parse_decimal(value)
    if not Decimal(0) <= number <= Decimal(1):
        raise ValueError("must be between 0 and 1")
    return number


Money = Annotated[
    Decimal,
    BeforeValidator(_parse_amount),
    PlainSerializer(format_money, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^\d+(\.\d{1,2})?$", "examples": ["1050.00"]}),
]
"""A non-negative amount with at most two decimal places; serialised as ``"1050.00"``."""

MoneyFigure = Annotated[
    Decimal,
    PlainSerializer(format_money, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+\.\d{2}$", "examples": ["-24.14"]}),
]
"""A computed amount (a profit may be negative), kept unrounded; serialised to two places."""

Rate = Annotated[
    Decimal,
    BeforeValidator(_parse_rate),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "examples": ["0.25"]}),
]
"""A ratio in [0, 1] given and shown as a decimal string."""
