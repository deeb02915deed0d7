"""Data benchmark: drift and profiles against Evidently, ``data add`` against DVC and raw blake3.

Usage: ``python benchmarks/bench_data.py [--quick] [--keep]`` from the project venv, after
``make bench`` has created ``.bench-venvs/evidently`` and ``.bench-venvs/dvc``.

Quality: the driver writes seeded reference and current frames (20 numeric and 5 categorical
columns, five of them shifted) to Parquet once; modelcycle and Evidently each read them in their
own subprocess, and only the drift or profile computation is timed, never the read.

``data add``: a random file of 1 GiB and 10,000 random files of 10 KiB, written once to a
temporary directory; modelcycle (``mc.data.add`` into a fresh store), DVC (``dvc add`` into a
fresh ``dvc init --no-scm`` repository) and raw blake3 hashing of the same bytes each run in their
own process, on the same disk, one after the other. The page cache cannot be dropped without root,
so every side starts warm instead: the driver flushes dirty pages (``sync``) and reads every input
byte once before each side. Each add is its own process, whose peak RSS the driver reads
(``wait4``).

Every figure is printed beside the peer's with the ratio, the target and PASS/MISS, and written
to ``benchmarks/results/data.json`` (``data-quick.json`` for ``--quick``).

Exit status: 0 when every workload ran (a missed target is a finding, not a failure), 1 when a
workload crashed on either side, 2 when a peer's venv is missing.
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
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _data_workloads as data  # noqa: E402  (benchmarks/ is not a package)
import _peers  # noqa: E402
import _report  # noqa: E402

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "data.json"
RESULTS_QUICK = HERE / "results" / "data-quick.json"
EVIDENTLY_SCRIPT = HERE / "peers" / "evidently_drift.py"
DVC_SCRIPT = HERE / "peers" / "dvc_add.py"
EVIDENTLY = _peers.Peer(name="evidently", distribution="evidently")
DVC = _peers.Peer(name="dvc", distribution="dvc")
PEER_ENV = {"DVC_NO_ANALYTICS": "1"}
ADD_TIMEOUT_S = 1_800.0
NO_FSYNC = "_no_fsync"
"""Suffix of the workloads run with ``MODELCYCLE_OBJECTS_FSYNC=false``: the durability DVC and
raw copies have (neither flushes to disk), so their ratios compare like with like."""
MIB = 1024 * 1024
SHORT_NAMES = {
    "evidently": "Evidently",
    "dvc": "dvc add",
    "blake3": "raw blake3",
    "copy": "raw copy",
}


def _log(message: str) -> None:
    print(f"[modelcycle] {message}", file=sys.stderr, flush=True)


def _driver_log(message: str) -> None:
    print(f"[driver] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# Workers: each runs in a subprocess of this interpreter (``--worker KIND``) and prints one JSON
# line, so modelcycle starts as fresh as its peers and a crash cannot take the driver down.
# --------------------------------------------------------------------------------------------


def _column_names(columns: Any) -> list[str]:
    """``DriftReport.drifted_columns`` as names, whether it holds names or column objects."""
    names = []
    for column in columns:
        name = column if isinstance(column, str) else getattr(column, "column", None)
        names.append(str(name if name is not None else getattr(column, "name", column)))
    return sorted(names)


def quality_worker(frames: Path, sizes: data.Sizes) -> int:
    """``mc.quality.drift`` per frame size and ``mc.quality.profile``; the read is untimed."""
    import pandas as pd

    results: dict[str, Any] = {}

    def read(rows: int, side: str) -> pd.DataFrame:
        return pd.read_parquet(frames / data.frame_name(rows, side))

    with contextlib.redirect_stdout(sys.stderr):
        import modelcycle as mc

        try:
            _log("warm-up on 1,000 rows (untimed) …")
            small = sizes.drift_rows[0]
            mc.quality.drift(
                read(small, "reference").head(1_000), read(small, "current").head(1_000)
            )
            mc.quality.profile(read(small, "current").head(1_000))
        except Exception:  # the timed calls below report the same error per workload
            _log(traceback.format_exc())
        for rows in sizes.drift_rows:
            key = f"drift_{rows}"
            _log(f"drift, {rows:,} rows …")
            try:
                reference, current = read(rows, "reference"), read(rows, "current")
                timing, report = data.time_calls(
                    lambda ref=reference, cur=current: mc.quality.drift(ref, cur), sizes.repeats
                )
                results[key] = {
                    "rows": rows,
                    "columns": len(current.columns),
                    **timing,
                    "drifted_columns": _column_names(report.drifted_columns),
                    "dataset_drift": bool(report.dataset_drift),
                }
            except Exception:  # reported to the driver, which exits non-zero
                results[key] = {"error": traceback.format_exc()}
                _log(results[key]["error"])
        _log(f"profile, {sizes.profile_rows:,} rows …")
        try:
            current = read(sizes.profile_rows, "current")
            timing, _ = data.time_calls(lambda: mc.quality.profile(current), sizes.repeats)
            results["profile"] = {
                "rows": sizes.profile_rows,
                "columns": len(current.columns),
                **timing,
            }
        except Exception:
            results["profile"] = {"error": traceback.format_exc()}
            _log(results["profile"]["error"])
    print(json.dumps({"tool": "modelcycle", "workloads": results, **_rss()}))
    return 0


def add_worker(path: Path, name: str) -> int:
    """One ``mc.data.add`` into the store ``MODELCYCLE_URI`` names; store creation untimed."""
    with contextlib.redirect_stdout(sys.stderr):
        import modelcycle as mc
        from modelcycle.data._fluent import data_service

        data_service()  # creates and migrates the store, as `dvc init` does, before the clock
        with data.AnonPeak() as anon:
            start = time.perf_counter()
            version = mc.data.add(str(path), name=name)
            seconds = time.perf_counter() - start
    print(
        json.dumps(
            {
                "seconds": seconds,
                "name": str(getattr(version, "name", "")),
                "version": str(getattr(version, "version", "")),
                "hash": str(getattr(version, "hash", "")),
                "peak_anon_mb": anon.peak_mb,
                **_rss(),
            }
        )
    )
    return 0


def hash_worker(path: Path) -> int:
    """Raw blake3 of the same bytes: the physical limit of hashing them on this machine.

    A file is hashed by ``update_mmap`` with blake3's own threads; a folder by a thread pool of
    one hasher per file (blake3 releases the GIL), listing included.
    """
    import blake3

    start = time.perf_counter()
    if path.is_file():
        digest = blake3.blake3(max_threads=blake3.blake3.AUTO).update_mmap(str(path)).hexdigest()
        files = 1
    else:

        def one(file: Path) -> str:
            return blake3.blake3(file.read_bytes()).hexdigest()

        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            digests = list(pool.map(one, data.iter_files(path)))
        digest = blake3.blake3("".join(digests).encode()).hexdigest()
        files = len(digests)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "files": files, "digest": digest, **_rss()}))
    return 0


def copy_worker(path: Path, dest: Path) -> int:
    """A plain copy of the same bytes (``shutil.copyfile``, no fsync): what storing costs alone."""
    start = time.perf_counter()
    if path.is_file():
        shutil.copyfile(path, dest / path.name)
        files = 1
    else:
        shutil.copytree(path, dest / path.name, copy_function=shutil.copyfile)
        files = sum(1 for _ in data.iter_files(dest / path.name))
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "files": files, **_rss()}))
    return 0


def _rss() -> dict[str, float]:
    return {"peak_rss_mb": data.peak_rss_mb()}


# --------------------------------------------------------------------------------------------
# The driver: writes the inputs, runs every side, compares, prints and saves.
# --------------------------------------------------------------------------------------------


def run_measured(
    cmd: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None
) -> dict[str, Any]:
    """Run one worker; return its JSON (with its own peak RSS) plus its process wall time.

    The peak RSS is the one the worker reads itself (``VmHWM``). ``os.wait4`` gives the rusage of
    that child alone, kept as ``wait4_maxrss_mb``, but on Linux a child's ``ru_maxrss`` starts at
    the parent's peak at fork, i.e. the driver's, so it is an upper bound only.
    """
    full_env = {**os.environ, **_peers.QUIET_ENV, **PEER_ENV, **(env or {})}
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=full_env, cwd=cwd)
    timer = threading.Timer(ADD_TIMEOUT_S, proc.kill)
    timer.start()
    try:
        assert proc.stdout is not None
        out = proc.stdout.read()
        proc.stdout.close()
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    lines = [line for line in out.splitlines() if line.strip()]
    if proc.returncode != 0 or not lines:
        return {
            "error": f"{' '.join(cmd[:3])} … exited {proc.returncode}\n" + "\n".join(lines[-5:])
        }
    try:
        result: dict[str, Any] = json.loads(lines[-1])
    except json.JSONDecodeError:
        return {"error": f"no JSON result: {lines[-1][:200]!r}"}
    return {**result, "process_wall_s": wall, "wait4_maxrss_mb": usage.ru_maxrss / 1024}


def write_frames(frames: Path, sizes: data.Sizes) -> float:
    """Every reference and current frame as Parquet (categoricals as plain strings)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    start = time.perf_counter()
    wanted = {(rows, side) for rows in sizes.drift_rows for side in ("reference", "current")}
    wanted.add((sizes.profile_rows, "current"))
    for rows, side in sorted(wanted):
        columns = data.frame_columns(rows, side)
        table = pa.table({name: pa.array(columns[name]) for name in data.COLUMNS})
        pq.write_table(table, frames / data.frame_name(rows, side))
    return time.perf_counter() - start


