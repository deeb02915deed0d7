"""Serving benchmark: ``modelcycle serve`` against ``mlflow models serve``, same model, same load.

Usage: ``python benchmarks/bench_serving.py [--quick] [--keep]`` from the project venv, after
``make bench`` has created ``.bench-venvs/mlflow`` and ``.bench-venvs/modelcycle-serve``.

Both servers serve a LogisticRegression on 20 features, trained on the same data by each side's
scikit-learn, one uvicorn worker each, on loopback, each from its own venv (modelcycle from
``.bench-venvs/modelcycle-serve``: what a deployment installs, without the project venv's test
tools). modelcycle serves it twice: with its own runtime (scikit-learn, the default) and with
``--runtime onnx`` (the ONNX twin saved beside it, no scikit-learn in the process). One load
generator (asyncio, keep-alive HTTP/1.1 connections, in this process) drives every server, one
after the other so they never share the 2 cores: one-row requests at concurrency 1, 16 and 64 for a
fixed time, then 1,000-row requests. It measures requests/s, p50 and p99 latency, cold start
(process start → first ready answer) and resident memory of the server's whole process tree after
the load. modelcycle logs every prediction by default and MLflow logs none, so memory is also
measured with ``--no-log-predictions`` (like for like with MLflow) after a concurrency-16 load. The
full run ends with a 60 s concurrency-64 soak of modelcycle that must see zero errors.

Exit status: 0 when every workload ran (a missed target is a finding), 1 when a workload crashed
or a server answered wrongly, 2 when the MLflow venv is missing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import importlib.metadata
import json
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _peers  # noqa: E402
import _report  # noqa: E402  (benchmarks/ is not a package; these helpers sit beside this file)

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "serving.json"
RESULTS_QUICK = HERE / "results" / "serving-quick.json"
MLFLOW_SCRIPT = HERE / "peers" / "mlflow_serve.py"

FEATURES = 20
TRAIN_ROWS = 5_000
CHECK_ROWS = 50
BODY_POOL = 64
"""Distinct one-row bodies the connections cycle through, so no answer is served from a cache."""
SEED = 20240601
READY_TIMEOUT_S = 120.0
REQUEST_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Sizes:
    seconds: float
    """Length of each timed load."""
    warmup_s: float
    soak_s: float
    """The zero-error concurrency-64 run of modelcycle; 0 skips it."""
    batch_rows: int = 1_000
    batch_concurrency: int = 4


def sizes_for(quick: bool) -> Sizes:
    return Sizes(seconds=2.0, warmup_s=0.5, soak_s=0.0) if quick else Sizes(10.0, 2.0, 60.0)


@dataclass(frozen=True)
class Runtime:
    key: str
    title: str
    args: tuple[str, ...]


RUNTIMES = (
    Runtime("native", "scikit-learn runtime", ()),
    Runtime("onnx", "--runtime onnx", ("--runtime", "onnx")),
)
MEMORY_TARGET_MIB = 150


@dataclass(frozen=True)
class Load:
    key: str
    title: str
    rows: int
    concurrency: int


def loads(sizes: Sizes) -> tuple[Load, ...]:
    return (
        Load("c1", "one-row requests, concurrency 1", 1, 1),
        Load("c16", "one-row requests, concurrency 16", 1, 16),
        Load("c64", "one-row requests, concurrency 64", 1, 64),
        Load(
            "batch",
            f"{sizes.batch_rows:,}-row requests, concurrency {sizes.batch_concurrency}",
            sizes.batch_rows,
            sizes.batch_concurrency,
        ),
    )


# --------------------------------------------------------------------------------------------
# The load generator: raw keep-alive HTTP/1.1 over asyncio streams. httpx would spend more CPU
# per request than the server under test, on the same 2 cores.
# --------------------------------------------------------------------------------------------


def request_bytes(path: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    at = lower.find(b"\r\ncontent-length:")
    if at < 0:
        raise ConnectionError("response without Content-Length")
    end = lower.find(b"\r\n", at + 2)
    body = await reader.readexactly(int(lower[at + 17 : end]))
    return status, body


async def _connection(
    port: int,
    requests: list[bytes],
    offset: int,
    deadline: float,
    latencies: list[float],
    errors: list[str],
) -> None:
    clock = time.perf_counter
    i = offset
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while clock() < deadline:
            started = clock()
            try:
                writer.write(requests[i % len(requests)])
                status, body = await asyncio.wait_for(_read_response(reader), REQUEST_TIMEOUT_S)
            except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            latencies.append(clock() - started)
            if status != 200:
                errors.append(f"HTTP {status}: {body[:200]!r}")
            i += 1
    finally:
        writer.close()


async def _drive(port: int, requests: list[bytes], concurrency: int, seconds: float) -> dict:
    latencies: list[float] = []
    errors: list[str] = []
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(
        *(_connection(port, requests, i, deadline, latencies, errors) for i in range(concurrency))
    )
    elapsed = time.perf_counter() - started
    latencies.sort()
    n = len(latencies)

    def pct(q: float) -> float:
        return latencies[min(n - 1, int(n * q))] if n else float("nan")

    return {
        "concurrency": concurrency,
        "seconds": elapsed,
        "requests": n,
        "errors": len(errors),
        "error_samples": errors[:5],
        "per_s": n / elapsed,
        "p50_s": pct(0.50),
        "p99_s": pct(0.99),
        "max_s": latencies[-1] if n else float("nan"),
    }


def run_load(port: int, requests: list[bytes], concurrency: int, seconds: float) -> dict:
    return _event_loop_runner()(_drive(port, requests, concurrency, seconds))


def _event_loop_runner() -> Any:
    try:
        import uvloop
    except ImportError:
        return asyncio.run
    return uvloop.run


# --------------------------------------------------------------------------------------------
# Data, models and servers.
# --------------------------------------------------------------------------------------------


def make_data(workdir: Path) -> None:
    """Training data and check rows, seeded, as .npy files both venvs read."""
    import numpy as np

    rng = np.random.default_rng(SEED)
    features = rng.normal(size=(TRAIN_ROWS, FEATURES))
    weights = rng.normal(size=FEATURES)
    target = (features @ weights + rng.normal(scale=0.5, size=TRAIN_ROWS) > 0).astype(np.int64)
    np.save(workdir / "X.npy", features)
    np.save(workdir / "y.npy", target)
    np.save(workdir / "check.npy", rng.normal(size=(CHECK_ROWS, FEATURES)))


def save_modelcycle_model(workdir: Path) -> tuple[Path, list[Any]]:
    """The same fit as the peer's, saved with ``save_model``; returns its predictions on the
    check rows."""
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    from modelcycle.registry.model_format import save_model

    columns = [f"f{i}" for i in range(FEATURES)]
    frame = pd.DataFrame(np.load(workdir / "X.npy"), columns=columns)
    model = LogisticRegression(max_iter=1000).fit(frame, np.load(workdir / "y.npy"))
    path = workdir / "modelcycle-model"
    save_model(model, path, input_example=frame.head(5), onnx=True)
    check = pd.DataFrame(np.load(workdir / "check.npy"), columns=columns)
    return path, model.predict(check).tolist()


def bodies(rows: int, count: int, seed: int) -> list[bytes]:
    """``dataframe_split`` bodies (the format both servers take) of ``rows`` random rows."""
    rng = random.Random(seed)
    columns = [f"f{i}" for i in range(FEATURES)]
    return [
        json.dumps(
            {
                "dataframe_split": {
                    "columns": columns,
                    "data": [[rng.gauss(0, 1) for _ in columns] for _ in range(rows)],
                }
            }
        ).encode()
        for _ in range(count)
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    cold_start_s: float
    log: Path


def _ready(port: int, path: str) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
            return sock.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


@contextlib.contextmanager
def serving(
    name: str, command: list[str], ready_path: str, port: int, env: dict[str, str], log: Path
) -> Iterator[Server]:
    """Start a server in its own process group; the clock runs from Popen to the first 200."""
    drop_cached_libraries(Path(command[0]).parent.parent)
    with log.open("wb") as sink:
        started = time.perf_counter()
        process = subprocess.Popen(
            command,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, **_peers.QUIET_ENV, **env},
            start_new_session=True,
        )
        try:
            while not _ready(port, ready_path):
                if process.poll() is not None:
                    raise _peers.WorkerFailed(
                        f"{name} server exited {process.returncode}:\n{log.read_text()[-2000:]}"
                    )
                if time.perf_counter() - started > READY_TIMEOUT_S:
                    raise _peers.WorkerFailed(f"{name} server not ready in {READY_TIMEOUT_S} s")
                time.sleep(0.01)
            yield Server(name, process, port, time.perf_counter() - started, log)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def drop_cached_libraries(venv: Path) -> None:
    """Evict the page cache of ``venv``'s shared libraries, so every server maps them as a
    server started from a settled install does.

    Libraries pip has just written sit in the page cache as large folios, which the kernel maps
    whole: a server started right after ``make bench`` created its venv measured ~45 MiB more
    resident (all of it file-backed) than the same server from an install an hour old. Done for
    every server, MLflow's included; the libraries are read back from disk as they load, so the
    cold start includes that read, as a new container's does."""
    for library in (venv / "lib").rglob("*.so*"):
        if library.is_file():
            descriptor = os.open(library, os.O_RDONLY)
            try:
                os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(descriptor)


