"""``mc.rename_experiment`` / ``mc.delete_experiment`` / ``mc.restore_experiment`` and how
``mc.start_run`` and ``mc.search_runs`` see the result."""

from __future__ import annotations

from pathlib import Path

import pytest

import modelcycle as mc
from modelcycle.errors import AlreadyExists, InvalidInput, NotFound


def test_start_run_after_a_rename_logs_under_the_name_asked(mc_home: Path) -> None:
    with mc.start_run(experiment="a") as first:
        pass
    renamed = mc.rename_experiment("a", "b")
    # The experiment id cached by the first start_run must not send this run to "b".
    with mc.start_run(experiment="a") as second:
        pass
    assert mc.get_run(first.id).experiment == "b"
    assert mc.get_run(second.id).experiment == "a"
    assert mc.get_experiment("a").id != renamed.id
    assert [e.name for e in mc.list_experiments()] == ["a", "b"]


def test_a_deleted_experiment_refuses_runs_until_restored(mc_home: Path) -> None:
    with mc.start_run(experiment="scratch") as run:
        run.log_metric("loss", 1.0)
    mc.delete_experiment("scratch")
    with pytest.raises(InvalidInput, match="'scratch' .*deleted.*experiments restore scratch"):
        mc.start_run(experiment="scratch")
    assert mc.active_run() is None
    assert mc.list_experiments() == []
    assert [e.lifecycle_stage for e in mc.list_experiments(include_deleted=True)] == ["deleted"]
    assert mc.search_runs().empty
    assert mc.search_runs(experiment="scratch").empty
    assert mc.get_run(run.id).lifecycle_stage == "deleted"
    with mc.start_run(experiment="other"):
        pass
    with pytest.raises(AlreadyExists, match="restore"):
        mc.rename_experiment("other", "scratch")
    mc.restore_experiment("scratch")
    assert list(mc.search_runs(experiment="scratch")["run_id"]) == [run.id]
    with mc.start_run(experiment="scratch") as again:
        pass
    assert mc.get_run(again.id).experiment == "scratch"


def test_the_default_experiment_stays(mc_home: Path) -> None:
    with mc.start_run():
        pass
    with pytest.raises(InvalidInput, match="default experiment"):
        mc.delete_experiment("Default")
    with mc.start_run() as run:
        pass
    assert mc.get_run(run.id).experiment == "Default"


def test_unknown_experiment(mc_home: Path) -> None:
    with pytest.raises(NotFound, match="nope"):
        mc.delete_experiment("nope")
    with pytest.raises(NotFound, match="nope"):
        mc.restore_experiment("nope")
    with pytest.raises(NotFound, match="nope"):
        mc.rename_experiment("nope", "other")


def _elsewhere() -> object:
    """The tracking service another process would use: its changes leave this process's
    experiment-id cache as it was."""
    from modelcycle.store import current_store
    from modelcycle.tracking.service import TrackingService

    return TrackingService(current_store())


def test_a_rename_by_another_process_does_not_capture_new_runs(mc_home: Path) -> None:
    with mc.start_run(experiment="churn") as first:
        pass
    _elsewhere().rename_experiment("churn", "churn-2024")  # type: ignore[attr-defined]
    with mc.start_run(experiment="churn") as second:
        pass
    assert mc.get_run(second.id).experiment == "churn"
    kept = mc.search_runs(experiment="churn-2024")
    assert kept["run_id"].tolist() == [first.id]  # the stray run made by the stale id is gone


def test_a_delete_and_rename_away_by_another_process_frees_the_name(mc_home: Path) -> None:
    with mc.start_run(experiment="scratch"):
        pass
    other = _elsewhere()
    other.delete_experiment("scratch")  # type: ignore[attr-defined]
    other.rename_experiment("scratch", "scratch-old")  # type: ignore[attr-defined]
    with mc.start_run(experiment="scratch") as fresh:
        pass
    assert mc.get_run(fresh.id).experiment == "scratch"
    assert mc.get_experiment("scratch").lifecycle_stage == "active"
