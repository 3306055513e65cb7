"""Comparing funnel JSON with the spec's figures: money exactly, ratios within a relative 1e-9."""

from __future__ import annotations

import math
from typing import Any

RELATIVE = 1e-9


def assert_same(actual: Any, expected: Any, path: str = "result") -> None:
    """Equal in shape and JSON type; floats within a relative 1e-9, everything else exact."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), path
        assert actual.keys() == expected.keys(), path
        for key in expected:
            assert_same(actual[key], expected[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), path
        assert len(actual) == len(expected), path
        for index, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_same(a, e, f"{path}[{index}]")
    elif isinstance(expected, float):
        assert type(actual) is float, f"{path}: {actual!r} is not a float"
        assert math.isclose(actual, expected, rel_tol=RELATIVE), f"{path}: {actual} != {expected}"
    else:
        assert type(actual) is type(expected), f"{path}: {actual!r} vs {expected!r}"
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"
