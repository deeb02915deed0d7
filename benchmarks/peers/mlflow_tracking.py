"""MLflow's side of the tracking benchmark; runs in ``.bench-venvs/mlflow``, never in our venv.

Usage::

    .bench-venvs/mlflow/bin/python benchmarks/peers/mlflow_tracking.py --workdir DIR [--quick]

MLflow uses its SQLite store (``sqlite:///DIR/…/mlflow.db``) and a file artifact root, with its
default settings (synchronous logging), the way a user who follows its quick-start would run it.
Progress goes to stderr; the last stdout line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _tracking_data as data  # noqa: E402  (stdlib-only module shared with the driver)
import mlflow  # noqa: E402
import sqlalchemy as sa  # noqa: E402  (MLflow's own dependency)
from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import Metric  # noqa: E402

BULK_CHUNK = 20_000
"""Rows per executemany in the bulk insert: large enough to amortise, small enough for memory."""
BULK_TABLES = ("runs", "params", "tags", "metrics", "latest_metrics")
"""Parents first, so foreign keys hold at every insert."""


def log(message: str) -> None:
    print(f"[mlflow] {message}", file=sys.stderr, flush=True)


class Store:
    """One fresh SQLite tracking store with its artifact root, in its own directory."""

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.uri = f"sqlite:///{root / 'mlflow.db'}"
        self.artifacts = (root / "artifacts").as_uri()
        mlflow.set_tracking_uri(self.uri)
        self.client = MlflowClient(tracking_uri=self.uri)

    def experiment(self, name: str) -> str:
        """Create an experiment; the first one also creates the schema (untimed)."""
        return self.client.create_experiment(name, artifact_location=f"{self.artifacts}/{name}")


def log_metric_loop(store: Store, sizes: data.Sizes) -> dict[str, Any]:
    """``mlflow.log_metric`` in one run; the clock stops after the run has ended."""
    exp = store.experiment(data.EXP_LOG_METRIC)
    n = sizes.peer_log_metric_calls
    with mlflow.start_run(experiment_id=exp) as run:
        start = time.perf_counter()
        for i in range(n):
            mlflow.log_metric(data.HISTORY_KEY, data.loop_value(i), step=i)
    elapsed = time.perf_counter() - start
    stored = len(store.client.get_metric_history(run.info.run_id, data.HISTORY_KEY))
    return {"calls": n, "seconds": elapsed, "per_s": n / elapsed, "points_stored": stored}


def log_metrics_batched(store: Store, sizes: data.Sizes) -> dict[str, Any]:
    """``mlflow.log_metrics`` of ``batch_width`` keys per call (one ``log_batch`` each)."""
    exp = store.experiment(data.EXP_BATCH)
    with mlflow.start_run(experiment_id=exp):
        start = time.perf_counter()
        for call in range(sizes.batch_calls):
            mlflow.log_metrics(data.batch_metrics(sizes.batch_width, call), step=call)
    elapsed = time.perf_counter() - start
    values = sizes.batch_calls * sizes.batch_width
    return {
        "calls": sizes.batch_calls,
        "values": values,
        "seconds": elapsed,
        "per_s": values / elapsed,
    }


def run_creation(store: Store, sizes: data.Sizes) -> dict[str, Any]:
    """Runs with 10 params, 5 metrics and 3 tags each, through the fluent API.

    The tags go into ``start_run(tags=…)`` rather than a separate ``set_tags``: one write fewer,
    MLflow's fastest idiomatic path.
    """
    exp = store.experiment(data.EXP_RUNS)
    start = time.perf_counter()
    for i, run in enumerate(data.iter_runs(sizes.runs)):
        with mlflow.start_run(experiment_id=exp, tags=run.tags):
            mlflow.log_params(run.params)
            mlflow.log_metrics(run.metrics)
        if i % 500 == 499:
            log(f"  {i + 1} runs created")
    elapsed = time.perf_counter() - start
    return {"runs": sizes.runs, "seconds": elapsed, "per_s": sizes.runs / elapsed}


def timed_search(name: str, repeats: int) -> dict[str, Any]:
    """``mlflow.search_runs`` (a DataFrame, as ``mc.search_runs``): one warm-up, then repeats."""

    def search() -> Any:
        return mlflow.search_runs(
            experiment_names=[name],
            filter_string=data.SEARCH_FILTER,
            order_by=data.SEARCH_ORDER_BY,
            max_results=data.SEARCH_LIMIT,
        )

    timing, frame = data.time_read(search, repeats)
    return {
        **timing,
        "rows": len(frame),
        "aucs": [float(v) for v in frame["metrics.auc"]] if len(frame) else [],
    }


def search_small(store: Store, sizes: data.Sizes) -> dict[str, Any]:
    """The search over the runs that :func:`run_creation` made."""
    return {"runs": sizes.runs, **timed_search(data.EXP_RUNS, sizes.repeats)}


def search_large(root: Path, sizes: data.Sizes) -> dict[str, Any]:
    """The search over ``large_runs`` runs: run 0 through the SDK, the rest by bulk SQL insert."""
    store = Store(root)
    exp = store.experiment(data.EXP_LARGE)
    runs = data.iter_runs(sizes.large_runs)
    first = next(runs)
    with mlflow.start_run(experiment_id=exp, tags=first.tags):
        mlflow.log_params(first.params)
        mlflow.log_metrics(first.metrics)
    start = time.perf_counter()
    _bulk_insert(store, int(exp), runs)
    insert_s = time.perf_counter() - start
    log(f"  bulk-inserted {sizes.large_runs - 1} runs in {insert_s:.1f} s")
    return {
        "runs": sizes.large_runs,
        "bulk_insert_s": insert_s,
        **timed_search(data.EXP_LARGE, sizes.repeats),
    }


def _bulk_insert(store: Store, experiment_id: int, runs: Any) -> None:
    """Insert runs into MLflow's own tables, shaped as its SDK writes them, in one transaction."""
    engine = sa.create_engine(store.uri)
    meta = sa.MetaData()
    meta.reflect(engine, only=list(BULK_TABLES))
    t = meta.tables
    buffers: dict[str, list[dict[str, Any]]] = {name: [] for name in BULK_TABLES}
    with engine.begin() as conn:

        def flush(force: bool = False) -> None:
            # All tables together, parents first: a child row must never precede its run.
            if force or any(len(rows) >= BULK_CHUNK for rows in buffers.values()):
                for name in BULK_TABLES:
                    if buffers[name]:
                        conn.execute(t[name].insert(), buffers[name])
                        buffers[name].clear()

        for run in runs:
            buffers["runs"].append(
                {
                    "run_uuid": run.run_id,
                    "name": f"run-{run.run_id[:8]}",
                    "source_type": "UNKNOWN",
                    "source_name": "",
                    "entry_point_name": "",
                    "user_id": "bench",
                    "status": "FINISHED",
                    "start_time": run.start_time,
                    "end_time": run.start_time + 500,
                    "source_version": "",
                    "lifecycle_stage": "active",
                    "deleted_time": None,
                    "artifact_uri": f"{store.artifacts}/{run.run_id}/artifacts",
                    "experiment_id": experiment_id,
                }
            )
            buffers["params"].extend(
                {"run_uuid": run.run_id, "key": k, "value": v} for k, v in run.params.items()
            )
            buffers["tags"].extend(
                {"run_uuid": run.run_id, "key": k, "value": v} for k, v in run.tags.items()
            )
            for k, v in run.metrics.items():
                point = {
                    "run_uuid": run.run_id,
                    "key": k,
                    "value": v,
                    "timestamp": run.start_time,
                    "step": 0,
                    "is_nan": False,
                }
                buffers["metrics"].append(point)
                buffers["latest_metrics"].append(dict(point))
            flush()
        flush(force=True)
    engine.dispose()


