"""Evidently's side of the data benchmark; runs in ``.bench-venvs/evidently``, never in our venv.

Usage::

    .bench-venvs/evidently/bin/python benchmarks/peers/evidently_drift.py --frames DIR [--quick]

Reads the Parquet frames the driver wrote to DIR (untimed), then times Evidently's 0.7 API the
way its documentation shows it: ``Report([DataDriftPreset()]).run(current, reference)`` for
drift and ``Report([DataSummaryPreset()]).run(current)`` for the data-quality summary. The clock
covers wrapping the frames in ``Dataset.from_pandas`` (with a ``DataDefinition`` naming the 20
numeric and 5 categorical columns, so Evidently guesses no types) and the report run, not the
Parquet read. One untimed run on 1,000 rows first loads everything lazy.
Progress goes to stderr; the last stdout line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import sys
import traceback
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _data_workloads as data  # noqa: E402  (shared with the driver)
import pandas as pd  # noqa: E402
from evidently import DataDefinition, Dataset, Report  # noqa: E402
from evidently.presets import DataDriftPreset, DataSummaryPreset  # noqa: E402

DEFINITION = DataDefinition(
    numerical_columns=list(data.NUMERIC), categorical_columns=list(data.CATEGORICAL)
)


def log(message: str) -> None:
    print(f"[evidently] {message}", file=sys.stderr, flush=True)


def dataset(frame: pd.DataFrame) -> Dataset:
    return Dataset.from_pandas(frame, data_definition=DEFINITION)


def drift_report(reference: pd.DataFrame, current: pd.DataFrame) -> Any:
    return Report([DataDriftPreset()]).run(
        current_data=dataset(current), reference_data=dataset(reference)
    )


def summary_report(current: pd.DataFrame) -> Any:
    return Report([DataSummaryPreset()]).run(current_data=dataset(current))


def drift_answer(snapshot: Any) -> dict[str, Any]:
    """Drifted columns and the dataset verdict, read from the snapshot's metric values.

    A ``ValueDrift`` value is a p-value for the tests named "… p_value" (drift below the
    threshold) and a distance otherwise (drift at or above it), as in Evidently's own rule.
    """
    drifted: list[str] = []
    dataset_drift = None
    methods: dict[str, str] = {}
    for metric in snapshot.dict()["metrics"]:
        config, value = metric["config"], metric["value"]
        if config["type"].endswith("ValueDrift"):
            method, threshold = config["method"], config["threshold"]
            methods[config["column"]] = method
            is_p_value = "p_value" in method
            if (value < threshold) if is_p_value else (value >= threshold):
                drifted.append(config["column"])
        elif config["type"].endswith("DriftedColumnsCount"):
            dataset_drift = value["share"] >= config["drift_share"]
    return {
        "drifted_columns": sorted(drifted),
        "dataset_drift": dataset_drift,
        "methods": sorted(set(methods.values())),
    }


def read(frames: Path, rows: int, side: str) -> pd.DataFrame:
    return pd.read_parquet(frames / data.frame_name(rows, side))


def drift_workload(frames: Path, rows: int, sizes: data.Sizes) -> dict[str, Any]:
    reference, current = read(frames, rows, "reference"), read(frames, rows, "current")
    timing, snapshot = data.time_calls(lambda: drift_report(reference, current), sizes.repeats)
    return {"rows": rows, "columns": len(current.columns), **timing, **drift_answer(snapshot)}


def profile_workload(frames: Path, sizes: data.Sizes) -> dict[str, Any]:
    current = read(frames, sizes.profile_rows, "current")
    timing, snapshot = data.time_calls(lambda: summary_report(current), sizes.repeats)
    return {
        "rows": sizes.profile_rows,
        "columns": len(current.columns),
        **timing,
        "metrics": len(snapshot.dict()["metrics"]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=Path, required=True)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    sizes = data.sizes_for(args.quick)
    results: dict[str, Any] = {}
    with contextlib.redirect_stdout(sys.stderr):
        log("warm-up on 1,000 rows (untimed) …")
        small = sizes.drift_rows[0]
        reference = read(args.frames, small, "reference").head(1_000)
        current = read(args.frames, small, "current").head(1_000)
        drift_report(reference, current)
        summary_report(current)
        for rows in sizes.drift_rows:
            log(f"drift, {rows:,} rows …")
            try:
                results[f"drift_{rows}"] = drift_workload(args.frames, rows, sizes)
            except Exception:  # reported to the driver, which exits non-zero
                results[f"drift_{rows}"] = {"error": traceback.format_exc()}
                log(results[f"drift_{rows}"]["error"])
        log(f"data summary, {sizes.profile_rows:,} rows …")
        try:
            results["profile"] = profile_workload(args.frames, sizes)
        except Exception:
            results["profile"] = {"error": traceback.format_exc()}
            log(results["profile"]["error"])
    print(
        json.dumps(
            {
                "tool": "evidently",
                "version": importlib.metadata.version("evidently"),
                "pandas": importlib.metadata.version("pandas"),
                "peak_rss_mb": data.peak_rss_mb(),
                "workloads": results,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