def tree_memory_mib(pid: int) -> dict[str, float]:
    """Resident memory (``VmRSS``) of ``pid`` and every descendant, and the anonymous part of it
    (``RssAnon``: heap and arrays, without the shared libraries' mapped pages). MLflow's CLI
    stays as the parent of its uvicorn process, and both are part of what serving costs."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    totals = {"VmRSS:": 0, "RssAnon:": 0}
    stack = [pid]
    while stack:
        current = stack.pop()
        stack.extend(children.get(current, []))
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                key = line.split(maxsplit=1)[0] if line else ""
                if key in totals:
                    totals[key] += int(line.split()[1])
    return {"rss": totals["VmRSS:"] / 1024, "anon": totals["RssAnon:"] / 1024}


def check_predictions(port: int, expected: list[Any], workdir: Path) -> str | None:
    """POST the check rows; a mismatch with the model's own predictions is the answer."""
    import numpy as np

    check = np.load(workdir / "check.npy").tolist()
    body = json.dumps(
        {"dataframe_split": {"columns": [f"f{i}" for i in range(FEATURES)], "data": check}}
    ).encode()

    async def one() -> tuple[int, bytes]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request_bytes("/invocations", body))
        try:
            return await _read_response(reader)
        finally:
            writer.close()

    status, answer = asyncio.run(one())
    if status != 200:
        return f"HTTP {status}: {answer[:300]!r}"
    got = json.loads(answer)["predictions"]
    return None if got == expected else f"predictions differ: {got[:5]} vs {expected[:5]}"


