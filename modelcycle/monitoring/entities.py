"""Frozen records of the monitoring domain.

Only pydantic and the standard library here, so the HTTP client and the serving app can import
them without SQLAlchemy.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = ["PROMETHEUS_COUNTERS", "PROMETHEUS_GAUGES", "PredictionLogStats"]

# What the inference server's /metrics shows of each logger, as modelcycle_prediction_log_<name>
# (counters with _total), labelled by deployment: (field, help text).
PROMETHEUS_COUNTERS = (
    ("accepted_rows", "Rows accepted onto the prediction log's queue."),
    ("accepted_requests", "Requests accepted onto the prediction log's queue."),
    ("written_rows", "Rows written to Parquet files and indexed in the store."),
    ("written_files", "Prediction log files written and indexed."),
    ("dropped_rows", "Rows refused because the queue was full or the logger closed."),
    ("dropped_requests", "Requests refused because the queue was full or the logger closed."),
    ("failed_rows", "Rows lost because their file could not be written or indexed."),
    ("write_errors", "Failed attempts to write or index a file, retries included."),
)
PROMETHEUS_GAUGES = (
    ("queued_rows", "Rows waiting on the prediction log's queue."),
    ("in_flight_rows", "Rows the prediction log's writer is writing now."),
)


class PredictionLogStats(BaseModel):
    """Counters of one :class:`~modelcycle.monitoring.PredictionLogger`, since it started.

    Every accepted row ends written or failed: ``accepted_rows == written_rows + failed_rows +
    queued_rows + in_flight_rows`` at every instant. ``dropped_*`` count what ``log`` refused,
    so rows served = accepted + dropped.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    deployment: str
    accepted_rows: int = 0
    accepted_requests: int = 0
    written_rows: int = 0
    written_files: int = 0
    dropped_rows: int = 0
    dropped_requests: int = 0
    failed_rows: int = 0
    write_errors: int = 0
    queued_rows: int = 0
    in_flight_rows: int = 0
    last_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump()