def metric_history(store: Store, sizes: data.Sizes) -> dict[str, Any]:
    """``MlflowClient.get_metric_history`` of one key with ``history_points`` points."""
    exp = store.experiment(data.EXP_HISTORY)
    with mlflow.start_run(experiment_id=exp) as run:
        run_id = run.info.run_id
        now = int(time.time() * 1000)
        points = [
            Metric(data.HISTORY_KEY, data.loop_value(i), now + i, i)
            for i in range(sizes.history_points)
        ]
        for lo in range(0, len(points), 1_000):  # log_batch takes at most 1,000 metrics
            store.client.log_batch(run_id, metrics=points[lo : lo + 1_000])

    def read() -> Any:
        return store.client.get_metric_history(run_id, data.HISTORY_KEY)

    timing, history = data.time_read(read, sizes.repeats)
    return {"points": len(history), **timing}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    sizes = data.sizes_for(args.quick)
    results: dict[str, Any] = {}
    # Anything MLflow prints must not land between us and the JSON line.
    with contextlib.redirect_stdout(sys.stderr):
        store = Store(args.workdir / "main")
        steps: list[tuple[str, Callable[[], dict[str, Any]]]] = [
            ("log_metric", lambda: log_metric_loop(store, sizes)),
            ("log_metrics_batched", lambda: log_metrics_batched(store, sizes)),
            ("run_creation", lambda: run_creation(store, sizes)),
            ("search_small", lambda: search_small(store, sizes)),
            ("metric_history", lambda: metric_history(store, sizes)),
            ("search_large", lambda: search_large(args.workdir / "large", sizes)),
        ]
        for name, step in steps:
            if name == "search_small" and "error" in results.get("run_creation", {}):
                results[name] = {"error": "skipped: run_creation failed"}
                continue
            log(f"{name} …")
            try:
                results[name] = step()
            except Exception:  # reported to the driver, which exits non-zero
                results[name] = {"error": traceback.format_exc()}
                log(results[name]["error"])
            mlflow.set_tracking_uri(store.uri)
    print(
        json.dumps(
            {
                "tool": "mlflow",
                "version": mlflow.__version__,
                "sizes": sizes.to_dict(),
                "workloads": results,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