def measure_side(
    server: Server, sizes: Sizes, expected: list[Any], workdir: Path
) -> dict[str, Any]:
    """Every load against one running server, then its memory."""
    result: dict[str, Any] = {
        "cold_start_s": server.cold_start_s,
        "idle_memory_mib": tree_memory_mib(server.process.pid),
    }
    result["check"] = check_predictions(server.port, expected, workdir)
    one_row = [request_bytes("/invocations", b) for b in bodies(1, BODY_POOL, SEED)]
    run_load(server.port, one_row, 4, sizes.warmup_s)
    for load in loads(sizes):
        if load.rows == 1:
            requests = one_row
        else:
            requests = [request_bytes("/invocations", b) for b in bodies(load.rows, 4, SEED + 1)]
        print(f"[driver] {server.name}: {load.title} for {sizes.seconds:g} s", file=sys.stderr)
        figures = run_load(server.port, requests, load.concurrency, sizes.seconds)
        figures["rows_per_s"] = figures["per_s"] * load.rows
        result[load.key] = figures
    result["memory_mib"] = tree_memory_mib(server.process.pid)
    return result


def measure_memory_only(server: Server, sizes: Sizes) -> dict[str, Any]:
    """The concurrency-16 one-row load alone, then the process tree's memory."""
    one_row = [request_bytes("/invocations", b) for b in bodies(1, BODY_POOL, SEED)]
    run_load(server.port, one_row, 4, sizes.warmup_s)
    figures = run_load(server.port, one_row, 16, sizes.seconds)
    return {
        "cold_start_s": server.cold_start_s,
        "errors": figures["errors"],
        "memory_mib": tree_memory_mib(server.process.pid),
    }


