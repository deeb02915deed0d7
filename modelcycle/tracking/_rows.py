"""The rows behind the tracking service: writing metric points and loading whole runs.

Kept apart from ``service.py`` because these are the hot paths and their SQL is tuned for them:
metric rows go straight to the driver's executemany, and runs load with a fixed number of
queries per chunk of ids, whatever their number of params, metrics and tags.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table, select

from modelcycle.store._bulk import insert_rows, upsert_rows
from modelcycle.store.tables import experiments, latest_metrics, metrics, run_inputs, runs
from modelcycle.store.tables import params as params_table
from modelcycle.store.tables import tags as tags_table
from modelcycle.tracking._base import MetricPoint
from modelcycle.tracking._validation import stored_metric_value
from modelcycle.tracking.entities import Experiment, Run, RunInput, RunStatus, from_millis

_LOAD_CHUNK = 500


_METRIC_COLUMNS = ("run_id", "key", "value", "step", "timestamp")
# The latest value moves only forward: a higher step, or the same step logged later.
_IS_NEWER = (
    "excluded.step > latest_metrics.step OR "
    "(excluded.step = latest_metrics.step AND excluded.timestamp >= latest_metrics.timestamp)"
)


def insert_metrics(connection: Connection, run_id: str, points: Sequence[MetricPoint]) -> None:
    """Append validated points to the history and move each key's latest value forward, in the
    caller's transaction."""
    if not points:
        return
    # ``value == value`` is false only for NaN, which is stored as NULL (see stored_metric_value);
    # inlined because this comprehension runs once per point of every flush.
    insert_rows(
        connection,
        metrics,
        _METRIC_COLUMNS,
        [
            (run_id, key, value if value == value else None, step, stamp)
            for key, value, step, stamp in points
        ],
    )
    newest: dict[str, MetricPoint] = {}
    for point in points:
        current = newest.get(point[0])
        if current is None or (point[2], point[3]) >= (current[2], current[3]):
            newest[point[0]] = point
    upsert_rows(
        connection,
        latest_metrics,
        _METRIC_COLUMNS,
        [
            (run_id, key, stored_metric_value(value), step, stamp)
            for key, value, step, stamp in newest.values()
        ],
        key_columns=["run_id", "key"],
        update_columns=["value", "step", "timestamp"],
        only_if=_IS_NEWER,
    )


def insert_pairs(
    connection: Connection, table: Table, run_id: str, pairs: Mapping[str, str]
) -> None:
    """Insert a run's new params or tags (``table`` is one of the two)."""
    insert_rows(
        connection, table, ("run_id", "key", "value"), [(run_id, k, v) for k, v in pairs.items()]
    )


def experiment_record(row: Any) -> Experiment:
    """An ``experiments`` row as its frozen record."""
    return Experiment(
        id=row.id,
        name=row.name,
        lifecycle_stage=row.lifecycle_stage,
        created_at=from_millis(row.created_at),
        tags=row.tags or {},
    )


def load_runs(connection: Connection, run_ids: Sequence[str]) -> list[Run]:
    """Whole runs for ``run_ids``, in that order, with a fixed number of queries per chunk."""
    loaded: dict[str, Run] = {}
    for start in range(0, len(run_ids), _LOAD_CHUNK):
        chunk = list(run_ids[start : start + _LOAD_CHUNK])
        loaded.update(_load_chunk(connection, chunk))
    return [loaded[run_id] for run_id in run_ids if run_id in loaded]


def _load_chunk(connection: Connection, chunk: list[str]) -> dict[str, Run]:
    head = connection.execute(
        select(
            runs,
            experiments.c.name.label("experiment_name"),
            experiments.c.lifecycle_stage.label("experiment_stage"),
        )
        .join(experiments, experiments.c.id == runs.c.experiment_id)
        .where(runs.c.id.in_(chunk))
    ).all()
    by_run: dict[str, dict[str, dict[str, Any]]] = {
        row.id: {"params": {}, "metrics": {}, "tags": {}} for row in head
    }
    for name, table in (
        ("params", params_table),
        ("metrics", latest_metrics),
        ("tags", tags_table),
    ):
        query = select(table.c.run_id, table.c.key, table.c.value).where(table.c.run_id.in_(chunk))
        for run_id, key, value in connection.execute(query):
            by_run[run_id][name][key] = math.nan if value is None else value
    inputs: dict[str, list[RunInput]] = {}
    for row in connection.execute(select(run_inputs).where(run_inputs.c.run_id.in_(chunk))):
        inputs.setdefault(row.run_id, []).append(
            RunInput(dataset=row.dataset, version=row.version, role=row.role, digest=row.digest)
        )
    return {
        row.id: Run(
            id=row.id,
            experiment_id=row.experiment_id,
            experiment=row.experiment_name,
            name=row.name,
            status=RunStatus(row.status),
            start_time=from_millis(row.start_time),
            end_time=from_millis(row.end_time),
            parent_run_id=row.parent_run_id,
            # A deleted experiment's runs are deleted with it (they keep their own stage, given
            # back by a restore).
            lifecycle_stage="deleted"
            if row.experiment_stage == "deleted"
            else row.lifecycle_stage,
            environment=row.environment or {},
            inputs=tuple(inputs.get(row.id, ())),
            **by_run[row.id],
        )
        for row in head
    }
