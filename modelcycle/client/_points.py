"""Metric points → the columns a ``POST /runs/{id}/metrics`` body carries.

The same checks as the embedded service makes, with the same messages, so a bad value fails the
same way on either backend, and on the caller's side before a request is sent. They are repeated
here rather than imported because the tracking module that holds them also names the store's
column sizes, and the client never imports the store. JSON has no NaN or infinity: those values
travel as ``"NaN"``, ``"Infinity"``, ``"-Infinity"``, which the server parses back to floats.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

from modelcycle.errors import InvalidInput
from modelcycle.tracking._base import MetricPoint

CHUNK = 50_000
"""Points per request: well under the server's default ``max_batch`` (100,000) and a body of a
couple of MiB, far under its 64 MiB limit."""

_NON_FINITE = {math.inf: "Infinity", -math.inf: "-Infinity"}


def columns(points: Sequence[MetricPoint]) -> dict[str, list[Any]]:
    """``{"keys", "values", "steps", "timestamps"}`` of ``points``.

    Raises:
        InvalidInput: a value is not a number, or a step or timestamp not an integer.
    """
    keys: list[str] = []
    values: list[Any] = []
    steps: list[int] = []
    stamps: list[int] = []
    for key, value, step, stamp in points:
        if type(value) is not float:
            value = _metric_value(key, value)
        if value != value:
            values.append("NaN")
        elif value in _NON_FINITE:
            values.append(_NON_FINITE[value])
        else:
            values.append(value)
        keys.append(key)
        steps.append(step if type(step) is int else _integer(key, step, "step"))
        stamps.append(stamp if type(stamp) is int else _integer(key, stamp, "step"))
    return {"keys": keys, "values": values, "steps": steps, "timestamps": stamps}


def chunks(points: Sequence[MetricPoint]) -> list[Sequence[MetricPoint]]:
    """``points`` in slices of at most :data:`CHUNK`; one slice (maybe empty) at least."""
    return [points[i : i + CHUNK] for i in range(0, max(len(points), 1), CHUNK)]


def _metric_value(key: str, value: object) -> float:
    if isinstance(value, numbers.Real):
        return float(value)
    raise InvalidInput(
        f"metric {key!r} must be a number, got {type(value).__name__} {value!r}",
        details={"key": key, "type": type(value).__name__},
    )


def _integer(key: str, value: object, what: str) -> int:
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    raise InvalidInput(
        f"{what} of metric {key!r} must be an integer, got {value!r}", details={"key": key}
    )