# --------------------------------------------------------------------------------------------
# The report.
# --------------------------------------------------------------------------------------------


def _ratio_text(ratio: float | None) -> str:
    if ratio is None:
        return "—"
    if ratio >= 1:
        return f"× {ratio:,.0f} better" if ratio >= 10 else f"× {ratio:.1f} better"
    return f"× {1 / ratio:.1f} worse"


def _load_text(figures: dict[str, Any], rows: int) -> str:
    if "error" in figures:
        return "ERROR"
    rate = (
        f"{figures['per_s']:,.0f} req/s"
        if rows == 1
        else f"{figures['rows_per_s']:,.0f} rows/s\n{figures['per_s']:,.1f} req/s"
    )
    errors = f", {figures['errors']} errors" if figures["errors"] else ""
    return (
        f"{rate}\np50 {figures['p50_s'] * 1000:,.2f} ms, p99 {figures['p99_s'] * 1000:,.2f} ms"
        f"{errors}"
    )


def _memory_text(side: dict[str, Any]) -> str:
    after, idle = side["memory_mib"], side["idle_memory_mib"]
    return (
        f"{after['rss']:,.0f} MiB\n(anonymous {after['anon']:,.0f})\nidle {idle['rss']:,.0f} MiB"
    )


def compare(
    mine: dict[str, dict[str, Any]], theirs: dict[str, Any], sizes: Sizes
) -> list[dict[str, Any]]:
    """The report's rows: each modelcycle runtime against MLflow, workload by workload."""
    rows: list[dict[str, Any]] = []

    def add(title: str, mc: str, ml: str, ratio: float | None, target: str, ok: bool | None):
        status = "INFO" if ok is None else ("PASS" if ok else "MISS")
        rows.append(
            {
                "title": title,
                "modelcycle_text": mc,
                "mlflow_text": ml,
                "ratio": ratio,
                "ratio_text": _ratio_text(ratio),
                "target": target,
                "status": status,
            }
        )

    for runtime in RUNTIMES:
        side = mine.get(runtime.key)
        if not side:
            continue
        prefix = f"[{runtime.title}] "
        for load in loads(sizes):
            a, b = side.get(load.key, {"error": 1}), theirs.get(load.key, {"error": 1})
            title = prefix + load.title
            if "error" in a or "error" in b:
                add(title, _load_text(a, load.rows), _load_text(b, load.rows), None, "", None)
                rows[-1]["status"] = "ERROR"
                continue
            ratio = a["per_s"] / b["per_s"] if b["per_s"] else None
            clean = a["errors"] == 0
            if load.key == "c16":
                add(
                    title + ": throughput",
                    _load_text(a, 1),
                    _load_text(b, 1),
                    ratio,
                    "≥ 10× MLflow req/s",
                    clean and ratio is not None and ratio >= 10,
                )
                p99_ratio = b["p99_s"] / a["p99_s"]
                add(
                    title + ": p99 latency",
                    f"{a['p99_s'] * 1000:,.2f} ms",
                    f"{b['p99_s'] * 1000:,.2f} ms",
                    p99_ratio,
                    "≤ 1/10 of MLflow's p99",
                    clean and p99_ratio >= 10,
                )
            else:
                add(title, _load_text(a, load.rows), _load_text(b, load.rows), ratio, "—", None)
                if not clean:
                    rows[-1]["status"] = "MISS"
        add(
            prefix + "cold start (process start → ready)",
            f"{side['cold_start_s']:.2f} s",
            f"{theirs['cold_start_s']:.2f} s",
            theirs["cold_start_s"] / side["cold_start_s"],
            "< 2 s",
            side["cold_start_s"] < 2.0,
        )
        add(
            prefix + "resident memory after the loads, logging every prediction (MLflow logs "
            "none)",
            _memory_text(side),
            _memory_text(theirs),
            theirs["memory_mib"]["rss"] / side["memory_mib"]["rss"],
            "—",
            None,
        )
        unlogged = side.get("no_log")
        if unlogged is not None:
            rss = unlogged["memory_mib"]["rss"]
            add(
                prefix + "resident memory after a concurrency-16 load, --no-log-predictions "
                "(like for like)",
                f"{rss:,.0f} MiB\n(anonymous {unlogged['memory_mib']['anon']:,.0f})",
                f"{theirs['memory_mib']['rss']:,.0f} MiB",
                theirs["memory_mib"]["rss"] / rss,
                f"< {MEMORY_TARGET_MIB} MiB",
                unlogged["errors"] == 0 and rss < MEMORY_TARGET_MIB,
            )
    soak = mine.get("native", {}).get("soak")
    if soak is not None:
        add(
            f"soak: {soak['seconds']:.0f} s one-row requests, concurrency 64",
            f"{soak['requests']:,} requests\n{soak['errors']} errors\n"
            f"p99 {soak['p99_s'] * 1000:,.2f} ms",
            "—",
            None,
            "zero errors",
            soak["errors"] == 0,
        )
    return rows


