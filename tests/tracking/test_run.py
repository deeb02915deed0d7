"""The SDK's run handle: statuses, the metric buffer, nested runs, module-level logging."""

from __future__ import annotations

import math
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import modelcycle as mc
from modelcycle.errors import InvalidInput, NotFound


def test_context_manager_finishes_and_keeps_everything(mc_home: Path) -> None:
    with mc.start_run(experiment="churn", params={"C": 1.0}, tags={"team": "risk"}) as run:
        run.log_param("penalty", "l2")
        for step in range(100):
            run.log_metric("loss", 1 / (step + 1))
        run.log_metrics({"auc": 0.91, "acc": np.float32(0.5)}, step=3)
    record = mc.get_run(run.id)
    assert record.status == "FINISHED"
    assert record.params == {"C": "1.0", "penalty": "l2"}
    assert record.metrics == {"loss": 0.01, "auc": 0.91, "acc": 0.5}
    assert record.tags == {"team": "risk"}
    assert record.environment["python_version"] == sys.version.split()[0]
    assert {
        "git_commit",
        "git_dirty",
        "packages_digest",
        "host",
        "cpu_count",
        "memory_bytes",
    } <= set(record.environment)


def test_failed_and_killed_status(mc_home: Path) -> None:
    with pytest.raises(RuntimeError), mc.start_run() as failed:
        raise RuntimeError("boom")
    with pytest.raises(KeyboardInterrupt), mc.start_run() as killed:
        raise KeyboardInterrupt
    assert mc.get_run(failed.id).status == "FAILED"
    assert mc.get_run(killed.id).status == "KILLED"


def test_steps_default_to_the_next_one_per_key(mc_home: Path) -> None:
    with mc.start_run() as run:
        run.log_metric("loss", 3.0)
        run.log_metric("loss", 2.0)
        run.log_metric("loss", 1.0, step=10)
        run.log_metric("loss", 0.5)
        run.log_metric("auc", 0.5)
    history = mc.get_metric_history(run.id, "loss")
    assert history["step"].tolist() == [0, 1, 10, 11]
    assert history["value"].tolist() == [3.0, 2.0, 1.0, 0.5]
    assert isinstance(history["timestamp"].dtype, pd.DatetimeTZDtype)


def test_bad_metrics_fail_at_the_call(mc_home: Path) -> None:
    with mc.start_run() as run:
        with pytest.raises(InvalidInput, match="'loss' must be a number"):
            run.log_metric("loss", "0.3")  # type: ignore[arg-type]
        with pytest.raises(InvalidInput, match="characters"):
            run.log_metric("bad{key}", 1.0)
        with pytest.raises(InvalidInput, match="integer"):
            run.log_metric("loss", 1.0, step=0.5)  # type: ignore[arg-type]
        run.log_metric("nan", math.nan)
    assert math.isnan(mc.get_run(run.id).metrics["nan"])


def test_logging_after_the_end_is_refused(mc_home: Path) -> None:
    with mc.start_run() as run:
        pass
    for call in (
        lambda: run.log_metric("x", 1.0),
        lambda: run.log_metrics({"x": 1.0}),
        lambda: run.log_param("p", 1),
    ):
        with pytest.raises(InvalidInput, match="has ended"):
            call()
    run.end()  # ending twice does nothing


def test_background_flush_writes_before_the_end(tmp_path: Path) -> None:
    with (
        mc.config_context(uri=str(tmp_path / "home"), tracking={"flush_interval": 0.05}),
        mc.start_run() as run,
    ):
        run.log_metric("loss", 1.0)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "loss" not in mc.get_run(run.id).metrics:
            time.sleep(0.02)
        assert mc.get_run(run.id).metrics == {"loss": 1.0}


def test_full_buffer_flushes_early(tmp_path: Path) -> None:
    with (
        mc.config_context(
            uri=str(tmp_path / "home"), tracking={"flush_interval": 3600, "flush_size": 10}
        ),
        mc.start_run() as run,
    ):
        run.log_metrics({f"m{i}": float(i) for i in range(10)})
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(mc.get_run(run.id).metrics) < 10:
            time.sleep(0.02)
        assert len(mc.get_run(run.id).metrics) == 10


def test_nested_runs(mc_home: Path) -> None:
    with mc.start_run(experiment="tune") as parent:
        with pytest.raises(InvalidInput, match="nested=True"):
            mc.start_run()
        with mc.start_run(nested=True) as child:
            assert mc.active_run() is child
        assert mc.active_run() is parent
    assert mc.active_run() is None
    record = mc.get_run(child.id)
    assert record.parent_run_id == parent.id
    assert record.experiment == "tune"


