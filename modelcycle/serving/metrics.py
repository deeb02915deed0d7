"""Prometheus metrics of the inference server, labelled by model name and version.

One :class:`ServingMetrics` per app, on a ``CollectorRegistry`` of its own: two apps in one
process (tests, a deployment that runs two versions side by side) never share counters, and the
process-wide default registry stays free for the user's own metrics.

=================================================  =========  ================================
metric                                             type       labels
=================================================  =========  ================================
``modelcycle_serving_requests_total``              counter    model, version, endpoint, status
``modelcycle_serving_request_duration_seconds``    histogram  model, version, endpoint
``modelcycle_serving_errors_total``                counter    model, version, endpoint, code
``modelcycle_serving_rows_total``                  counter    model, version
``modelcycle_serving_predictions_total``           counter    model, version, class
``modelcycle_serving_prediction_value``            histogram  model, version
``modelcycle_serving_shadow_dropped_total``        counter    model, version
``modelcycle_prediction_log_<counter>_total``      counter    deployment
``modelcycle_prediction_log_queued_rows``          gauge      deployment
``modelcycle_prediction_log_in_flight_rows``       gauge      deployment
=================================================  =========  ================================

Shadow versions of a deployment are counted like the others, under the endpoint ``shadow``;
``shadow_dropped`` counts requests not mirrored because the shadows were too far behind.

Classifiers count predictions by class; regressors put each predicted value in a histogram
whose buckets span negative values too, so it has no ``_sum``/``_count`` (the text format allows
them only for non-negative observations): the ``le="+Inf"`` bucket is the count.
Both are kept as numpy counters updated once per request (``np.unique`` / ``np.searchsorted``)
instead of one ``observe`` call per row, which would cost a millisecond on a 1,000-row request.

The prediction log's counters (rows accepted, written, dropped, failed, … per logged deployment)
are read from the logger when scraped, so a full queue or a failing store shows on the same
``/metrics`` as the traffic it loses.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from modelcycle.monitoring.entities import (
    PROMETHEUS_COUNTERS,
    PROMETHEUS_GAUGES,
    PredictionLogStats,
)

__all__ = ["CONTENT_TYPE", "ServingMetrics", "VersionMetrics"]

CONTENT_TYPE = CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
VALUE_BUCKETS = (-1e3, -1e2, -10.0, -1.0, -0.1, 0.0, 0.1, 1.0, 10.0, 1e2, 1e3)
"""Predicted values of a regressor, on a symmetric log scale: the server knows no target range."""
MAX_CLASSES = 100
"""Distinct class labels counted per version; more are counted under ``__other__`` so a model
that predicts free text cannot grow the metrics without bound."""
OTHER_CLASS = "__other__"
SMALL_BATCH = 64


class ServingMetrics:
    """Every metric of one app, and the Prometheus text of them."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        labels = ["model", "version", "endpoint"]
        self._requests = Counter(
            "modelcycle_serving_requests",
            "Requests answered, by endpoint and HTTP status.",
            [*labels, "status"],
            registry=self.registry,
        )
        self._latency = Histogram(
            "modelcycle_serving_request_duration_seconds",
            "Time from the request's arrival to its answer, by endpoint.",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._errors = Counter(
            "modelcycle_serving_errors",
            "Requests answered with an error, by error code (InvalidInput, NotFound, ...).",
            [*labels, "code"],
            registry=self.registry,
        )
        self._rows = Counter(
            "modelcycle_serving_rows",
            "Rows predicted.",
            ["model", "version"],
            registry=self.registry,
        )
        self._shadow_dropped = Counter(
            "modelcycle_serving_shadow_dropped",
            "Requests not mirrored to a shadow version because too many were waiting.",
            ["model", "version"],
            registry=self.registry,
        )
        self._predictions = _PredictionCollector()
        self.registry.register(self._predictions)

    def shadow_dropped(self, model: str, version: str) -> None:
        """One request a shadow did not receive (its mirror was full)."""
        self._shadow_dropped.labels(model, version).inc()

    def for_version(self, model: str, version: str) -> VersionMetrics:
        """The recorder of one served model version (made once, when the version loads)."""
        return VersionMetrics(
            self, model, version, self._rows.labels(model, version), self._predictions
        )

    def watch_prediction_log(self, source: Callable[[], Sequence[PredictionLogStats]]) -> None:
        """Show the counters ``source`` returns (one entry per logged deployment) on every
        scrape, as ``modelcycle_prediction_log_*`` series."""
        self.registry.register(_PredictionLogCollector(source))

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)


