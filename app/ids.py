"""Identifiers: short prefixed strings that sort by creation time.

The prefix says what an id names (``lead_…``, ``call_…``), which makes logs and support questions
unambiguous; the time-ordered body keeps B-tree inserts local and gives cursor pagination a stable
order. Integration ids are the exception: they are bearer-like secrets in a public URL and are fully
random (see ``new_secret_id``).
"""

from __future__ import annotations

import secrets
import time

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


def _base32(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    """``prefix_`` + 48-bit millisecond time + 80 random bits (a ULID body, lower case)."""
    millis = time.time_ns() // 1_000_000
    return f"{prefix}_{_base32(millis, 10)}{_base32(secrets.randbits(80), 16)}"


def new_secret_id(prefix: str) -> str:
    """``prefix_`` + 192 random bits: unguessable, for ids that appear in unauthenticated URLs."""
    return f"{prefix}_{secrets.token_urlsafe(24)}"