def test_module_level_logging_uses_the_active_run(mc_home: Path) -> None:
    with pytest.raises(InvalidInput, match="no active run"):
        mc.log_metric("x", 1.0)
    run = mc.start_run(experiment="fluent")
    mc.log_param("a", 1)
    mc.log_params({"b": 2})
    mc.log_metric("m", 1.0)
    mc.log_metrics({"n": 2.0})
    mc.set_tag("t", "x")
    mc.set_tags({"u": "y"})
    mc.end_run()
    record = mc.get_run(run.id)
    assert (record.params, record.metrics, record.tags) == (
        {"a": "1", "b": "2"},
        {"m": 1.0, "n": 2.0},
        {"t": "x", "u": "y"},
    )


@dataclass
class _DatasetVersion:
    name: str
    version: int
    hash: str


def test_log_input(mc_home: Path) -> None:
    with mc.start_run() as run:
        run.log_input(_DatasetVersion("churn-train", 3, "ab" * 32))
        run.log_input("churn-eval@1", role="eval")
        with pytest.raises(InvalidInput, match="name@version"):
            run.log_input("no-version")
        with pytest.raises(InvalidInput, match="dataset version"):
            run.log_input(42)  # type: ignore[arg-type]
    inputs = {(i.dataset, i.version, i.role) for i in mc.get_run(run.id).inputs}
    assert inputs == {("churn-train", "3", "train"), ("churn-eval", "1", "eval")}


def test_text_dict_and_artifact_download(mc_home: Path, tmp_path: Path) -> None:
    with mc.start_run() as run:
        run.log_text("hello", "notes/readme.txt")
        run.log_dict({"a": 1}, "config.json")
    path = mc.download_artifacts(run.id, "notes/readme.txt", tmp_path)
    assert path.read_text() == "hello"
    assert (
        mc.download_artifacts(run.id, "config.json", tmp_path / "c.json")
        .read_text()
        .strip()
        .startswith("{")
    )


def test_search_runs_frame(mc_home: Path) -> None:
    for c, auc in [(1.0, 0.9), (0.1, 0.7), (10.0, 0.95)]:
        with mc.start_run(experiment="churn", params={"C": c}) as run:
            run.log_metric("auc", auc)
    frame = mc.search_runs(
        experiment="churn", filter="metrics.auc > 0.8", order_by=["metrics.auc DESC"]
    )
    assert frame["params.C"].tolist() == ["10.0", "1.0"]
    assert frame["metrics.auc"].tolist() == [0.95, 0.9]
    assert list(frame.columns[:7]) == [
        "run_id",
        "experiment",
        "name",
        "status",
        "start_time",
        "end_time",
        "parent_run_id",
    ]
    assert frame.attrs["next_page_token"] is None
    empty = mc.search_runs(experiment="churn", filter="metrics.auc > 2")
    assert empty.empty and "run_id" in empty.columns
    with pytest.raises(NotFound, match="nope"):
        mc.search_runs(experiment="nope")
    assert len(mc.search_runs()) == 3


_EXIT_SCRIPT = """
import modelcycle as mc
run = mc.start_run(experiment="exit")
for i in range({points}):
    run.log_metric("loss", float(i))
print(run.id)
"""


def test_interpreter_exit_flushes_and_finishes(tmp_path: Path) -> None:
    """A script that never ends its run loses nothing: atexit flushes and finishes it."""
    home = tmp_path / "home"
    completed = subprocess.run(
        [sys.executable, "-c", _EXIT_SCRIPT.format(points=25_000)],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env={"MODELCYCLE_URI": str(home), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    run_id = completed.stdout.strip()
    with mc.config_context(uri=str(home)):
        assert mc.get_run(run_id).status == "FINISHED"
        assert len(mc.get_metric_history(run_id, "loss")) == 25_000


def test_failed_end_keeps_the_run_open_for_a_retry(
    mc_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modelcycle.errors import StoreUnavailable
    from modelcycle.tracking.service import TrackingService

    run = mc.start_run()
    run.log_metric("loss", 1.0)
    original = TrackingService.end_run

    def unavailable(*args: object, **kwargs: object) -> None:
        raise StoreUnavailable("database went away")

    monkeypatch.setattr(TrackingService, "end_run", unavailable)
    with pytest.raises(StoreUnavailable):
        run.end()
    assert not run.ended and mc.active_run() is run
    monkeypatch.setattr(TrackingService, "end_run", original)
    run.end()
    assert mc.get_run(run.id).metrics == {"loss": 1.0}
    assert mc.get_run(run.id).status == "FINISHED"


def test_a_bad_value_in_log_metrics_logs_nothing(mc_home: Path) -> None:
    with mc.start_run() as run:
        with pytest.raises(InvalidInput, match="'b' must be a number"):
            run.log_metrics({"a": 1.0, "b": "x", "c": 2.0})  # type: ignore[dict-item]
        run.log_metrics({"a": 1.0})
    assert mc.get_metric_history(run.id, "a")["step"].tolist() == [0]
    assert mc.get_run(run.id).metrics == {"a": 1.0}
