"""Helpers of the prediction-log tests: fixed days, a writer gate, request factories."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np

from modelcycle.monitoring.prediction_log import PredictionLogger

DAY_MS = 86_400_000
DAY0 = int(datetime(2026, 5, 1, tzinfo=UTC).timestamp() * 1000)
"""2026-05-01T00:00Z in epoch milliseconds: the first day of the tests' traffic."""

MakeLogger = Callable[..., PredictionLogger]


class Gate:
    """Replaces a logger's file write: signals when the writer enters it, and holds it there
    until released."""

    def __init__(self, logger: PredictionLogger) -> None:
        self._write = logger._files.write
        self.entered = threading.Event()
        self.release = threading.Event()
        logger._files.write = self  # type: ignore[method-assign]

    def __call__(self, table: Any, relative: str) -> None:
        self.entered.set()
        assert self.release.wait(60), "the test never released the writer"
        self._write(table, relative)


def one_row(i: int) -> dict[str, np.ndarray]:
    """The inputs of a one-row numeric request, as the serving app hands them over."""
    return {"age": np.array([20.0 + i % 50]), "plan": np.array([i % 3])}
