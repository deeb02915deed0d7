"""The metric-batch encoding of the HTTP client."""

from __future__ import annotations

import math

import numpy as np

from modelcycle.client import _points


def test_columns_carry_non_finite_values_as_strings() -> None:
    cols = _points.columns(
        [
            ("a", 1.5, 0, 10),
            ("a", math.nan, 1, 11),
            ("b", math.inf, 0, 12),
            ("b", -math.inf, 1, 13),
        ]
    )
    assert cols == {
        "keys": ["a", "a", "b", "b"],
        "values": [1.5, "NaN", "Infinity", "-Infinity"],
        "steps": [0, 1, 0, 1],
        "timestamps": [10, 11, 12, 13],
    }


def test_numpy_numbers_become_plain_ones() -> None:
    cols = _points.columns([("a", np.float32(0.5), np.int64(3), 7)])  # type: ignore[list-item]
    assert cols["values"] == [0.5] and cols["steps"] == [3]
    assert type(cols["steps"][0]) is int


def test_chunks_split_large_batches() -> None:
    points = [("a", 0.0, i, i) for i in range(_points.CHUNK * 2 + 1)]
    sizes = [len(chunk) for chunk in _points.chunks(points)]
    assert sizes == [_points.CHUNK, _points.CHUNK, 1]
    assert [len(c) for c in _points.chunks([])] == [0]
