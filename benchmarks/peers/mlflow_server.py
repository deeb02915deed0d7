"""MLflow's side of ``bench_server.py``: its client against ``mlflow server`` (MLflow's venv).

Usage (by the driver): ``python peers/mlflow_server.py URL [--quick]``; prints one JSON line.
"""

from __future__ import annotations

import contextlib
import json
import sys
import traceback
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _server_workloads as work  # noqa: E402
import _tracking_data as data  # noqa: E402


def main() -> int:
    url, quick = sys.argv[1], "--quick" in sys.argv[2:]
    sizes = (work.QUICK if quick else work.FULL)["mlflow"]
    results: dict[str, Any] = {}
    with contextlib.redirect_stdout(sys.stderr):
        import mlflow
        from mlflow import MlflowClient

        mlflow.set_tracking_uri(url)
        client = MlflowClient(url)

        def start_run(experiment: str) -> Any:
            mlflow.set_experiment(experiment)
            return mlflow.start_run()

        adapter = work.Client(
            start_run=lambda experiment: _Logged(start_run(experiment)),
            log_metrics=lambda run, metrics, step: mlflow.log_metrics(metrics, step=step),
            history_length=lambda run, key: len(client.get_metric_history(run.id, key)),
            search=lambda experiment: [
                float(v)
                for v in mlflow.search_runs(
                    experiment_names=[experiment],
                    filter_string=data.SEARCH_FILTER,
                    order_by=data.SEARCH_ORDER_BY,
                    max_results=data.SEARCH_LIMIT,
                )["metrics.auc"]
            ],
        )

        def create_run(spec: data.RunData) -> None:
            mlflow.set_experiment(work.EXP_SEARCH)
            with mlflow.start_run(tags=spec.tags):
                mlflow.log_params(spec.params)
                mlflow.log_metrics(spec.metrics, step=0)

        steps = {
            "log_metric": lambda: work.log_metric_loop(adapter, sizes),
            "log_metrics_batched": lambda: work.log_metrics_batched(adapter, sizes),
            "search": lambda: work.search(adapter, create_run, sizes),
        }
        for name, step in steps.items():
            print(f"[mlflow] {name} …", file=sys.stderr, flush=True)
            try:
                results[name] = step()
            except Exception:
                results[name] = {"error": traceback.format_exc()}
                print(results[name]["error"], file=sys.stderr)
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


class _Logged:
    """A context manager around MLflow's ActiveRun whose ``log_metric`` is mlflow.log_metric."""

    def __init__(self, active: Any) -> None:
        self._active = active

    def __enter__(self) -> _Logged:
        self._active.__enter__()
        self.id = self._active.info.run_id
        return self

    def __exit__(self, *exc: Any) -> None:
        self._active.__exit__(*exc)

    def log_metric(self, key: str, value: float, step: int) -> None:
        import mlflow

        mlflow.log_metric(key, value, step=step)


if __name__ == "__main__":
    sys.exit(main())
