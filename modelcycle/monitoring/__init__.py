"""Production monitoring: the prediction log and the labels that arrive later.

The map::

    PredictionLogger(store, deployment=…)       in the inference server, one per deployment
        .log(request_id, model, version, inputs, outputs, latency_ms) → bool   (never blocks)
        .stats() ─► PredictionLogStats  accepted, written, dropped, failed, queued (for /metrics)
        .flush() / .close()
            │  Parquet: <artifact root>/predictions/deployment=D/day=YYYY-MM-DD/part-*.parquet
            ▼  index:   prediction_files (one row per file)
    log_labels(ids, labels, deployment=…)       ─► prediction_labels (upsert by request id, row)
    predictions(deployment, since, until, with_labels, limit) ─► DataFrame (indexed files only)
    prediction_stats(deployment, since, until)  ─► DataFrame per deployment and day

Names load on first use, so ``import modelcycle.monitoring`` imports neither SQLAlchemy, pandas
nor pyarrow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelcycle._internal.lazy import lazy_getattr

__all__ = [
    "MonitoringService",
    "PredictionLogStats",
    "PredictionLogger",
    "log_labels",
    "prediction_stats",
    "predictions",
]

_LAZY: dict[str, str] = {
    "log_labels": "modelcycle.monitoring._fluent:log_labels",
    "predictions": "modelcycle.monitoring._fluent:predictions",
    "prediction_stats": "modelcycle.monitoring._fluent:prediction_stats",
    "MonitoringService": "modelcycle.monitoring.service:MonitoringService",
    "PredictionLogger": "modelcycle.monitoring.prediction_log:PredictionLogger",
    "PredictionLogStats": "modelcycle.monitoring.entities:PredictionLogStats",
}

if TYPE_CHECKING:
    from modelcycle.monitoring._fluent import log_labels, prediction_stats, predictions
    from modelcycle.monitoring.entities import PredictionLogStats
    from modelcycle.monitoring.prediction_log import PredictionLogger
    from modelcycle.monitoring.service import MonitoringService


__getattr__ = lazy_getattr(__name__, _LAZY)


def __dir__() -> list[str]:
    return sorted(__all__)