def stored_bytes(root: Path) -> int:
    return sum(f.stat().st_size for f in data.iter_files(root)) if root.exists() else 0


def median_run(
    repeats: int,
    path: Path,
    command: Callable[[int], list[str]],
    *,
    env: Callable[[int], dict[str, str]] | None = None,
    cwd: Path | None = None,
) -> dict[str, Any]:
    """Run a worker ``repeats`` times, each from a warm start, and keep the median run.

    One run of a sub-second workload on a two-core machine moves by a factor of two with whatever
    else runs; the median of three does not. Every run's time is kept as ``runs_s``.
    """
    results = []
    for attempt in range(repeats):
        prepare(path)
        result = run_measured(command(attempt), env=env(attempt) if env else None, cwd=cwd)
        if "error" in result:
            return result
        results.append(result)
    results.sort(key=lambda result: result["seconds"])
    return {**results[len(results) // 2], "runs_s": [result["seconds"] for result in results]}


def prepare(path: Path) -> float:
    """Flush dirty pages, then read every input byte once: each side starts equally warm."""
    start = time.perf_counter()
    os.sync()
    data.warm(path)
    return time.perf_counter() - start


def add_sides(tmp: Path, sizes: data.Sizes) -> dict[str, dict[str, Any]]:
    """blake3, a plain copy, modelcycle (with and without fsync), then DVC on the big file; the
    same on the small ones.

    Each input gets its own DVC repository (the input lives in its workspace, as ``dvc add``
    requires) and its own modelcycle stores, all fresh: in one shared repository DVC's second add
    took twice as long or more here, which would measure the order of the workloads, not DVC.
    """
    results: dict[str, dict[str, Any]] = {"blake3": {}, "copy": {}, "modelcycle": {}, "dvc": {}}
    for key, write in (("add_big", data.write_big), ("add_small", data.write_small)):
        repo = tmp / f"dvc-{key}"
        repo.mkdir()
        start = time.perf_counter()
        path = write(repo, sizes)
        count, size = sum(1 for _ in data.iter_files(path)), data.warm(path)
        label = f"{key}: {count:,} file(s), {size / MIB:,.0f} MiB"
        _driver_log(f"{label}: written in {time.perf_counter() - start:.1f} s")
        for side, measured in measure_input(tmp, key, path, label, sizes.repeats).items():
            measured.update({"files": count, "bytes": size})
            if side.startswith(key):  # modelcycle's runs, keyed by their variant
                results["modelcycle"][side] = measured
            else:
                results[side][key] = measured
        _driver_log(f"{label}: dvc add …")
        prepare(path)
        results["dvc"][key] = run_measured(
            [
                str(DVC.python),
                str(DVC_SCRIPT),
                "--repo",
                ".",
                "--target",
                str(path.relative_to(repo)),
                "--init",
            ],
            cwd=repo,
        )
        results["dvc"][key].update(
            {"stored_bytes": stored_bytes(repo / ".dvc" / "cache"), "files": count, "bytes": size}
        )
        shutil.rmtree(repo, ignore_errors=True)  # 1 GiB: do not keep it through the next one
    return results


def measure_input(
    tmp: Path, key: str, path: Path, label: str, repeats: int
) -> dict[str, dict[str, Any]]:
    """raw blake3, a raw copy and modelcycle's add with and without fsync, each the median of
    ``repeats`` runs (DVC takes seconds, so one run of it is noise enough).

    Returns ``{"blake3": …, "copy": …, key: …, key + NO_FSYNC: …}``.
    """
    me = str(Path(__file__).resolve())
    _driver_log(f"{label}: raw blake3 …")
    measured = {
        "blake3": median_run(
            repeats, path, lambda _: [sys.executable, me, "--worker", "hash", str(path)]
        )
    }
    _driver_log(f"{label}: raw copy …")
    copies = [tmp / f"raw-copy-{key}-{attempt}" for attempt in range(repeats)]
    for copy in copies:
        copy.mkdir()
    measured["copy"] = median_run(
        repeats,
        path,
        lambda attempt: [
            sys.executable,
            me,
            "--worker",
            "copy",
            str(path),
            "--dest",
            str(copies[attempt]),
        ],
    )
    for copy in copies:
        shutil.rmtree(copy, ignore_errors=True)
    for suffix, fsync in (("", "true"), (NO_FSYNC, "false")):
        _driver_log(f"{label}: modelcycle data add, objects.fsync={fsync} …")
        stores = [tmp / f"modelcycle-{key}{suffix}-{attempt}" for attempt in range(repeats)]
        result = median_run(
            repeats,
            path,
            lambda _: [sys.executable, me, "--worker", "add", str(path), "--name", key],
            env=lambda attempt: {
                "MODELCYCLE_URI": str(stores[attempt]),  # noqa: B023  (called within this turn)
                "MODELCYCLE_OBJECTS_FSYNC": fsync,  # noqa: B023
            },
            cwd=tmp,
        )
        result["stored_bytes"] = stored_bytes(stores[0])
        measured[f"{key}{suffix}"] = result
        for store in stores:
            shutil.rmtree(store, ignore_errors=True)
    return measured


# --------------------------------------------------------------------------------------------
# Comparison and report.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One line of the report: which figures are compared and what the target is."""

    key: str
    """The workload's key in both sides' results."""
    title: str
    peer: str
    """``evidently``, ``dvc`` or ``blake3``."""
    figure: str
    """``median_s`` or ``seconds`` (lower is better), or ``peak_rss_mb``."""
    min_ratio: float | None = None
    """modelcycle must be at least this many times faster than the peer."""
    max_slowdown: float | None = None
    """modelcycle may take at most this many times the peer's time."""
    max_value: float | None = None
    """An absolute bound on modelcycle's figure (seconds or MB)."""
    ours: str | None = None
    """modelcycle's workload key when it differs from the peer's (a variant of the same input)."""

    def target_text(self, peer_name: str) -> str:
        unit = "MB" if self.figure == "peak_rss_mb" else "s"
        parts = []
        if self.max_value is not None:
            parts.append(f"< {self.max_value:g} {unit}")
        if self.min_ratio is not None:
            parts.append(f"≥ {self.min_ratio:g}× faster than {peer_name}")
        if self.max_slowdown is not None:
            parts.append(f"≤ {self.max_slowdown:g}× {peer_name}'s time")
        return ", ".join(parts) or "— (information)"


def report_rows(sizes: data.Sizes) -> tuple[Row, ...]:
    small_rows, large_rows = sizes.drift_rows
    big = (
        f"{sizes.big_file_bytes / 1024**3:g} GiB"
        if sizes.big_file_bytes >= 1024**3
        else (f"{sizes.big_file_bytes // MIB} MiB")
    )
    files = f"{sizes.small_files:,} × {sizes.small_file_bytes // 1024} KiB"
    fast = f"data add, {big} file, objects.fsync=false (no flush, as DVC)"
    return (
        Row(f"drift_{small_rows}", f"drift, {small_rows:,} rows", "evidently", "median_s"),
        Row(
            f"drift_{large_rows}",
            f"drift, {large_rows:,} rows",
            "evidently",
            "median_s",
            min_ratio=30,
            max_value=3,
        ),
        Row(
            "profile",
            f"data-quality profile, {sizes.profile_rows:,} rows",
            "evidently",
            "median_s",
            max_value=3,
        ),
        Row("add_big", f"data add, {big} file (fsync, durable)", "dvc", "seconds"),
        Row("add_big", f"data add, {big} file (fsync, durable)", "blake3", "seconds"),
        Row("add_big", fast, "dvc", "seconds", min_ratio=4, ours=f"add_big{NO_FSYNC}"),
        Row("add_big", fast, "blake3", "seconds", max_slowdown=2.5, ours=f"add_big{NO_FSYNC}"),
        Row("add_big", fast, "copy", "seconds", ours=f"add_big{NO_FSYNC}"),
        Row("add_big", f"peak RSS, data add {big}", "dvc", "peak_rss_mb", max_value=300),
        Row("add_small", f"data add, {files} files", "dvc", "seconds", min_ratio=4),
        Row("add_small", f"data add, {files} files", "blake3", "seconds"),
        Row("add_small", f"data add, {files} files", "copy", "seconds"),
    )


def _seconds_text(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds < 1 else f"{seconds:,.2f} s"


def _describe(row: Row, result: dict[str, Any]) -> str:
    if "error" in result:
        return "ERROR"
    if row.figure == "peak_rss_mb":
        anon = result.get("peak_anon_mb")
        own = "" if anon is None else f"\nanonymous {anon:,.0f} MB (sampled)"
        return f"{result['peak_rss_mb']:,.0f} MB{own}"
    value = _seconds_text(result[row.figure])
    if row.figure == "median_s":
        return f"{value}\nmedian of {result['repeats']}"
    if "bytes" in result and result[row.figure] > 0:
        return f"{value}\n{result['bytes'] / MIB / result[row.figure]:,.0f} MiB/s"
    return value


def _ratio_text(ratio: float) -> str:
    if ratio >= 1:
        return f"× {ratio:,.0f} faster" if ratio >= 10 else f"× {ratio:.1f} faster"
    return f"× {1 / ratio:.1f} slower"


def _drift_checks(key: str, result: dict[str, Any], side: str) -> tuple[list[str], bool]:
    """Notes on a drift answer, and whether it missed a shifted column (a wrong answer)."""
    if not key.startswith("drift_") or "error" in result:
        return [], False
    got = set(result.get("drifted_columns", []))
    missed = sorted(set(data.SHIFTED) - got)
    extra = sorted(got - set(data.SHIFTED))
    notes = []
    if missed:
        notes.append(f"{side} did not flag the shifted column(s) {', '.join(missed)}")
    if extra:
        notes.append(f"{side} also flagged unshifted {', '.join(extra)} (information)")
    return notes, bool(missed)


def compare(
    sides: dict[str, dict[str, Any]], versions: dict[str, str], sizes: data.Sizes
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    names = {
        "evidently": f"Evidently {versions['evidently']}",
        "dvc": f"dvc add {versions['dvc']}",
        "blake3": f"raw blake3 {versions['blake3']}",
        "copy": "raw copy (copyfile)",
    }
    for row in report_rows(sizes):
        mine = sides["modelcycle"].get(row.ours or row.key, {"error": "no result"})
        theirs = sides[row.peer].get(row.key, {"error": "no result"})
        out: dict[str, Any] = {
            "workload": row.key,
            "title": row.title,
            "peer": names[row.peer],
            "target": row.target_text(SHORT_NAMES[row.peer]),
            "modelcycle_text": _describe(row, mine),
            "peer_text": f"{names[row.peer]}\n{_describe(row, theirs)}",
            "notes": [],
        }
        if "error" in mine or "error" in theirs:
            rows.append({**out, "status": "ERROR", "ratio": None, "ratio_text": "—"})
            continue
        mc_value, peer_value = float(mine[row.figure]), float(theirs[row.figure])
        ratio = peer_value / mc_value if mc_value > 0 else float("inf")
        notes: list[str] = []
        wrong = False
        if row.figure != "peak_rss_mb":
            mine_notes, wrong = _drift_checks(row.key, mine, "modelcycle")
            notes = mine_notes + _drift_checks(row.key, theirs, names[row.peer])[0]
        checks = []
        if row.min_ratio is not None:
            checks.append(ratio >= row.min_ratio)
        if row.max_slowdown is not None:
            checks.append(mc_value <= row.max_slowdown * peer_value)
        if row.max_value is not None:
            checks.append(mc_value < row.max_value)
        if checks:
            status = "PASS" if all(checks) and not wrong else "MISS"
        else:
            status = "MISS" if wrong else "INFO"
        rows.append(
            {
                **out,
                "modelcycle": mc_value,
                "peer_value": peer_value,
                "ratio": ratio,
                "ratio_text": (
                    f"{mc_value / peer_value:.2f}× the memory"
                    if row.figure == "peak_rss_mb"
                    else _ratio_text(ratio)
                ),
                "status": status,
                "notes": notes,
            }
        )
    return rows


def print_report(rows: list[dict[str, Any]], meta: dict[str, Any]) -> None:
    from rich.console import Console

    console = Console(width=None if sys.stdout.isatty() else 150)
    table = _report.results_table(
        f"Data: modelcycle {meta['modelcycle']} vs Evidently {meta['evidently']}, "
        f"DVC {meta['dvc']}, raw blake3 ({meta['cpus']} cores"
        f"{', --quick' if meta['quick'] else ''})",
        rows,
        "peer",
        "peer_text",
    )
    console.print(table)
    sizes = meta["sizes"]
    console.print(
        f"Frames: reference and current of the same row count, {len(data.NUMERIC)} numeric + "
        f"{len(data.CATEGORICAL)} categorical columns, shifted: {', '.join(data.SHIFTED)}. Both "
        "sides read the same Parquet files; only the drift/profile call is timed, not the read "
        "(Evidently's time includes Dataset.from_pandas). Median of up to "
        f"{sizes['repeats']} calls (fewer once they took {data.READ_BUDGET_S:g} s), after an "
        "untimed warm-up on 1,000 rows. Evidently's profile is its DataSummaryPreset.\n"
        "data add: same files, same disk, one process per add; every side warm (sync, then "
        "every input byte read once before it; the page cache cannot be dropped without root). "
        "Times are of the call (mc.data.add, dvc's Repo.add, the hashing, the copy), without "
        "interpreter start-up or store creation; by default modelcycle flushes every new object "
        "to disk before recording it (MODELCYCLE_OBJECTS_FSYNC=true), which DVC and a raw copy "
        "do not, so the targets are checked on the run without the flush; peak RSS is the "
        "process's own VmHWM, which counts the resident "
        "pages of memory-mapped files too; 'anonymous' is the sampled peak of its RssAnon.\n"
        f"Load average (1, 5, 15 min) at start {_load(meta['loadavg_start'])}, at end "
        f"{_load(meta['loadavg_end'])}: on {meta['cpus']} cores, anything else running skews "
        "these figures.",
        highlight=False,
    )
    for row in rows:
        for note in row.get("notes", []):
            console.print(f"[yellow]check[/] {row['workload']}: {note}", highlight=False)


def _load(values: tuple[float, ...]) -> str:
    return "/".join(f"{v:.1f}" for v in values)


def _quality_side(name: str, run: Callable[[], dict[str, Any]], keys: list[str]) -> dict:
    try:
        return run()["workloads"]
    except (_peers.WorkerFailed, subprocess.SubprocessError, OSError, ValueError) as exc:
        print(f"[driver] {name} worker failed: {exc}", file=sys.stderr)
        return {key: {"error": str(exc)} for key in keys}


def drive(quick: bool, keep: bool) -> int:
    sizes = data.sizes_for(quick)
    try:
        versions = {peer.name: peer.version() for peer in (EVIDENTLY, DVC)}
    except _peers.PeerUnavailable as exc:
        print(f"bench_data: {exc}", file=sys.stderr)
        return 2
    versions["blake3"] = importlib.metadata.version("blake3")
    flags = ["--quick"] if quick else []
    quality_keys = [f"drift_{rows}" for rows in sizes.drift_rows] + ["profile"]
    tmp = Path(tempfile.mkdtemp(prefix="modelcycle-bench-data-"))
    load_start = os.getloadavg()
    started = time.perf_counter()
    try:
        frames = tmp / "frames"
        frames.mkdir()
        seconds = write_frames(frames, sizes)
        print(f"[driver] wrote the Parquet frames in {seconds:.1f} s", file=sys.stderr)
        me = Path(__file__).resolve()
        mc_quality = _quality_side(
            "modelcycle",
            lambda: _peers.run_worker(
                sys.executable,
                me,
                ["--worker", "quality", str(frames), *flags],
                env={"MODELCYCLE_URI": str(tmp / "modelcycle-quality")},
                cwd=tmp,
            ),
            quality_keys,
        )
        ev_quality = _quality_side(
            "evidently",
            lambda: _peers.run_worker(
                EVIDENTLY.python, EVIDENTLY_SCRIPT, ["--frames", str(frames), *flags], cwd=tmp
            ),
            quality_keys,
        )
        shutil.rmtree(frames)
        adds = add_sides(tmp, sizes)
    finally:
        if keep:
            print(f"[driver] inputs and stores kept in {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    elapsed = time.perf_counter() - started
    sides = {
        "modelcycle": {**mc_quality, **adds["modelcycle"]},
        "evidently": ev_quality,
        "dvc": adds["dvc"],
        "blake3": adds["blake3"],
        "copy": adds["copy"],
    }
    meta = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "quick": quick,
        "modelcycle": importlib.metadata.version("modelcycle"),
        **versions,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "sizes": sizes.to_dict(),
        "wall_s": elapsed,
        "loadavg_start": load_start,
        "loadavg_end": os.getloadavg(),
    }
    rows = compare(sides, versions, sizes)
    print_report(rows, meta)
    out = RESULTS_QUICK if quick else RESULTS
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"meta": meta, "summary": rows, **sides}, indent=2) + "\n")
    print(f"Raw figures: {out.relative_to(HERE.parent)} (whole run {elapsed:.0f} s)")
    return 1 if any(row["status"] == "ERROR" for row in rows) else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: checks the script runs")
    parser.add_argument("--keep", action="store_true", help="keep the temporary inputs and stores")
    parser.add_argument(
        "--worker", choices=("quality", "add", "hash", "copy"), help=argparse.SUPPRESS
    )
    parser.add_argument("path", nargs="?", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--name", help=argparse.SUPPRESS)
    parser.add_argument("--dest", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker == "quality":
        return quality_worker(args.path, data.sizes_for(args.quick))
    if args.worker == "add":
        return add_worker(args.path, args.name)
    if args.worker == "hash":
        return hash_worker(args.path)
    if args.worker == "copy":
        return copy_worker(args.path, args.dest)
    return drive(args.quick, args.keep)


if __name__ == "__main__":
    sys.exit(main())
