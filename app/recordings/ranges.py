"""HTTP byte ranges (RFC 9110 §14): which part of a file a ``Range`` header asks for."""

from __future__ import annotations

import re
from dataclasses import dataclass

_SPEC = re.compile(r"(\d*)-(\d*)")


class RangeNotSatisfiable(Exception):
    """Answer 416 with ``Content-Range: bytes */size``."""


@dataclass(frozen=True, slots=True)
class ByteRange:
    start: int
    end: int  # inclusive, as in Content-Range

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"


def requested_range(header: str | None, size: int) -> ByteRange | None:
    """The one range to send, or None for the whole file.

    Several ranges would need a multipart answer that no audio player asks for; RFC 9110 lets a
    server ignore the header then, so they get the whole file.
    """
    if header is None:
        return None
    unit, _, specs = header.partition("=")
    if unit.strip().lower() != "bytes" or not specs.strip():
        raise RangeNotSatisfiable(header)
    parts = [part.strip() for part in specs.split(",")]
    if len(parts) > 1:
        return None
    match = _SPEC.fullmatch(parts[0])
    if match is None or match.group(1) == match.group(2) == "":
        raise RangeNotSatisfiable(header)
    first, last = match.groups()
    if first == "":
        # A suffix: the last N bytes (all of them when N exceeds the size).
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable(header)
        return ByteRange(max(size - suffix, 0), size - 1)
    start = int(first)
    end = size - 1 if last == "" else min(int(last), size - 1)
    if start >= size or (last != "" and int(last) < start):
        raise RangeNotSatisfiable(header)
    return ByteRange(start, end)
