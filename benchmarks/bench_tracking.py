"""Tracking benchmark: modelcycle against MLflow's SQLite store, same workloads, same data.

Usage: ``python benchmarks/bench_tracking.py [--quick] [--keep]`` from the project venv, after
``make bench`` has created ``.bench-venvs/mlflow``.

Each side runs as its own subprocess (modelcycle in this interpreter, MLflow in its venv), in a
fresh temporary directory with fresh stores, one after the other so they never share the 2 cores.
The driver prints one row per workload (both figures, the ratio, the target and PASS/MISS) and
writes every raw figure to ``benchmarks/results/tracking.json`` (``tracking-quick.json`` for
``--quick``).

Exit status: 0 when every workload ran (a missed target is a finding, not a failure), 1 when a
workload crashed on either side, 2 when the MLflow venv is missing.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _peers  # noqa: E402
import _report  # noqa: E402  (benchmarks/ is not a package; these helpers sit beside this file)
import _tracking_data as data  # noqa: E402

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "tracking.json"
RESULTS_QUICK = HERE / "results" / "tracking-quick.json"
"""A smoke run writes apart, so it never overwrites the figures of a full run."""
MLFLOW_SCRIPT = HERE / "peers" / "mlflow_tracking.py"
WORKLOADS = (
    "log_metric",
    "log_metrics_batched",
    "run_creation",
    "search_small",
    "metric_history",
    "search_large",
)
BULK_CHUNK = 20_000


# --------------------------------------------------------------------------------------------
# The modelcycle side: runs in a subprocess of this interpreter (``--worker``), so it starts as
# fresh as MLflow's and a crash in it cannot take the driver down.
# --------------------------------------------------------------------------------------------


def _log(message: str) -> None:
    print(f"[modelcycle] {message}", file=sys.stderr, flush=True)


def mc_log_metric_loop(mc: Any, sizes: data.Sizes) -> dict[str, Any]:
    """``run.log_metric`` in one run; the clock stops after the run ended, so the flush counts."""
    n = sizes.log_metric_calls
    with mc.start_run(experiment=data.EXP_LOG_METRIC) as run:
        start = time.perf_counter()
        for i in range(n):
            run.log_metric(data.HISTORY_KEY, data.loop_value(i), step=i)
    elapsed = time.perf_counter() - start
    stored = len(mc.get_metric_history(run.id, data.HISTORY_KEY))
    return {"calls": n, "seconds": elapsed, "per_s": n / elapsed, "points_stored": stored}


def mc_log_metrics_batched(mc: Any, sizes: data.Sizes) -> dict[str, Any]:
    """``run.log_metrics`` of ``batch_width`` keys per call, flush included."""
    with mc.start_run(experiment=data.EXP_BATCH) as run:
        start = time.perf_counter()
        for call in range(sizes.batch_calls):
            run.log_metrics(data.batch_metrics(sizes.batch_width, call), step=call)
    elapsed = time.perf_counter() - start
    values = sizes.batch_calls * sizes.batch_width
    return {
        "calls": sizes.batch_calls,
        "values": values,
        "seconds": elapsed,
        "per_s": values / elapsed,
    }


def mc_run_creation(mc: Any, sizes: data.Sizes) -> dict[str, Any]:
    """Runs with 10 params and 3 tags given to ``start_run`` and 5 metrics logged in it."""
    start = time.perf_counter()
    for i, spec in enumerate(data.iter_runs(sizes.runs)):
        with mc.start_run(experiment=data.EXP_RUNS, params=spec.params, tags=spec.tags) as run:
            run.log_metrics(spec.metrics, step=0)
        if i % 500 == 499:
            _log(f"  {i + 1} runs created")
    elapsed = time.perf_counter() - start
    return {"runs": sizes.runs, "seconds": elapsed, "per_s": sizes.runs / elapsed}


def mc_timed_search(mc: Any, experiment: str, repeats: int) -> dict[str, Any]:
    """``mc.search_runs`` → DataFrame: one warm-up call, then ``repeats`` timed calls."""

    def search() -> Any:
        return mc.search_runs(
            experiment=experiment,
            filter=data.SEARCH_FILTER,
            order_by=data.SEARCH_ORDER_BY,
            limit=data.SEARCH_LIMIT,
        )

    timing, frame = data.time_read(search, repeats)
    return {
        **timing,
        "rows": len(frame),
        "aucs": [float(v) for v in frame["metrics.auc"]] if len(frame) else [],
    }


def mc_search_small(mc: Any, sizes: data.Sizes) -> dict[str, Any]:
    return {"runs": sizes.runs, **mc_timed_search(mc, data.EXP_RUNS, sizes.repeats)}


def mc_metric_history(mc: Any, sizes: data.Sizes) -> dict[str, Any]:
    """``mc.get_metric_history`` → DataFrame of one key with ``history_points`` points."""
    with mc.start_run(experiment=data.EXP_HISTORY) as run:
        for i in range(sizes.history_points):
            run.log_metric(data.HISTORY_KEY, data.loop_value(i), step=i)

    def read() -> Any:
        return mc.get_metric_history(run.id, data.HISTORY_KEY)

    timing, history = data.time_read(read, sizes.repeats)
    return {"points": len(history), **timing}


def mc_search_large(mc: Any, root: Path, sizes: data.Sizes) -> dict[str, Any]:
    """The search over ``large_runs`` runs: run 0 through the SDK, the rest by bulk SQL insert.

    The SDK creates (and migrates) the store, the experiment and a template run whose status,
    lifecycle stage and environment the bulk rows copy, so they look like the SDK's own.
    """
    root.mkdir(parents=True, exist_ok=True)
    with mc.config_context(uri=str(root)):
        runs = data.iter_runs(sizes.large_runs)
        first = next(runs)
        with mc.start_run(experiment=data.EXP_LARGE, params=first.params, tags=first.tags) as run:
            run.log_metrics(first.metrics, step=0)
        start = time.perf_counter()
        _mc_bulk_insert(root, run.id, runs)
        insert_s = time.perf_counter() - start
        _log(f"  bulk-inserted {sizes.large_runs - 1} runs in {insert_s:.1f} s")
        return {
            "runs": sizes.large_runs,
            "bulk_insert_s": insert_s,
            **mc_timed_search(mc, data.EXP_LARGE, sizes.repeats),
        }


def _mc_bulk_insert(root: Path, template_run_id: str, runs: Iterable[data.RunData]) -> None:
    """Insert runs into modelcycle's tables through its own engine, in one transaction."""
    import sqlalchemy as sa

    from modelcycle.config import resolve_uri
    from modelcycle.store import open_store
    from modelcycle.store import tables as t

    engine = open_store(resolve_uri(str(root))).engine
    order = ("runs", "params", "tags", "metrics", "latest_metrics")
    table = {name: getattr(t, name) for name in order}
    buffers: dict[str, list[dict[str, Any]]] = {name: [] for name in order}
    with engine.begin() as conn:
        template = (
            conn.execute(sa.select(t.runs).where(t.runs.c.id == template_run_id)).mappings().one()
        )

        def flush(force: bool = False) -> None:
            # All tables together, parents first: a child row must never precede its run.
            if force or any(len(rows) >= BULK_CHUNK for rows in buffers.values()):
                for name in order:
                    if buffers[name]:
                        conn.execute(table[name].insert(), buffers[name])
                        buffers[name].clear()

        for spec in runs:
            buffers["runs"].append(
                {
                    "id": spec.run_id,
                    "experiment_id": template["experiment_id"],
                    "name": f"run-{spec.run_id[:8]}",
                    "status": template["status"],
                    "start_time": spec.start_time,
                    "end_time": spec.start_time + 500,
                    "parent_run_id": None,
                    "lifecycle_stage": template["lifecycle_stage"],
                    "environment": template["environment"],
                }
            )
            buffers["params"].extend(
                {"run_id": spec.run_id, "key": k, "value": v} for k, v in spec.params.items()
            )
            buffers["tags"].extend(
                {"run_id": spec.run_id, "key": k, "value": v} for k, v in spec.tags.items()
            )
            for k, v in spec.metrics.items():
                point = {
                    "run_id": spec.run_id,
                    "key": k,
                    "value": v,
                    "step": 0,
                    "timestamp": spec.start_time,
                }
                buffers["metrics"].append(point)
                buffers["latest_metrics"].append(dict(point))
            flush()
        flush(force=True)