def print_report(rows: list[dict[str, Any]], meta: dict[str, Any]) -> None:
    from rich.console import Console

    console = Console(width=None if sys.stdout.isatty() else 140)
    table = _report.results_table(
        f"Serving: modelcycle {meta['modelcycle']} vs MLflow {meta['mlflow']} "
        f"(LogisticRegression, {FEATURES} features, 1 worker each, {meta['cpus']} cores"
        f"{', --quick' if meta['quick'] else ''})",
        rows,
        f"mlflow models serve {meta['mlflow']}",
        "mlflow_text",
    )
    console.print(table)
    console.print(
        f"Each load runs {meta['sizes']['seconds']:g} s after a {meta['sizes']['warmup_s']:g} s "
        "warm-up, from one asyncio load generator with keep-alive connections (as many as the "
        "concurrency); bodies are `dataframe_split` JSON. Ratio: modelcycle over MLflow "
        "throughput, or MLflow over modelcycle latency, time and memory. "
        f"Load average: {meta['loadavg_start']} at the start, {meta['loadavg_end']} at the end.",
        highlight=False,
    )
    for note in meta["notes"]:
        console.print(f"[yellow]check[/] {note}", highlight=False)


# --------------------------------------------------------------------------------------------


def drive(quick: bool, keep: bool) -> int:
    sizes = sizes_for(quick)
    try:
        _peers.MLFLOW.check()
        mlflow_version = _peers.MLFLOW.version()
    except _peers.PeerUnavailable as exc:
        print(f"bench_serving: {exc}", file=sys.stderr)
        return 2
    loadavg_start = " ".join(f"{x:.2f}" for x in os.getloadavg())
    workdir = Path(tempfile.mkdtemp(prefix="modelcycle-bench-serving-"))
    notes: list[str] = []
    crashed = False
    started = time.perf_counter()
    mine: dict[str, dict[str, Any]] = {}
    theirs: dict[str, Any] = {}
    installed = "project venv"
    try:
        make_data(workdir)
        model_dir, mc_expected = save_modelcycle_model(workdir)
        peer = _peers.run_worker(
            _peers.MLFLOW.python, MLFLOW_SCRIPT, ["--workdir", str(workdir)], cwd=workdir
        )
        executable, installed = serving_executable(notes)
        for runtime in RUNTIMES:
            try:
                mine[runtime.key] = measure_runtime(
                    runtime, executable, model_dir, sizes, mc_expected, workdir
                )
            except _peers.WorkerFailed as exc:
                crashed = True
                notes.append(f"modelcycle {runtime.title}: {exc}")
        port = free_port()
        venv_bin = _peers.MLFLOW.python.parent
        ml_command = [
            str(venv_bin / "mlflow"),
            "models",
            "serve",
            "-m",
            peer["path"],
            "--env-manager",
            "local",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]
        ml_env = {"PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}"}
        try:
            with serving(
                "mlflow", ml_command, "/ping", port, ml_env, workdir / "ml.log"
            ) as server:
                theirs = measure_side(server, sizes, peer["check"], workdir)
        except _peers.WorkerFailed as exc:
            crashed = True
            notes.append(f"mlflow: {exc}")
    finally:
        elapsed = time.perf_counter() - started
        if keep:
            print(f"[driver] work directory kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    sides = [(f"modelcycle {r.title}", mine.get(r.key, {})) for r in RUNTIMES]
    for side, figures in [*sides, ("MLflow", theirs)]:
        if figures.get("check"):
            notes.append(f"{side}: {figures['check']}")
            crashed = crashed or side.startswith("modelcycle")
    if mc_expected != peer["check"]:
        notes.append("the two fits predict differently on the check rows (scikit-learn versions)")
    meta = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "quick": quick,
        "modelcycle": importlib.metadata.version("modelcycle"),
        "modelcycle_venv": installed,
        "mlflow": mlflow_version,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "sizes": sizes.__dict__,
        "wall_s": elapsed,
        "loadavg_start": loadavg_start,
        "loadavg_end": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "notes": notes,
    }
    rows = compare(mine, theirs, sizes) if mine and theirs else []
    print_report(rows, meta)
    out = RESULTS_QUICK if quick else RESULTS
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps({"meta": meta, "summary": rows, "modelcycle": mine, "mlflow": theirs}, indent=2)
        + "\n"
    )
    print(f"Raw figures: {out.relative_to(HERE.parent)} (whole run {elapsed:.0f} s)")
    return 1 if crashed or not rows else 0


