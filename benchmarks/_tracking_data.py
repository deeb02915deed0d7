"""The tracking workloads' sizes and data, shared by the modelcycle side and every peer.

This module is imported both from the project venv and from each peer's own venv (which has no
modelcycle), so it uses the standard library only. Both sides draw their data from the same
seeded generators, in the same order, so the stores they search hold the same values and the
answers can be compared, not only the timings.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

SEED = 20240601
BASE_TIME_MS = 1_700_000_000_000
"""Start time of the first bulk-inserted run; each following run starts one second later."""

EXP_LOG_METRIC = "bench-log-metric"
EXP_BATCH = "bench-log-metrics-batched"
EXP_RUNS = "bench-run-creation"
EXP_LARGE = "bench-search-large"
EXP_HISTORY = "bench-metric-history"

PARAM_KEYS = (
    "C",
    "penalty",
    "solver",
    "max_iter",
    "tol",
    "l1_ratio",
    "class_weight",
    "fit_intercept",
    "random_state",
    "n_jobs",
)
METRIC_KEYS = ("auc", "loss", "accuracy", "f1", "precision")
TAG_KEYS = ("team", "dataset", "stage")

C_VALUES = ("0.1", "1.0", "10.0")
"""One run in three has C = '1.0' and about half have auc > 0.5: a sixth of all runs match."""

SEARCH_FILTER = "metrics.auc > 0.5 and params.C = '1.0'"
SEARCH_ORDER_BY = ["metrics.auc DESC"]
SEARCH_LIMIT = 100

HISTORY_KEY = "loss"

READ_BUDGET_S = 10.0
"""Timed repeats of a read stop early once they have taken this long (at least one is made).

MLflow's search over 100,000 runs takes minutes per call here; seven of them would add half an
hour and tell nothing a single call does not.
"""


@dataclass(frozen=True)
class Sizes:
    """How much work each workload does; the peer may do less where it is too slow."""

    log_metric_calls: int
    """``log_metric`` calls in one run on the modelcycle side."""
    peer_log_metric_calls: int
    """The same on the peer side: MLflow's ~200 calls/s would make 10,000 calls take ~50 s."""
    batch_calls: int
    batch_width: int
    """Metrics per ``log_metrics`` call (MLflow's ``log_batch`` accepts at most 1,000)."""
    runs: int
    """Runs created through the SDK on both sides, then searched (same count, same data)."""
    large_runs: int
    """Runs bulk-inserted by SQL for the large search."""
    history_points: int
    repeats: int
    """Timed repeats of each read, after one untimed warm-up call; the median is reported."""

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


FULL = Sizes(
    log_metric_calls=10_000,
    peer_log_metric_calls=1_000,
    batch_calls=10,
    batch_width=1_000,
    runs=2_000,
    large_runs=100_000,
    history_points=10_000,
    repeats=7,
)

QUICK = Sizes(
    log_metric_calls=1_000,
    peer_log_metric_calls=100,
    batch_calls=3,
    batch_width=1_000,
    runs=100,
    large_runs=5_000,
    history_points=1_000,
    repeats=3,
)


def sizes_for(quick: bool) -> Sizes:
    """The sizes of a full run, or of the ``--quick`` smoke run that only checks the scripts."""
    return QUICK if quick else FULL


@dataclass(frozen=True)
class RunData:
    """One run's content: 10 params, 5 metrics (one point each, step 0) and 3 tags."""

    run_id: str
    start_time: int
    params: dict[str, str]
    metrics: dict[str, float]
    tags: dict[str, str]


def iter_runs(n: int, seed: int = SEED) -> Iterator[RunData]:
    """Yield ``n`` runs drawn from one seeded generator, identical on every side.

    Run ids are deterministic uuid4-shaped hex strings so bulk inserts on both sides use the same
    ids; the SDK-created runs get their ids from each tool instead.
    """
    rng = random.Random(seed)
    for i in range(n):
        run_id = uuid.UUID(int=rng.getrandbits(128), version=4).hex
        params = {
            "C": C_VALUES[i % len(C_VALUES)],
            "penalty": rng.choice(("l1", "l2", "elasticnet")),
            "solver": rng.choice(("lbfgs", "saga", "liblinear")),
            "max_iter": str(rng.choice((100, 200, 500, 1000))),
            "tol": rng.choice(("1e-4", "1e-3")),
            "l1_ratio": f"{rng.random():.2f}",
            "class_weight": rng.choice(("balanced", "none")),
            "fit_intercept": rng.choice(("true", "false")),
            "random_state": str(rng.randrange(1_000)),
            "n_jobs": str(rng.choice((1, 2, 4))),
        }
        auc = round(rng.random(), 6)
        metrics = {
            "auc": auc,
            "loss": round(1.0 - auc + rng.random() * 0.1, 6),
            "accuracy": round(rng.random(), 6),
            "f1": round(rng.random(), 6),
            "precision": round(rng.random(), 6),
        }
        tags = {
            "team": rng.choice(("risk", "growth", "platform")),
            "dataset": f"churn-{rng.randrange(10)}",
            "stage": rng.choice(("dev", "staging", "prod")),
        }
        yield RunData(run_id, BASE_TIME_MS + i * 1_000, params, metrics, tags)


def expected_top_aucs(n: int, limit: int = SEARCH_LIMIT) -> list[float]:
    """The ``auc`` values the search must return, best first, over the first ``n`` runs."""
    aucs = [
        run.metrics["auc"]
        for run in iter_runs(n)
        if run.params["C"] == "1.0" and run.metrics["auc"] > 0.5
    ]
    return sorted(aucs, reverse=True)[:limit]


def loop_value(i: int) -> float:
    """Value of the ``i``-th point in the metric loops and the history: a decaying loss."""
    return 1.0 / (1.0 + 0.01 * i)


def batch_metrics(width: int, call: int) -> dict[str, float]:
    """The ``call``-th batch: ``width`` distinct keys, all logged at step ``call``."""
    return {f"m{k:04d}": (k + call) * 0.001 for k in range(width)}


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def clock(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds one call of ``fn`` took, and what it returned."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def time_read(fn: Callable[[], Any], repeats: int) -> tuple[dict[str, Any], Any]:
    """One untimed warm-up call, then up to ``repeats`` timed calls within ``READ_BUDGET_S``.

    Returns the timings in the form both sides report, and the warm-up call's result.
    """
    first, result = clock(fn)
    timings: list[float] = []
    while len(timings) < repeats and sum(timings) < READ_BUDGET_S:
        timings.append(clock(fn)[0])
    return {
        "median_s": median(timings),
        "min_s": min(timings),
        "max_s": max(timings),
        "first_call_s": first,
        "repeats": len(timings),
    }, result