def worker(workdir: Path, sizes: data.Sizes) -> int:
    """Run every workload on modelcycle and print one JSON line; errors are reported in it."""
    results: dict[str, Any] = {}
    version = importlib.metadata.version("modelcycle")
    with contextlib.redirect_stdout(sys.stderr):
        import modelcycle as mc

        steps: dict[str, Callable[[], dict[str, Any]]] = {
            "log_metric": lambda: mc_log_metric_loop(mc, sizes),
            "log_metrics_batched": lambda: mc_log_metrics_batched(mc, sizes),
            "run_creation": lambda: mc_run_creation(mc, sizes),
            "search_small": lambda: mc_search_small(mc, sizes),
            "metric_history": lambda: mc_metric_history(mc, sizes),
            "search_large": lambda: mc_search_large(mc, workdir / "large", sizes),
        }
        for name in WORKLOADS:
            if name == "search_small" and "error" in results.get("run_creation", {}):
                results[name] = {"error": "skipped: run_creation failed"}
                continue
            _log(f"{name} …")
            try:
                results[name] = steps[name]()
            except Exception:  # reported to the driver, which exits non-zero
                results[name] = {"error": traceback.format_exc()}
                _log(results[name]["error"])
    print(
        json.dumps(
            {
                "tool": "modelcycle",
                "version": version,
                "sizes": sizes.to_dict(),
                "workloads": results,
            }
        )
    )
    return 0


