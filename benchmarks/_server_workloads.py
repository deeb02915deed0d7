"""The server benchmark's workloads, written once for both clients (stdlib only).

Both the modelcycle SDK and MLflow's expose ``start_run`` / ``log_metric`` / ``log_metrics`` /
``search_runs`` with the same shape, so one function per workload drives either, given an
adapter of four callables. Imported from the project venv and from MLflow's venv.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import _tracking_data as data

EXP_LOOP = "server-log-metric"
EXP_BATCH = "server-log-metrics-batched"
EXP_SEARCH = "server-search"


@dataclass(frozen=True)
class Sizes:
    loop_calls: int
    batch_calls: int
    batch_width: int
    search_runs: int
    repeats: int

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


# MLflow manages 10–15 log_metric calls/s through its server here: it gets fewer calls, and the
# rates are compared. Batches are 1,000 wide, MLflow's log_batch limit.
FULL = {"modelcycle": Sizes(20_000, 20, 1_000, 200, 7), "mlflow": Sizes(300, 20, 1_000, 200, 7)}
QUICK = {"modelcycle": Sizes(2_000, 3, 1_000, 20, 3), "mlflow": Sizes(30, 3, 1_000, 20, 3)}


@dataclass(frozen=True)
class Client:
    """What a workload needs from an SDK."""

    start_run: Callable[[str], Any]
    """``start_run(experiment)`` → a context manager yielding an object with ``log_metric``."""
    log_metrics: Callable[[Any, dict[str, float], int], None]
    history_length: Callable[[Any, str], int]
    search: Callable[[str], list[float]]
    """The search's ``auc`` column, best first."""


def log_metric_loop(client: Client, sizes: Sizes) -> dict[str, Any]:
    """``log_metric`` in one run; the clock stops after the run has ended (flushes count)."""
    n = sizes.loop_calls
    with client.start_run(EXP_LOOP) as run:
        start = time.perf_counter()
        for i in range(n):
            run.log_metric(data.HISTORY_KEY, data.loop_value(i), step=i)
    elapsed = time.perf_counter() - start
    stored = client.history_length(run, data.HISTORY_KEY)
    return {"calls": n, "seconds": elapsed, "per_s": n / elapsed, "points_stored": stored}


def log_metrics_batched(client: Client, sizes: Sizes) -> dict[str, Any]:
    with client.start_run(EXP_BATCH) as run:
        start = time.perf_counter()
        for call in range(sizes.batch_calls):
            client.log_metrics(run, data.batch_metrics(sizes.batch_width, call), call)
    elapsed = time.perf_counter() - start
    values = sizes.batch_calls * sizes.batch_width
    return {
        "calls": sizes.batch_calls,
        "values": values,
        "seconds": elapsed,
        "per_s": values / elapsed,
    }


def search(
    client: Client, create_run: Callable[[data.RunData], None], sizes: Sizes
) -> dict[str, Any]:
    """Create ``search_runs`` runs through the server, then time the search over them."""
    start = time.perf_counter()
    for spec in data.iter_runs(sizes.search_runs):
        create_run(spec)
    created = time.perf_counter() - start
    timing, aucs = data.time_read(lambda: client.search(EXP_SEARCH), sizes.repeats)
    expected = data.expected_top_aucs(sizes.search_runs)
    return {
        "runs": sizes.search_runs,
        "create_s": created,
        **timing,
        "rows": len(aucs),
        "correct": [round(a, 6) for a in aucs] == [round(a, 6) for a in expected],
    }
