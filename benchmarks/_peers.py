"""Peer tools' virtual environments, and running a workload script in one.

Each peer (MLflow, …) lives in its own venv, ``.bench-venvs/NAME``, made by ``make bench``, so
its pins never touch ours. A workload runs as a subprocess of that venv's interpreter: it writes
progress to stderr and, as its last stdout line, one JSON object that the driver reads.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BENCH_VENVS = REPO / ".bench-venvs"
STAMP = ".installed"
"""Written by the Makefile after the peer's pip install succeeded; a venv without it is partial."""


class PeerUnavailable(RuntimeError):
    """The peer's venv is missing or incomplete: the comparison cannot be made."""


class WorkerFailed(RuntimeError):
    """A workload subprocess exited non-zero or printed no JSON result."""


@dataclass(frozen=True)
class Peer:
    """A peer tool installed in its own venv."""

    name: str
    """Directory under ``.bench-venvs`` and the distribution whose version is reported."""
    distribution: str

    @property
    def venv(self) -> Path:
        return BENCH_VENVS / self.name

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def check(self) -> None:
        """Raise :class:`PeerUnavailable` with the command that fixes it."""
        if not self.python.exists() or not (self.venv / STAMP).exists():
            raise PeerUnavailable(
                f"peer venv {self.venv.relative_to(REPO)} is missing or incomplete; "
                "`make bench` creates it (it needs PyPI)."
            )

    def version(self) -> str:
        """The installed version, read in the peer's venv (not imported: that is slow)."""
        self.check()
        code = f"import importlib.metadata as m; print(m.version({self.distribution!r}))"
        out = subprocess.run(
            [str(self.python), "-c", code], capture_output=True, text=True, check=True
        )
        return out.stdout.strip()


MLFLOW = Peer(name="mlflow", distribution="mlflow")
SERVING = Peer(name="modelcycle-serve", distribution="modelcycle")
"""modelcycle as a deployment installs it (``.[sklearn,server,onnx]``, editable): what
``modelcycle serve`` is measured in, without the test and benchmark tools of the project venv."""

# Peers that phone home on import or on every run would spend their time on network time-outs
# here (no internet); turning telemetry off measures the tool, not the firewall.
QUIET_ENV = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "GIT_PYTHON_REFRESH": "quiet",
    "PYTHONUNBUFFERED": "1",
}


def run_worker(
    python: Path | str,
    script: Path,
    args: list[str],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 3_600,
) -> dict[str, Any]:
    """Run ``script`` under ``python`` and return the JSON object of its last stdout line.

    stderr is inherited so the worker's progress shows live; stdout is captured whole, since the
    worker redirects everything but its result to stderr.
    """
    full_env = {**os.environ, **QUIET_ENV, **(env or {})}
    proc = subprocess.run(
        [str(python), str(script), *args],
        stdout=subprocess.PIPE,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=timeout,
        check=False,
    )
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0 or not lines:
        tail = "\n".join(lines[-5:])
        raise WorkerFailed(f"{script.name} under {python} exited {proc.returncode}\n{tail}")
    try:
        result: dict[str, Any] = json.loads(lines[-1])
    except json.JSONDecodeError as exc:
        raise WorkerFailed(f"{script.name} printed no JSON result: {lines[-1][:200]!r}") from exc
    return result


def import_seconds(python: Path | str, code: str, repeats: int = 5) -> dict[str, Any]:
    """Median wall time of ``python -c CODE`` minus that of ``python -c pass``.

    Fresh interpreters each time, interleaved so a noisy moment hits both commands alike.
    """
    env = {**os.environ, **QUIET_ENV}
    bare: list[float] = []
    loaded: list[float] = []
    for _ in range(repeats):
        for command, sink in (("pass", bare), (code, loaded)):
            start = time.perf_counter()
            subprocess.run([str(python), "-c", command], env=env, check=True)
            sink.append(time.perf_counter() - start)
    bare.sort()
    loaded.sort()
    return {
        "code": code,
        "seconds": loaded[repeats // 2] - bare[repeats // 2],
        "interpreter_s": bare[repeats // 2],
        "repeats": repeats,
    }


def interpreter() -> str:
    """Our own interpreter (the project venv's when run through ``make bench``)."""
    return sys.executable