# --------------------------------------------------------------------------------------------
# The driver: runs both sides, compares, prints and saves.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    """One row of the report: how to read each side's figure and what the target is."""

    key: str
    title: str
    higher_is_better: bool
    """Throughput (per second) when true, else latency (median seconds)."""
    min_ratio: float
    """modelcycle must be at least this many times faster than MLflow."""
    max_seconds: float | None = None
    """An absolute bound on modelcycle's figure, for latencies."""
    unit: str = ""

    def target_text(self) -> str:
        parts = [f"≥ {self.min_ratio:g}× MLflow"]
        if self.max_seconds is not None:
            parts.insert(0, f"< {self.max_seconds * 1000:g} ms")
        return ", ".join(parts)


REPORT = (
    Workload("log_metric", "log_metric loop (flush included)", True, 500, unit="calls/s"),
    Workload("log_metrics_batched", "log_metrics batched", True, 30, unit="values/s"),
    Workload(
        "run_creation", "run creation (10 params, 5 metrics, 3 tags)", True, 20, unit="runs/s"
    ),
    Workload("search_small", "search_runs, SDK-created runs", False, 1),
    Workload("search_large", "search_runs, bulk-inserted runs", False, 1, max_seconds=0.1),
    Workload("metric_history", "metric history read", False, 1),
)


@dataclass(frozen=True)
class ImportProbe:
    """A fresh interpreter's start-up cost for one line of code on each side."""

    key: str
    title: str
    modelcycle_code: str
    mlflow_code: str
    max_seconds: float | None
    """The target on modelcycle's figure; ``None`` makes the row information only."""


IMPORT_PROBES = (
    ImportProbe(
        "import",
        "import modelcycle (median of 5)",
        "import modelcycle",
        "import mlflow",
        0.5,
    ),
    # The facade loads lazily, so the bare import says little about what a script waits for
    # before its first run; this row shows that cost, with no target of its own.
    ImportProbe(
        "import_run_api",
        "import + load start_run (median of 5)",
        "import modelcycle as mc; mc.start_run",
        "import mlflow; mlflow.start_run",
        None,
    ),
)


def _import_row(probe: ImportProbe, result: dict[str, Any]) -> dict[str, Any]:
    mine, theirs = result["modelcycle"], result["mlflow"]
    row: dict[str, Any] = {
        "workload": probe.key,
        "title": probe.title,
        "target": "—" if probe.max_seconds is None else f"< {probe.max_seconds:g} s",
        "notes": [],
        "modelcycle_text": "ERROR" if "error" in mine else f"{mine['seconds']:.3f} s",
        "mlflow_text": "ERROR" if "error" in theirs else f"{theirs['seconds']:.3f} s",
    }
    if "error" in mine or "error" in theirs:
        return {**row, "status": "ERROR", "ratio": None, "ratio_text": "—"}
    ratio = theirs["seconds"] / mine["seconds"] if mine["seconds"] > 0 else None
    if probe.max_seconds is None:
        status = "INFO"
    else:
        status = "PASS" if mine["seconds"] < probe.max_seconds else "MISS"
    return {
        **row,
        "modelcycle": mine["seconds"],
        "mlflow": theirs["seconds"],
        "ratio": ratio,
        "ratio_text": _ratio_text(ratio) if ratio else "—",
        "status": status,
    }