def serving_executable(notes: list[str]) -> tuple[str, str]:
    """The ``modelcycle`` command to serve with, and where it is installed: the deployment venv
    ``make bench`` creates, else (with a note) the project venv, whose test tools (dask, pytest)
    scikit-learn and skops import too, adding start-up time and memory no deployment has."""
    try:
        _peers.SERVING.check()
    except _peers.PeerUnavailable:
        notes.append(
            "modelcycle served from the project venv (no .bench-venvs/modelcycle-serve): "
            "dask and pytest there add to start-up time and memory"
        )
        return str(Path(sys.executable).with_name("modelcycle")), "project venv"
    return str(_peers.SERVING.venv / "bin" / "modelcycle"), str(
        _peers.SERVING.venv.relative_to(_peers.REPO)
    )


def measure_runtime(
    runtime: Runtime,
    executable: str,
    model_dir: Path,
    sizes: Sizes,
    expected: list[Any],
    workdir: Path,
) -> dict[str, Any]:
    """Every load against ``modelcycle serve`` with this runtime (and the soak, for the default
    one), then a second server without the prediction log, for memory like for like."""

    def command(port: int, *extra: str) -> list[str]:
        return [executable, "serve", str(model_dir), "--port", str(port), *runtime.args, *extra]

    name = f"modelcycle {runtime.title}"
    port = free_port()
    log = workdir / f"mc-{runtime.key}.log"
    with serving(name, command(port), "/v2/health/ready", port, {}, log) as server:
        side = measure_side(server, sizes, expected, workdir)
        if sizes.soak_s and runtime.key == "native":
            print(f"[driver] {name}: soak {sizes.soak_s:g} s", file=sys.stderr)
            one_row = [request_bytes("/invocations", b) for b in bodies(1, BODY_POOL, 7)]
            side["soak"] = run_load(port, one_row, 64, sizes.soak_s)
            side["memory_after_soak_mib"] = tree_memory_mib(server.process.pid)
    port = free_port()
    log = workdir / f"mc-{runtime.key}-no-log.log"
    unlogged = command(port, "--no-log-predictions")
    print(f"[driver] {name}: memory without the prediction log", file=sys.stderr)
    with serving(name, unlogged, "/v2/health/ready", port, {}, log) as server:
        side["no_log"] = measure_memory_only(server, sizes)
    return side


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short loads, no soak")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    return drive(args.quick, args.keep)


if __name__ == "__main__":
    sys.exit(main())
