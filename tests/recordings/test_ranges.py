from __future__ import annotations

import pytest

from app.recordings.ranges import ByteRange, RangeNotSatisfiable, requested_range


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-99", ByteRange(0, 99)),
        ("bytes=100-199", ByteRange(100, 199)),
        ("bytes=900-", ByteRange(900, 999)),
        ("bytes=-100", ByteRange(900, 999)),
        ("bytes=-5000", ByteRange(0, 999)),  # a suffix longer than the file is all of it
        ("bytes=990-5000", ByteRange(990, 999)),  # an end past the file is clipped
        ("BYTES = 0-0", ByteRange(0, 0)),
        ("bytes=0-1,5-9", None),  # several ranges: the whole file
    ],
)
def test_satisfiable_ranges(header: str | None, expected: ByteRange | None) -> None:
    assert requested_range(header, 1000) == expected


@pytest.mark.parametrize(
    "header",
    [
        "bytes=1000-",
        "bytes=1000-1001",
        "bytes=50-10",
        "bytes=-0",
        "bytes=-",
        "items=0-1",
        "bytes=a-b",
        "bytes=",
        "0-10",
    ],
)
def test_unsatisfiable_or_malformed_ranges(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable):
        requested_range(header, 1000)


def test_content_range_and_length() -> None:
    part = ByteRange(100, 199)
    assert part.length == 100
    assert part.content_range(1000) == "bytes 100-199/1000"