def _figure(result: dict[str, Any], work: Workload) -> float:
    return float(result["per_s"] if work.higher_is_better else result["median_s"])


def _ratio(mc_value: float, ml_value: float, higher_is_better: bool) -> float:
    """How many times faster modelcycle is (above 1) or slower (below 1)."""
    return mc_value / ml_value if higher_is_better else ml_value / mc_value


def _ratio_text(ratio: float) -> str:
    if ratio >= 1:
        return f"× {ratio:,.0f} faster" if ratio >= 10 else f"× {ratio:.1f} faster"
    return f"× {1 / ratio:.1f} slower"


COUNTED = {"log_metric": "calls", "log_metrics_batched": "values", "run_creation": "runs"}


def _describe(work: Workload, result: dict[str, Any]) -> str:
    """The figure and, under it, how much work produced it."""
    if "error" in result:
        return "ERROR"
    if work.higher_is_better:
        count = COUNTED[work.key]
        return (
            f"{result['per_s']:,.0f} {work.unit}\n"
            f"{result[count]:,} {count} in {result['seconds']:.2f} s"
        )
    size = f"{result['points']:,} points" if "points" in result else f"{result['runs']:,} runs"
    median_ms, first_ms = result["median_s"] * 1000, result["first_call_s"] * 1000
    return (
        f"{median_ms:,.1f} ms\n{size}, median of {result['repeats']}\n"
        f"first call {first_ms:,.1f} ms"
    )


def _checks(key: str, result: dict[str, Any], sizes: data.Sizes, side: str) -> list[str]:
    """Compare what a side returned with what the data says it must return."""
    problems: list[str] = []
    if key in ("search_small", "search_large"):
        n = sizes.runs if key == "search_small" else sizes.large_runs
        expected = data.expected_top_aucs(n)
        got = result.get("aucs", [])
        if len(got) != len(expected) or any(
            abs(a - b) > 1e-9 for a, b in zip(got, expected, strict=False)
        ):
            problems.append(
                f"{side} returned {len(got)} rows whose auc order differs from the "
                f"expected {len(expected)}"
            )
    elif key == "metric_history" and result.get("points") != sizes.history_points:
        problems.append(f"{side} read {result.get('points')} points, not {sizes.history_points:,}")
    elif key == "log_metric":
        calls = sizes.log_metric_calls if side == "modelcycle" else sizes.peer_log_metric_calls
        if result.get("points_stored") != calls:
            problems.append(f"{side} stored {result.get('points_stored')} of {calls:,} points")
    return problems


def compare(
    mc_res: dict[str, Any], ml_res: dict[str, Any], sizes: data.Sizes, imports: dict[str, Any]
) -> list[dict[str, Any]]:
    """One summary row per workload, with the verdict: PASS, MISS or ERROR."""
    rows: list[dict[str, Any]] = []
    for work in REPORT:
        mine = mc_res.get(work.key, {"error": "no result"})
        theirs = ml_res.get(work.key, {"error": "no result"})
        row: dict[str, Any] = {
            "workload": work.key,
            "title": work.title,
            "target": work.target_text(),
            "modelcycle_text": _describe(work, mine),
            "mlflow_text": _describe(work, theirs),
        }
        if "error" in mine or "error" in theirs:
            rows.append({**row, "status": "ERROR", "ratio": None, "ratio_text": "—", "notes": []})
            continue
        mc_value, ml_value = _figure(mine, work), _figure(theirs, work)
        ratio = _ratio(mc_value, ml_value, work.higher_is_better)
        notes = _checks(work.key, mine, sizes, "modelcycle") + _checks(
            work.key, theirs, sizes, "MLflow"
        )
        ok = ratio >= work.min_ratio and not any(n.startswith("modelcycle") for n in notes)
        if work.max_seconds is not None:
            ok = ok and mc_value < work.max_seconds
        rows.append(
            {
                **row,
                "modelcycle": mc_value,
                "mlflow": ml_value,
                "ratio": ratio,
                "ratio_text": _ratio_text(ratio),
                "status": "PASS" if ok else "MISS",
                "notes": notes,
            }
        )
    rows.extend(_import_row(probe, imports[probe.key]) for probe in IMPORT_PROBES)
    return rows


