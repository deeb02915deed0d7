"""Fixtures for the prediction log: loggers closed after each test, a gate that holds the writer
inside a file write (so tests stop it deterministically, never by sleeping), fixed days."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from predlog_helpers import Gate, MakeLogger

from modelcycle.monitoring import prediction_log
from modelcycle.monitoring.prediction_log import PredictionLogger
from modelcycle.store import Store


@pytest.fixture(autouse=True)
def no_retry_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prediction_log, "RETRY_DELAY_S", 0.0)


@pytest.fixture
def make_logger() -> Iterator[MakeLogger]:
    """``make_logger(store, deployment="d", **options)``; every logger is closed at the end."""
    loggers: list[PredictionLogger] = []

    def make(store: Store, deployment: str = "churn", **options: Any) -> PredictionLogger:
        logger = PredictionLogger(store, deployment=deployment, **options)
        loggers.append(logger)
        return logger

    yield make
    for logger in loggers:
        logger.close()


@pytest.fixture
def gates(make_logger: MakeLogger) -> Iterator[Callable[[PredictionLogger], Gate]]:
    """``gates(logger)`` installs a :class:`Gate`; every gate opens before the loggers close
    (this fixture depends on ``make_logger``, so it is torn down first)."""
    made: list[Gate] = []

    def install(logger: PredictionLogger) -> Gate:
        gate = Gate(logger)
        made.append(gate)
        return gate

    yield install
    for gate in made:
        gate.release.set()
