"""Run every ``benchmarks/bench_*.py``, one after the other, and summarise how each ended.

Usage: ``python benchmarks/run_all.py [--quick] [NAME ...]`` (``make bench`` runs it with no
arguments; NAME picks benchmarks, e.g. ``tracking`` for ``bench_tracking.py``).

Benchmarks are not tests: a missed target is printed as MISS and the exit status stays 0. The
status is non-zero only when a benchmark could not do its job: a workload crashed (exit 1) or a
peer's venv is missing (exit 2). Each benchmark runs in its own interpreter so one cannot slow or
break the next.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def discover(names: list[str]) -> list[Path]:
    """``bench_*.py`` beside this file, sorted; filtered to ``names`` when any are given."""
    scripts = sorted(HERE.glob("bench_*.py"))
    if names:
        wanted = {name.removeprefix("bench_").removesuffix(".py") for name in names}
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in wanted]
        missing = wanted - {s.stem.removeprefix("bench_") for s in scripts}
        if missing:
            raise SystemExit(f"run_all: no benchmark named {', '.join(sorted(missing))}")
    return scripts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small sizes on every benchmark: checks that the scripts run",
    )
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    args = parser.parse_args(argv)
    outcomes: list[tuple[str, int, float]] = []
    for script in discover(args.names):
        print(f"\n=== {script.name}{' --quick' if args.quick else ''} ===", flush=True)
        start = time.perf_counter()
        code = subprocess.run(
            [sys.executable, str(script), *(["--quick"] if args.quick else [])], check=False
        ).returncode
        outcomes.append((script.name, code, time.perf_counter() - start))
    print("\n=== summary ===")
    for name, code, seconds in outcomes:
        verdict = "ran" if code == 0 else f"FAILED (exit {code})"
        print(f"{name:<32} {verdict:<18} {seconds:7.1f} s")
    if not outcomes:
        print("no bench_*.py found")
    return 0 if all(code == 0 for _, code, _ in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
