"""Batch-scoring benchmark: ``modelcycle predict`` over 10M rows of Parquet.

Usage: ``python benchmarks/bench_batch.py [--quick] [--keep]`` from the project venv.

The driver writes the data once into a temporary directory: a LogisticRegression fitted on 20
float features (with column names, as a user's DataFrame gives them) and saved with
``save_model``, and a Parquet file of 10,000,000 rows of the same 20 features (1,000,000 with
``--quick``) in pyarrow's default 1Mi-row row groups. Then it scores that file twice, each in a
fresh interpreter, one after the other:

- ``score_files``: the Python API, called in a worker process; the clock covers the call only.
- CLI: ``python -m modelcycle predict MODEL IN OUT --json``, timed from outside, so interpreter
  start, imports and model loading count.

Each reports rows/s and the process's peak resident memory (``ru_maxrss``); the driver checks
that every row came out and that a sample of predictions equals ``model.predict``. No peer runs:
``mlflow models predict`` builds a conda or virtualenv environment per call and would measure
that. Target: ≥ 1M rows/s. Raw figures go to ``benchmarks/results/batch.json``
(``batch-quick.json`` for ``--quick``).

Exit status: 0 when every workload ran (a missed target is a finding), 1 when one crashed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _peers  # noqa: E402
import _report  # noqa: E402  (benchmarks/ is not a package; these helpers sit beside this file)

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "batch.json"
RESULTS_QUICK = HERE / "results" / "batch-quick.json"
FEATURES = 20
FULL_ROWS = 10_000_000
QUICK_ROWS = 1_000_000
WRITE_CHUNK = 1_000_000
SAMPLE_ROWS = 100_000
TARGET_ROWS_PER_S = 1_000_000


def _log(message: str) -> None:
    print(f"[bench_batch] {message}", file=sys.stderr, flush=True)


def feature_names() -> list[str]:
    return [f"f{i:02d}" for i in range(FEATURES)]


def make_data(directory: Path, rows: int) -> tuple[Path, Path]:
    """The model directory and the input file, written in 1M-row slices (bounded memory)."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq
    from sklearn.linear_model import LogisticRegression

    from modelcycle.registry.model_format import save_model

    rng = np.random.default_rng(0)
    weights = rng.normal(size=FEATURES)
    names = feature_names()
    train = pd.DataFrame(rng.normal(size=(10_000, FEATURES)), columns=names)
    labels = (train.to_numpy() @ weights + rng.normal(size=len(train)) > 0).astype(np.int64)
    model_dir = directory / "model"
    save_model(LogisticRegression().fit(train, labels), model_dir, input_example=train.head(5))
    source = directory / "input.parquet"
    schema = pa.schema([(name, pa.float64()) for name in names])
    with pq.ParquetWriter(source, schema) as writer:
        for start in range(0, rows, WRITE_CHUNK):
            block = rng.normal(size=(min(WRITE_CHUNK, rows - start), FEATURES))
            writer.write_table(pa.Table.from_arrays(list(block.T), schema=schema))
    return model_dir, source


def peak_rss_bytes() -> int:
    """This process's peak resident memory. Linux's ``VmHWM`` belongs to the process image, so
    it starts afresh at ``exec``; ``ru_maxrss`` would start at the driver's figure, which a
    forked child inherits."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return usage if sys.platform == "darwin" else usage * 1024


_CLI_WRAPPER = """
import json, sys
sys.path.insert(0, {here!r})
from bench_batch import peak_rss_bytes
from modelcycle.cli.main import main
sys.argv = ["modelcycle", *{args!r}]
try:
    main()
finally:
    with open({rss_file!r}, "w") as f:
        json.dump(peak_rss_bytes(), f)
"""
"""``modelcycle`` run as its console script does, and its peak memory written on the way out."""


# ----------------------------------------------------------------------------------------------
# Workers: each runs in a fresh interpreter.
# ----------------------------------------------------------------------------------------------


def api_worker(model_dir: Path, source: Path, output: Path) -> int:
    """Call ``score_files`` and print its figures and this process's peak RSS as JSON."""
    from modelcycle.serving.batch import score_files

    start = time.perf_counter()
    result = score_files(model_dir, source, output)
    seconds = time.perf_counter() - start
    figures = {
        "rows": result.rows,
        "seconds": seconds,
        "rows_per_s": result.rows / seconds,
        "peak_rss_bytes": peak_rss_bytes(),
    }
    print(json.dumps(figures), flush=True)
    return 0


def run_cli(model_dir: Path, source: Path, output: Path) -> dict[str, Any]:
    """``modelcycle predict … --json`` in a fresh interpreter, timed from outside."""
    args = ["predict", str(model_dir), str(source), str(output), "--json"]
    rss_file = output.with_name("cli-rss.json")
    code = _CLI_WRAPPER.format(here=str(HERE), args=args, rss_file=str(rss_file))
    start = time.perf_counter()
    proc = subprocess.run(
        [_peers.interpreter(), "-c", code],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, **_peers.QUIET_ENV},
        check=False,
    )
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        tail = proc.stdout[-500:]
        raise _peers.WorkerFailed(f"modelcycle predict exited {proc.returncode}: {tail}")
    document = json.loads(proc.stdout)
    return {
        "rows": document["rows"],
        "seconds": seconds,
        "rows_per_s": document["rows"] / seconds,
        "inner_rows_per_s": document["rows_per_second"],
        "peak_rss_bytes": json.loads(rss_file.read_text()),
    }


# ----------------------------------------------------------------------------------------------
# Driver
# ----------------------------------------------------------------------------------------------