def print_report(rows: list[dict[str, Any]], meta: dict[str, Any]) -> None:
    """A rich table, wide enough to stay readable when the output goes to a file or a pipe."""
    from rich.console import Console

    console = Console(width=None if sys.stdout.isatty() else 140)
    sizes = meta["sizes"]
    table = _report.results_table(
        f"Tracking: modelcycle {meta['modelcycle']} vs MLflow {meta['mlflow']} "
        f"(SQLite, {meta['cpus']} cores{', --quick' if meta['quick'] else ''})",
        rows,
        f"MLflow {meta['mlflow']}",
        "mlflow_text",
    )
    console.print(table)
    console.print(
        f"Work done: log_metric loop: modelcycle {sizes['log_metric_calls']:,} calls, MLflow "
        f"{sizes['peer_log_metric_calls']:,} calls (rates compared); batched: "
        f"{sizes['batch_calls']} calls × {sizes['batch_width']:,} metrics each side; runs: "
        f"{sizes['runs']:,} each side; bulk search: {sizes['large_runs']:,} runs each side "
        f"(same rows); history: {sizes['history_points']:,} points each side.\n"
        f"Reads (search, history): median of up to {sizes['repeats']} calls (fewer once they "
        f"have taken {data.READ_BUDGET_S:g} s) after one untimed warm-up call, shown as 'first "
        "call'. Ratio: modelcycle over MLflow throughput, or MLflow over modelcycle latency.",
        highlight=False,
    )
    for row in rows:
        for note in row.get("notes", []):
            console.print(f"[yellow]check[/] {row['workload']}: {note}", highlight=False)


def _side(name: str, run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """A worker's workloads, or an error for each if the whole worker failed."""
    try:
        return run()["workloads"]
    except (_peers.WorkerFailed, subprocess.SubprocessError, OSError, ValueError) as exc:
        print(f"[driver] {name} worker failed: {exc}", file=sys.stderr)
        return {key: {"error": str(exc)} for key in WORKLOADS}


def _import_times(python: str, code: str) -> dict[str, Any]:
    try:
        return _peers.import_seconds(python, code)
    except Exception as exc:  # a broken import is a crash of that workload, not of the driver
        return {"code": code, "error": str(exc)}


def drive(quick: bool, keep: bool) -> int:
    sizes = data.sizes_for(quick)
    try:
        _peers.MLFLOW.check()
        mlflow_version = _peers.MLFLOW.version()
    except _peers.PeerUnavailable as exc:
        print(f"bench_tracking: {exc}", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="modelcycle-bench-tracking-"))
    mc_dir, ml_dir = tmp / "modelcycle", tmp / "mlflow"
    mc_dir.mkdir()
    ml_dir.mkdir()
    flags = ["--quick"] if quick else []
    try:
        started = time.perf_counter()
        mc_res = _side(
            "modelcycle",
            lambda: _peers.run_worker(
                sys.executable,
                Path(__file__).resolve(),
                ["--worker", "--workdir", str(mc_dir), *flags],
                env={"MODELCYCLE_URI": str(mc_dir / "main")},
                cwd=mc_dir,
            ),
        )
        ml_res = _side(
            "mlflow",
            lambda: _peers.run_worker(
                _peers.MLFLOW.python, MLFLOW_SCRIPT, ["--workdir", str(ml_dir), *flags], cwd=ml_dir
            ),
        )
        imports = {
            probe.key: {
                "modelcycle": _import_times(sys.executable, probe.modelcycle_code),
                "mlflow": _import_times(str(_peers.MLFLOW.python), probe.mlflow_code),
            }
            for probe in IMPORT_PROBES
        }
        elapsed = time.perf_counter() - started
    finally:
        if keep:
            print(f"[driver] stores kept in {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    meta = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "quick": quick,
        "modelcycle": importlib.metadata.version("modelcycle"),
        "mlflow": mlflow_version,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "sizes": sizes.to_dict(),
        "wall_s": elapsed,
    }
    rows = compare(mc_res, ml_res, sizes, imports)
    print_report(rows, meta)
    out = RESULTS_QUICK if quick else RESULTS
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "meta": meta,
                "summary": rows,
                "imports": imports,
                "modelcycle": mc_res,
                "mlflow": ml_res,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"Raw figures: {out.relative_to(HERE.parent)} (whole run {elapsed:.0f} s)")
    return 1 if any(row["status"] == "ERROR" for row in rows) else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: checks the script runs")
    parser.add_argument("--keep", action="store_true", help="keep the temporary stores")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.workdir, data.sizes_for(args.quick))
    return drive(args.quick, args.keep)


if __name__ == "__main__":
    sys.exit(main())
