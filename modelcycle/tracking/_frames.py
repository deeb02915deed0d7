"""Runs and metric histories as pandas DataFrames, the shape ``search_runs`` users expect."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from modelcycle.tracking.entities import MetricHistory, Run

RUN_COLUMNS = ["run_id", "experiment", "name", "status", "start_time", "end_time", "parent_run_id"]


def runs_frame(runs: Sequence[Run]) -> pd.DataFrame:
    """One row per run: attributes, then ``params.<k>``, ``metrics.<k>`` and ``tags.<k>``.

    Metric columns are floats (NaN where a run lacks the metric); params and tags are strings.
    """
    rows: list[dict[str, Any]] = []
    for run in runs:
        row: dict[str, Any] = {
            "run_id": run.id,
            "experiment": run.experiment,
            "name": run.name,
            "status": run.status.value,
            "start_time": run.start_time,
            "end_time": run.end_time,
            "parent_run_id": run.parent_run_id,
        }
        row.update({f"params.{k}": v for k, v in run.params.items()})
        row.update({f"metrics.{k}": v for k, v in run.metrics.items()})
        row.update({f"tags.{k}": v for k, v in run.tags.items()})
        rows.append(row)
    frame = pd.DataFrame(rows, columns=None if rows else RUN_COLUMNS)
    extra = sorted(c for c in frame.columns if c not in RUN_COLUMNS)
    ordered = RUN_COLUMNS + [
        c for p in ("params.", "metrics.", "tags.") for c in extra if c.startswith(p)
    ]
    frame = frame.reindex(columns=ordered)
    for column in ("start_time", "end_time"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def history_frame(history: MetricHistory) -> pd.DataFrame:
    """Columns ``step`` (int), ``value`` (float) and ``timestamp`` (UTC datetime)."""
    return pd.DataFrame(
        {
            "step": pd.Series(history.steps, dtype="int64"),
            "value": pd.Series(history.values, dtype="float64"),
            "timestamp": pd.to_datetime(
                pd.Series(history.timestamps, dtype="int64"), unit="ms", utc=True
            ),
        }
    )
