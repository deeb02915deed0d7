"""Server benchmark: modelcycle's client and server against MLflow's, same workloads, same data.

Usage: ``python benchmarks/bench_server.py [--quick]`` from the project venv, after ``make bench``
has created ``.bench-venvs/mlflow``.

Each server runs alone on a loopback port over a fresh SQLite store: ``modelcycle server`` (auth
on, as deployed; the client sends an admin token) and ``mlflow server`` (no auth: it has none by
default). Each client runs as a subprocess of its own venv, one side after the other, so they
never share the 2 cores. Workloads: a ``log_metric`` loop (modelcycle's client buffers and sends
batches; MLflow's sends one request per call), batched logging (``log_metrics`` of 1,000 keys;
MLflow's ``log_batch``), and the search latency over runs created through each server. Prints
figures and ratios; raw figures go to ``benchmarks/results/server.json`` (``server-quick.json``).

Exit status: 0 when every workload ran (a missed target is a finding), 1 when one crashed, 2 when
the MLflow venv is missing.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _peers  # noqa: E402
import _report  # noqa: E402
import _server_workloads as work  # noqa: E402
import _tracking_data as data  # noqa: E402

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "server.json"
RESULTS_QUICK = HERE / "results" / "server-quick.json"
MLFLOW_SCRIPT = HERE / "peers" / "mlflow_server.py"
TARGETS = {"log_metric": 100.0, "log_metrics_batched": 10.0, "search": 1.0}
TITLES = {
    "log_metric": "log_metric loop through the server",
    "log_metrics_batched": "log_metrics batched (1,000 keys a call)",
    "search": "search_runs latency",
}


# --------------------------------------------------------------------------------------------
# The modelcycle client side (``--worker``): the SDK with MODELCYCLE_URI=http://….
# --------------------------------------------------------------------------------------------


def worker(quick: bool) -> int:
    sizes = (work.QUICK if quick else work.FULL)["modelcycle"]
    results: dict[str, Any] = {}
    with contextlib.redirect_stdout(sys.stderr):
        import modelcycle as mc

        adapter = work.Client(
            start_run=lambda experiment: mc.start_run(experiment=experiment),
            log_metrics=lambda run, metrics, step: run.log_metrics(metrics, step=step),
            history_length=lambda run, key: len(mc.get_metric_history(run.id, key)),
            search=lambda experiment: [
                float(v)
                for v in mc.search_runs(
                    experiment=experiment,
                    filter=data.SEARCH_FILTER,
                    order_by=data.SEARCH_ORDER_BY,
                    limit=data.SEARCH_LIMIT,
                )["metrics.auc"]
            ],
        )

        def create_run(spec: data.RunData) -> None:
            with mc.start_run(
                experiment=work.EXP_SEARCH, params=spec.params, tags=spec.tags
            ) as run:
                run.log_metrics(spec.metrics, step=0)

        steps = {
            "log_metric": lambda: work.log_metric_loop(adapter, sizes),
            "log_metrics_batched": lambda: work.log_metrics_batched(adapter, sizes),
            "search": lambda: work.search(adapter, create_run, sizes),
        }
        for name, step in steps.items():
            print(f"[modelcycle] {name} …", file=sys.stderr, flush=True)
            try:
                results[name] = step()
            except Exception:
                results[name] = {"error": traceback.format_exc()}
                print(results[name]["error"], file=sys.stderr)
    version = mc.__version__
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
# The driver: starts each server, runs its client, compares.
# --------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited {process.returncode}:\n{log.read_text()[-2000:]}")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 (loopback)
                if answer.status == 200:
                    return
        time.sleep(0.2)
    raise RuntimeError(f"server not ready at {url}:\n{log.read_text()[-2000:]}")


@contextlib.contextmanager
def _server(
    command: list[str], ready_url: str, env: dict[str, str], workdir: Path
) -> Iterator[None]:
    log = workdir / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command,
            cwd=workdir,
            env={**os.environ, **_peers.QUIET_ENV, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_ready(ready_url, process, log)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def run_modelcycle(workdir: Path, quick: bool) -> dict[str, Any]:
    store = workdir / "store"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELCYCLE_")}
    env["MODELCYCLE_URI"] = str(store)
    made = subprocess.run(
        [
            sys.executable,
            "-m",
            "modelcycle",
            "users",
            "create",
            "bench",
            "--role",
            "admin",
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    token = json.loads(made.stdout)["token"]
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        "-m",
        "modelcycle",
        "server",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    with _server(command, f"{url}/api/v1/health/ready", {"MODELCYCLE_URI": str(store)}, workdir):
        client_env = {"MODELCYCLE_URI": url, "MODELCYCLE_TOKEN": token}
        return _peers.run_worker(
            sys.executable,
            Path(__file__),
            ["--worker", *(["--quick"] if quick else [])],
            env=client_env,
        )


def run_mlflow(workdir: Path, quick: bool) -> dict[str, Any]:
    _peers.MLFLOW.check()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        str(_peers.MLFLOW.venv / "bin" / "mlflow"),
        "server",
        "--backend-store-uri",
        f"sqlite:///{workdir / 'mlflow.db'}",
        "--default-artifact-root",
        str(workdir / "artifacts"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    with _server(command, f"{url}/health", {}, workdir):
        return _peers.run_worker(
            _peers.MLFLOW.python, MLFLOW_SCRIPT, [url, *(["--quick"] if quick else [])]
        )


def compare(mine: dict[str, Any], theirs: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for key, title in TITLES.items():
        a, b = mine["workloads"].get(key, {}), theirs["workloads"].get(key, {})
        row: dict[str, Any] = {
            "workload": key,
            "title": title,
            "target": f"≥ {TARGETS[key]:g}× MLflow",
            "notes": [],
        }
        if "error" in a or "error" in b:
            rows.append(
                {
                    **row,
                    "status": "ERROR",
                    "ratio": None,
                    "ratio_text": "—",
                    "modelcycle_text": "ERROR" if "error" in a else "ok",
                    "mlflow_text": "ERROR" if "error" in b else "ok",
                }
            )
            continue
        if key == "search":
            ratio = b["median_s"] / a["median_s"]
            texts = [
                f"{s['median_s'] * 1000:,.1f} ms\nmedian over {s['runs']:,} runs" for s in (a, b)
            ]
            correct = a["correct"]
        else:
            ratio = a["per_s"] / b["per_s"]
            unit = "calls/s" if key == "log_metric" else "values/s"
            count = "calls" if key == "log_metric" else "values"
            texts = [
                f"{s['per_s']:,.0f} {unit}\n{s[count]:,} {count} in {s['seconds']:.2f} s"
                for s in (a, b)
            ]
            correct = key != "log_metric" or a["points_stored"] == a["calls"]
        status = "PASS" if ratio >= TARGETS[key] and correct else "MISS"
        rows.append(
            {
                **row,
                "status": status,
                "ratio": ratio,
                "ratio_text": f"× {ratio:,.1f} faster"
                if ratio >= 1
                else f"× {1 / ratio:.1f} slower",
                "modelcycle_text": texts[0],
                "mlflow_text": texts[1],
                "notes": [] if correct else ["modelcycle's answer is wrong"],
            }
        )
    return rows


def drive(quick: bool) -> int:
    from rich.console import Console

    try:
        _peers.MLFLOW.check()
    except _peers.PeerUnavailable as exc:
        print(f"bench_server: {exc}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    root = Path(tempfile.mkdtemp(prefix="mc-bench-server-"))
    try:
        (root / "modelcycle").mkdir()
        (root / "mlflow").mkdir()
        print("modelcycle server …", file=sys.stderr, flush=True)
        mine = run_modelcycle(root / "modelcycle", quick)
        print("mlflow server …", file=sys.stderr, flush=True)
        theirs = run_mlflow(root / "mlflow", quick)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    rows = compare(mine, theirs)
    meta = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "quick": quick,
        "mlflow_version": theirs.get("version"),
        "modelcycle_version": mine.get("version"),
        "sizes": {"modelcycle": mine.get("sizes"), "mlflow": theirs.get("sizes")},
        "wall_s": time.perf_counter() - started,
    }
    title = "modelcycle server vs mlflow server (SQLite, loopback)" + (" — quick" if quick else "")
    Console().print(
        _report.results_table(title, rows, f"MLflow {meta['mlflow_version']}", "mlflow_text")
    )
    out = RESULTS_QUICK if quick else RESULTS
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps({"meta": meta, "summary": rows, "modelcycle": mine, "mlflow": theirs}, indent=2)
        + "\n"
    )
    print(f"Raw figures: {out.relative_to(HERE.parent)} (whole run {meta['wall_s']:.0f} s)")
    return 1 if any(row["status"] == "ERROR" for row in rows) else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: checks the script runs")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    return worker(args.quick) if args.worker else drive(args.quick)


if __name__ == "__main__":
    sys.exit(main())
