"""Frozen records the tracking service returns, the server sends and the client parses.

Only pydantic and the standard library here, so ``modelcycle.client`` can import these without
SQLAlchemy. Times are timezone-aware UTC datetimes; the store keeps integer milliseconds.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ArtifactInfo",
    "Experiment",
    "ExperimentPage",
    "MetricHistory",
    "Run",
    "RunInput",
    "RunPage",
    "RunStatus",
    "from_millis",
]


class RunStatus(StrEnum):
    """Where a run is in its life. Only a RUNNING run accepts params and metrics."""

    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Experiment(_Record):
    """A named group of runs."""

    id: int
    name: str
    lifecycle_stage: str = "active"
    created_at: datetime
    tags: dict[str, str] = Field(default_factory=dict)


class RunInput(_Record):
    """A dataset version a run read, and in which role (``train``, ``eval``, ...)."""

    dataset: str
    version: str
    role: str
    digest: str | None = None


class Run(_Record):
    """One execution of training code, with everything it logged (latest value per metric)."""

    id: str
    experiment_id: int
    experiment: str
    name: str
    status: RunStatus
    start_time: datetime
    end_time: datetime | None = None
    parent_run_id: str | None = None
    lifecycle_stage: str = "active"
    params: dict[str, str] = Field(default_factory=dict)
    metrics: dict[str, float] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)
    environment: dict[str, Any] = Field(default_factory=dict)
    inputs: tuple[RunInput, ...] = ()


class MetricHistory(_Record):
    """Every point of one metric of one run, as columns (cheap to turn into a DataFrame)."""

    run_id: str
    key: str
    steps: list[int]
    values: list[float]
    timestamps: list[int]
    """Milliseconds since the epoch, UTC."""


class ArtifactInfo(_Record):
    """A file logged to a run: its path inside the run and the object that holds its bytes."""

    path: str
    digest: str
    size: int


class RunPage(_Record):
    """One page of search results; pass ``next_page_token`` back for the next."""

    runs: list[Run]
    next_page_token: str | None = None


class ExperimentPage(_Record):
    experiments: list[Experiment]
    next_page_token: str | None = None


def from_millis(value: int | None) -> datetime | None:
    """Store milliseconds → an aware UTC datetime."""
    return None if value is None else datetime.fromtimestamp(value / 1000, tz=UTC)