class VersionMetrics:
    """Records requests and predictions of one model version; label children are cached, so a
    request costs dictionary look-ups, not label resolution."""

    def __init__(
        self,
        parent: ServingMetrics,
        model: str,
        version: str,
        rows: Any,
        predictions: _PredictionCollector,
    ) -> None:
        self.model = model
        self.version = version
        self._parent = parent
        self._rows = rows
        self._counts = predictions.series(model, version)
        self._latency: dict[str, Any] = {}
        self._requests: dict[tuple[str, int], Any] = {}
        self._errors: dict[tuple[str, str], Any] = {}

    def request(self, endpoint: str, status: int, seconds: float, code: str | None) -> None:
        """One answered request; ``code`` is the error class name when it failed."""
        latency = self._latency.get(endpoint)
        if latency is None:
            latency = self._parent._latency.labels(self.model, self.version, endpoint)
            self._latency[endpoint] = latency
        latency.observe(seconds)
        key = (endpoint, status)
        counter = self._requests.get(key)
        if counter is None:
            counter = self._parent._requests.labels(
                self.model, self.version, endpoint, str(status)
            )
            self._requests[key] = counter
        counter.inc()
        if code is not None:
            error_key = (endpoint, code)
            errors = self._errors.get(error_key)
            if errors is None:
                errors = self._parent._errors.labels(self.model, self.version, endpoint, code)
                self._errors[error_key] = errors
            errors.inc()

    def predictions(self, values: np.ndarray, *, classification: bool) -> None:
        """Count a request's predictions: by class, or into the value histogram. Labels that are
        not floats count as classes even when the model has no ``predict_proba``."""
        self._rows.inc(len(values))
        if classification or values.dtype.kind != "f":
            self._counts.add_classes(values)
        else:
            self._counts.add_values(values)


@dataclass
class _Series:
    """The prediction counters of one version."""

    classes: dict[str, int] = field(default_factory=dict)
    buckets: np.ndarray = field(default_factory=lambda: np.zeros(len(VALUE_BUCKETS) + 1, np.int64))

    def add_classes(self, values: np.ndarray) -> None:
        flat = np.asarray(values).reshape(-1)
        if flat.size <= SMALL_BATCH:
            # np.unique costs tens of microseconds even on one value: count in Python.
            pairs: Any = collections.Counter(flat.tolist()).items()
        else:
            labels, counts = np.unique(flat, return_counts=True)
            pairs = zip(labels.tolist(), counts.tolist(), strict=True)
        for label, count in pairs:
            key = str(label)
            if key not in self.classes and len(self.classes) >= MAX_CLASSES:
                key = OTHER_CLASS
            self.classes[key] = self.classes.get(key, 0) + count

    def add_values(self, values: np.ndarray) -> None:
        flat = np.asarray(values, dtype=np.float64).reshape(-1)
        flat = flat[~np.isnan(flat)]
        # side="left": a value equal to a bound falls in that bound's bucket (le semantics).
        index = np.searchsorted(VALUE_BUCKETS, flat, side="left")
        self.buckets += np.bincount(index, minlength=len(VALUE_BUCKETS) + 1)


class _PredictionCollector:
    """A custom collector exposing every version's prediction counters at scrape time."""

    def __init__(self) -> None:
        self._series: dict[tuple[str, str], _Series] = {}

    def series(self, model: str, version: str) -> _Series:
        return self._series.setdefault((model, version), _Series())

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Iterator[Any]:
        classes = CounterMetricFamily(
            "modelcycle_serving_predictions",
            "Predictions by class (classifiers).",
            labels=["model", "version", "class"],
        )
        values = HistogramMetricFamily(
            "modelcycle_serving_prediction_value",
            "Predicted values (regressors).",
            labels=["model", "version"],
        )
        for (model, version), series in list(self._series.items()):
            for label, count in list(series.classes.items()):
                classes.add_metric([model, version, label], count)
            if series.buckets.any():
                cumulative = np.cumsum(series.buckets).tolist()
                bounds = [str(b) for b in VALUE_BUCKETS] + ["+Inf"]
                values.add_metric(
                    [model, version],
                    list(zip(bounds, cumulative, strict=True)),
                    # No _sum (hence no _count) with negative buckets, as the exposition format
                    # requires; the +Inf bucket is the count.
                    sum_value=None,
                )
        yield classes
        yield values


class _PredictionLogCollector:
    """The prediction log's counters, read from the loggers when scraped (a custom collector:
    the loggers keep the counts, nothing is copied per request)."""

    PREFIX = "modelcycle_prediction_log"

    def __init__(self, source: Callable[[], Sequence[PredictionLogStats]]) -> None:
        self._source = source

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Iterator[Any]:
        stats = list(self._source())
        families: list[tuple[Any, str]] = [
            (CounterMetricFamily, name) for name, _ in PROMETHEUS_COUNTERS
        ] + [(GaugeMetricFamily, name) for name, _ in PROMETHEUS_GAUGES]
        texts = dict(PROMETHEUS_COUNTERS + PROMETHEUS_GAUGES)
        for family_type, name in families:
            family = family_type(f"{self.PREFIX}_{name}", texts[name], labels=["deployment"])
            for entry in stats:
                family.add_metric([entry.deployment], getattr(entry, name))
            yield family