def check_output(model_dir: Path, output: Path, rows: int) -> list[str]:
    """Problems with an output: a row count other than the input's, or a sample of predictions
    that differs from ``model.predict`` on the same rows."""
    import pyarrow.parquet as pq

    from modelcycle.registry.model_format import load_model

    problems = []
    parquet = pq.ParquetFile(output)
    if parquet.metadata.num_rows != rows:
        problems.append(f"wrote {parquet.metadata.num_rows:,} rows, not {rows:,}")
    sample = next(parquet.iter_batches(batch_size=SAMPLE_ROWS)).to_pandas()
    model = load_model(model_dir)
    wanted = model.predict(sample[feature_names()])
    if not (sample["prediction"].to_numpy() == wanted).all():
        problems.append(f"predictions of the first {len(sample):,} rows differ from model.predict")
    return problems


def _measure(name: str, run: Any, model_dir: Path, output: Path, rows: int) -> dict[str, Any]:
    _log(f"{name}: scoring {rows:,} rows")
    try:
        figures = run()
    except (_peers.WorkerFailed, subprocess.SubprocessError, OSError, ValueError) as exc:
        _log(f"{name} failed: {exc}")
        return {"error": str(exc)}
    figures["problems"] = check_output(model_dir, output, rows)
    rss_mib = figures["peak_rss_bytes"] / 2**20
    _log(f"{name}: {figures['rows_per_s']:,.0f} rows/s, peak RSS {rss_mib:,.0f} MiB")
    output.unlink()
    os.sync()
    return figures


def summary_rows(results: dict[str, dict[str, Any]], input_bytes: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    titles = {
        "api": "score_files (in-process), rows/s",
        "cli": "modelcycle predict (CLI end to end), rows/s",
    }
    for key, title in titles.items():
        figures = results[key]
        base = {"workload": key, "title": title, "peer_text": "—", "ratio_text": "—"}
        if "error" in figures:
            rows.append({**base, "modelcycle_text": "error", "target": "", "status": "ERROR"})
            continue
        ok = figures["rows_per_s"] >= TARGET_ROWS_PER_S and not figures["problems"]
        rows.append(
            {
                **base,
                "modelcycle": figures["rows_per_s"],
                "modelcycle_text": f"{figures['rows_per_s']:,.0f}",
                "target": f"≥ {TARGET_ROWS_PER_S:,}",
                "status": "PASS" if ok else "MISS",
                "notes": figures["problems"],
            }
        )
        rows.append(
            {
                "workload": f"{key}_rss",
                "title": f"  peak resident memory ({key})",
                "modelcycle": figures["peak_rss_bytes"],
                "modelcycle_text": f"{figures['peak_rss_bytes'] / 2**20:,.0f} MiB",
                "peer_text": "—",
                "ratio_text": "—",
                "target": f"flat (input file {input_bytes / 2**20:,.0f} MiB)",
                "status": "INFO",
            }
        )
    return rows


def drive(quick: bool, keep: bool) -> int:
    from rich.console import Console

    rows = QUICK_ROWS if quick else FULL_ROWS
    tmp = Path(tempfile.mkdtemp(prefix="modelcycle-bench-batch-"))
    started = time.perf_counter()
    try:
        _log(f"writing {rows:,} rows × {FEATURES} features to {tmp}")
        model_dir, source = make_data(tmp, rows)
        input_bytes = source.stat().st_size
        os.sync()  # the input's dirty pages reach the disk now, not during the first run
        output = tmp / "scored.parquet"
        api = _measure(
            "score_files",
            lambda: _peers.run_worker(
                _peers.interpreter(), Path(__file__).resolve(),
                ["--worker", str(model_dir), str(source), str(output)],
            ),  # fmt: skip
            model_dir, output, rows,
        )  # fmt: skip
        cli = _measure("CLI", lambda: run_cli(model_dir, source, output), model_dir, output, rows)
    finally:
        if keep:
            _log(f"data kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    results = {"api": api, "cli": cli}
    summary = summary_rows(results, input_bytes)
    meta = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "quick": quick,
        "rows": rows,
        "features": FEATURES,
        "input_bytes": input_bytes,
        "modelcycle": importlib.metadata.version("modelcycle"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "wall_s": time.perf_counter() - started,
    }
    console = Console(width=None if sys.stdout.isatty() else 140)
    console.print(
        _report.results_table(
            f"Batch scoring: LogisticRegression, {rows:,} rows × {FEATURES} features of Parquet "
            f"({meta['cpus']} cores{', --quick' if quick else ''})",
            summary,
            "peer",
            "peer_text",
        )
    )
    console.print(
        "No peer: `mlflow models predict` creates an environment per call, so it would measure "
        "environment creation, not scoring. The CLI figure counts interpreter start, imports "
        "and model loading.",
        highlight=False,
    )
    for row in summary:
        for note in row.get("notes", []):
            console.print(f"[yellow]check[/] {row['workload']}: {note}", highlight=False)
    out = RESULTS_QUICK if quick else RESULTS
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"meta": meta, "summary": summary, **results}, indent=2) + "\n")
    print(f"Raw figures: {out.relative_to(HERE.parent)} (whole run {meta['wall_s']:.0f} s)")
    return 1 if any(row["status"] == "ERROR" for row in summary) else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ROWS:,} rows, not 10M")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data")
    parser.add_argument("--worker", nargs=3, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return api_worker(*args.worker)
    return drive(args.quick, args.keep)


if __name__ == "__main__":
    sys.exit(main())
