"""``TrackingContract``: what every tracking implementation must do, as pytest tests.

Subclass it in a test module and provide a ``service`` fixture returning a fresh, empty
implementation of :class:`~modelcycle.tracking._base.BaseTrackingService`::

    class TestEmbedded(TrackingContract):
        @pytest.fixture
        def service(self, store):
            return TrackingService(store)
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from modelcycle.errors import AlreadyExists, InvalidInput, NotFound
from modelcycle.tracking._base import DEFAULT_EXPERIMENT, BaseTrackingService
from modelcycle.tracking.entities import RunInput, RunStatus


def _run(service: BaseTrackingService, experiment: str = "exp", **kwargs: object) -> str:
    experiment_id = service.get_or_create_experiment(experiment).id
    return service.create_run(experiment_id, **kwargs).id  # type: ignore[arg-type]


class ExperimentContract:
    def test_create_get_by_name_and_id(self, service: BaseTrackingService) -> None:
        created = service.create_experiment("churn", tags={"team": "risk"})
        assert service.get_experiment("churn") == created
        assert service.get_experiment(created.id) == created
        assert created.tags == {"team": "risk"}

    def test_duplicate_name_is_refused(self, service: BaseTrackingService) -> None:
        service.create_experiment("churn")
        with pytest.raises(AlreadyExists, match="churn"):
            service.create_experiment("churn")

    def test_unknown_experiment(self, service: BaseTrackingService) -> None:
        with pytest.raises(NotFound, match="nope"):
            service.get_experiment("nope")
        with pytest.raises(NotFound):
            service.create_run(424242)

    def test_empty_name_is_invalid(self, service: BaseTrackingService) -> None:
        with pytest.raises(InvalidInput):
            service.create_experiment("  ")

    def test_get_or_create_is_idempotent(self, service: BaseTrackingService) -> None:
        assert service.get_or_create_experiment("a") == service.get_or_create_experiment("a")

    def test_list_paginates_by_name(self, service: BaseTrackingService) -> None:
        for name in ["c", "a", "b"]:
            service.create_experiment(name)
        first = service.list_experiments(limit=2)
        assert [e.name for e in first.experiments] == ["a", "b"]
        second = service.list_experiments(limit=2, page_token=first.next_page_token)
        assert [e.name for e in second.experiments] == ["c"]
        assert second.next_page_token is None


class RunContract:
    def test_create_with_params_and_tags(self, service: BaseTrackingService) -> None:
        run_id = _run(
            service,
            name="first",
            params={"C": 1.0, "penalty": "l2"},
            tags={"team": "risk"},
            environment={"git_commit": "abc"},
        )
        run = service.get_run(run_id)
        assert run.name == "first"
        assert run.experiment == "exp"
        assert run.status is RunStatus.RUNNING
        assert run.params == {"C": "1.0", "penalty": "l2"}
        assert run.tags == {"team": "risk"}
        assert run.environment == {"git_commit": "abc"}
        assert run.end_time is None

    def test_end_run_records_status_and_time(self, service: BaseTrackingService) -> None:
        run_id = _run(service)
        service.end_run(run_id, RunStatus.FAILED)
        run = service.get_run(run_id)
        assert run.status is RunStatus.FAILED
        assert run.end_time is not None and run.end_time >= run.start_time

    def test_end_twice_or_as_running_is_invalid(self, service: BaseTrackingService) -> None:
        run_id = _run(service)
        with pytest.raises(InvalidInput, match="FINISHED, FAILED or KILLED"):
            service.end_run(run_id, RunStatus.RUNNING)
        service.end_run(run_id)
        with pytest.raises(InvalidInput, match="has ended"):
            service.end_run(run_id)

    def test_unknown_run(self, service: BaseTrackingService) -> None:
        with pytest.raises(NotFound, match="0" * 32):
            service.get_run("0" * 32)
        with pytest.raises(NotFound):
            service.end_run("0" * 32)
        with pytest.raises(NotFound):
            service.log_metrics("0" * 32, [("loss", 1.0, 0, 0)])

    def test_nested_run_records_parent(self, service: BaseTrackingService) -> None:
        parent = _run(service)
        child = _run(service, parent_run_id=parent)
        assert service.get_run(child).parent_run_id == parent
        with pytest.raises(NotFound):
            _run(service, parent_run_id="f" * 32)

    def test_params_are_immutable(self, service: BaseTrackingService) -> None:
        run_id = _run(service, params={"C": 1})
        service.log_params(run_id, {"C": 1, "max_iter": 100})
        with pytest.raises(InvalidInput, match="'C'") as caught:
            service.log_params(run_id, {"C": 2, "other": 3})
        assert caught.value.details["old"] == "1"
        assert service.get_run(run_id).params == {"C": "1", "max_iter": "100"}

    def test_bad_keys_and_values(self, service: BaseTrackingService) -> None:
        run_id = _run(service)
        with pytest.raises(InvalidInput, match="characters"):
            service.log_params(run_id, {"bad;key": 1})
        with pytest.raises(InvalidInput, match="6000"):
            service.log_params(run_id, {"long": "x" * 6001})
        with pytest.raises(InvalidInput, match="must be a number"):
            service.log_metrics(run_id, [("loss", "0.5", 0, 0)])  # type: ignore[list-item]
        with pytest.raises(InvalidInput, match="integer"):
            service.log_metrics(run_id, [("loss", 0.5, 1.5, 0)])  # type: ignore[list-item]

    def test_finished_run_refuses_params_and_metrics(self, service: BaseTrackingService) -> None:
        run_id = _run(service)
        service.end_run(run_id)
        with pytest.raises(InvalidInput, match="has ended"):
            service.log_metrics(run_id, [("loss", 1.0, 0, 0)])
        with pytest.raises(InvalidInput, match="has ended"):
            service.log_params(run_id, {"a": 1})
        service.set_tags(run_id, {"note": "tags annotate ended runs"})
        assert service.get_run(run_id).tags == {"note": "tags annotate ended runs"}

    def test_tags_overwrite_and_delete(self, service: BaseTrackingService) -> None:
        run_id = _run(service, tags={"a": "1"})
        service.set_tags(run_id, {"a": "2", "b": "3"})
        service.delete_tag(run_id, "b")
        assert service.get_run(run_id).tags == {"a": "2"}
        with pytest.raises(NotFound, match="'b'"):
            service.delete_tag(run_id, "b")

    def test_inputs_are_recorded(self, service: BaseTrackingService) -> None:
        run_id = _run(service)
        train = RunInput(dataset="churn-train", version="3", role="train", digest="ab" * 32)
        service.log_inputs(run_id, [train, train])
        assert service.get_run(run_id).inputs == (train,)


class MetricContract:
    def test_history_in_step_order_and_latest_by_step(self, service: BaseTrackingService) -> None:
        run_id = _run(service)
        service.log_metrics(run_id, [("loss", 0.5, 2, 20), ("loss", 0.9, 0, 10)])
        service.log_metrics(run_id, [("loss", 0.7, 1, 30), ("auc", 0.8, 0, 30)])
        history = service.get_metric_history(run_id, "loss")
        assert history.steps == [0, 1, 2]
        assert history.values == [0.9, 0.7, 0.5]
        assert history.timestamps == [10, 30, 20]
        # The latest value is the highest step's, not the last one written.
        assert service.get_run(run_id).metrics == {"loss": 0.5, "auc": 0.8}

    def test_nan_and_infinity_round_trip(self, service: BaseTrackingService) -> None:
        run_id = _run(service)
        points = [("nan", math.nan, 0, 1), ("inf", math.inf, 0, 1), ("ninf", -math.inf, 0, 1)]
        service.log_metrics(run_id, points)
        metrics = service.get_run(run_id).metrics
        assert math.isnan(metrics["nan"])
        assert metrics["inf"] == math.inf and metrics["ninf"] == -math.inf
        assert math.isnan(service.get_metric_history(run_id, "nan").values[0])

    def test_unknown_metric_names_the_known_ones(self, service: BaseTrackingService) -> None:
        run_id = _run(service)
        service.log_metrics(run_id, [("loss", 1.0, 0, 0)])
        with pytest.raises(NotFound, match="loss"):
            service.get_metric_history(run_id, "lsos")

    def test_bad_batch_stores_nothing(self, service: BaseTrackingService) -> None:
        run_id = _run(service)
        with pytest.raises(InvalidInput):
            service.log_metrics(run_id, [("ok", 1.0, 0, 0), ("bad", None, 0, 0)])  # type: ignore[list-item]
        assert service.get_run(run_id).metrics == {}

    def test_end_run_writes_final_points(self, service: BaseTrackingService) -> None:
        run_id = _run(service)
        service.end_run(run_id, metrics=[("loss", 0.1, 5, 1)])
        assert service.get_run(run_id).metrics == {"loss": 0.1}

    def test_large_batch(self, service: BaseTrackingService) -> None:
        run_id = _run(service)
        service.log_metrics(run_id, [("loss", float(i), i, i) for i in range(5000)])
        history = service.get_metric_history(run_id, "loss")
        assert len(history.steps) == 5000 and history.values[-1] == 4999.0


class ArtifactContract:
    def test_file_and_directory_round_trip(
        self, service: BaseTrackingService, tmp_path: Path
    ) -> None:
        run_id = _run(service)
        (tmp_path / "plots").mkdir()
        (tmp_path / "plots" / "roc.png").write_bytes(b"png-bytes")
        (tmp_path / "plots" / "sub").mkdir()
        (tmp_path / "plots" / "sub" / "pr.png").write_bytes(b"pr-bytes")
        (tmp_path / "notes.txt").write_text("hello")
        service.log_artifact(run_id, tmp_path / "notes.txt")
        service.log_artifact(run_id, tmp_path / "plots", "plots")
        assert [a.path for a in service.list_artifacts(run_id)] == [
            "notes.txt",
            "plots/roc.png",
            "plots/sub/pr.png",
        ]
        assert [a.path for a in service.list_artifacts(run_id, "plots/sub")] == [
            "plots/sub/pr.png"
        ]
        out = service.download_artifacts(run_id, "plots", tmp_path / "out")
        assert (out / "sub" / "pr.png").read_bytes() == b"pr-bytes"
        single = service.download_artifacts(run_id, "notes.txt", tmp_path / "n.txt")
        assert single.read_text() == "hello"

    def test_identical_content_is_stored_once(
        self, service: BaseTrackingService, tmp_path: Path
    ) -> None:
        run_id = _run(service)
        for name in ("a.bin", "b.bin"):
            (tmp_path / name).write_bytes(b"same")
            service.log_artifact(run_id, tmp_path / name)
        digests = {a.digest for a in service.list_artifacts(run_id)}
        assert len(digests) == 1

    def test_bad_paths(self, service: BaseTrackingService, tmp_path: Path) -> None:
        run_id = _run(service)
        (tmp_path / "f.txt").write_text("x")
        for bad in ("../escape", "/abs", "a/../../b", "nul\x00"):
            with pytest.raises(InvalidInput):
                service.log_artifact(run_id, tmp_path / "f.txt", bad)
        with pytest.raises(NotFound):
            service.log_artifact(run_id, tmp_path / "missing.txt")
        with pytest.raises(NotFound):
            service.download_artifacts(run_id, "missing.txt", tmp_path / "x")
        with pytest.raises(InvalidInput):
            service.download_artifacts(run_id, "../etc/passwd", tmp_path / "x")


class SearchContract:
    @pytest.fixture
    def runs(self, service: BaseTrackingService) -> dict[str, str]:
        experiment = service.create_experiment("search").id
        made = {}
        for name, auc, c, team in [
            ("a", 0.9, "1.0", "risk"),
            ("b", 0.7, "0.1", "risk"),
            ("c", 0.95, "1.0", "growth"),
            ("d", None, "1.0", "Risk"),
        ]:
            run_id = service.create_run(
                experiment, name=name, params={"C": c}, tags={"team": team}
            ).id
            if auc is not None:
                service.log_metrics(run_id, [("auc", auc, 0, 0)])
            made[name] = run_id
        return made

    def _names(
        self,
        service: BaseTrackingService,
        filter: str | None = None,
        order_by: list[str] | None = None,
    ) -> list[str]:
        experiment = service.get_experiment("search").id
        page = service.search_runs([experiment], filter=filter, order_by=order_by)
        return [run.name for run in page.runs]

    def test_filter_and_order(self, service: BaseTrackingService, runs: dict[str, str]) -> None:
        assert self._names(
            service, "metrics.auc > 0.8 and params.C = '1.0'", ["metrics.auc DESC"]
        ) == ["c", "a"]
        assert self._names(service, None, ["metrics.auc ASC"]) == ["b", "a", "c", "d"]

    def test_or_parentheses_like_ilike_in(
        self, service: BaseTrackingService, runs: dict[str, str]
    ) -> None:
        assert sorted(self._names(service, "tags.team = 'growth' or (metrics.auc < 0.8)")) == [
            "b",
            "c",
        ]
        assert sorted(self._names(service, "tags.team LIKE 'R%'")) == ["d"]
        assert sorted(self._names(service, "tags.team ILIKE 'r%'")) == ["a", "b", "d"]
        assert sorted(self._names(service, "params.C IN ('0.1', '9')")) == ["b"]
        assert sorted(
            self._names(service, "attributes.run_name != 'a' and metrics.auc >= 0.9")
        ) == ["c"]

    def test_pages_cover_every_run_once(
        self, service: BaseTrackingService, runs: dict[str, str]
    ) -> None:
        experiment = service.get_experiment("search").id
        seen: list[str] = []
        token = None
        while True:
            page = service.search_runs(
                [experiment], order_by=["metrics.auc DESC"], limit=3, page_token=token
            )
            seen.extend(run.id for run in page.runs)
            token = page.next_page_token
            if token is None:
                break
        assert sorted(seen) == sorted(runs.values())

    def test_bad_searches(self, service: BaseTrackingService, runs: dict[str, str]) -> None:
        experiment = service.get_experiment("search").id
        with pytest.raises(InvalidInput) as caught:
            service.search_runs([experiment], filter="metrics.auc => 0.5")
        assert caught.value.details["token"] == "=>"
        with pytest.raises(InvalidInput, match="limit"):
            service.search_runs([experiment], limit=0)
        with pytest.raises(InvalidInput, match="page_token"):
            service.search_runs([experiment], page_token="garbage!")
        other = service.search_runs([experiment], limit=1).next_page_token
        with pytest.raises(InvalidInput, match="different search"):
            service.search_runs([experiment], filter="metrics.auc > 0", page_token=other)

    def test_deleted_runs_are_hidden(
        self, service: BaseTrackingService, runs: dict[str, str]
    ) -> None:
        service.delete_run(runs["a"])
        assert "a" not in self._names(service)


class ExperimentLifecycleContract:
    """Rename, delete (soft) and restore, as MLflow users know them."""

    def _search(self, service: BaseTrackingService, ids: list[int] | None = None) -> set[str]:
        return {run.id for run in service.search_runs(ids).runs}

    def test_rename_keeps_the_id_and_the_runs(self, service: BaseTrackingService) -> None:
        run_id = _run(service, "churn")
        old = service.get_experiment("churn")
        renamed = service.rename_experiment("churn", "churn-2024")
        assert (renamed.id, renamed.name, renamed.created_at) == (
            old.id,
            "churn-2024",
            old.created_at,
        )
        assert service.get_experiment("churn-2024") == renamed
        with pytest.raises(NotFound, match="churn"):
            service.get_experiment("churn")
        assert service.get_run(run_id).experiment == "churn-2024"
        assert self._search(service, [old.id]) == {run_id}
        # By id too; the same name again changes nothing (a retried rename succeeds).
        assert service.rename_experiment(old.id, "churn-2024") == renamed
        assert service.rename_experiment(old.id, "churn").name == "churn"

    def test_rename_to_a_taken_or_bad_name_changes_nothing(
        self, service: BaseTrackingService
    ) -> None:
        service.create_experiment("a")
        service.create_experiment("b")
        with pytest.raises(AlreadyExists, match="'b'"):
            service.rename_experiment("a", "b")
        service.delete_experiment("b")
        with pytest.raises(AlreadyExists, match="restore") as caught:
            service.rename_experiment("a", "b")
        assert caught.value.details["lifecycle_stage"] == "deleted"
        for bad in ("", "   ", "x" * 251):
            with pytest.raises(InvalidInput, match="name"):  # the server's schema, or ours
                service.rename_experiment("a", bad)
        names = [e.name for e in service.list_experiments(include_deleted=True).experiments]
        assert names == ["a", "b"]

    def test_unknown_experiment_is_not_found(self, service: BaseTrackingService) -> None:
        for call in (
            lambda: service.rename_experiment("nope", "other"),
            lambda: service.delete_experiment("nope"),
            lambda: service.restore_experiment("nope"),
        ):
            with pytest.raises(NotFound, match="nope"):
                call()
        with pytest.raises(NotFound):
            service.delete_experiment(424242)

    def test_delete_hides_the_experiment_and_its_runs(self, service: BaseTrackingService) -> None:
        gone = _run(service, "scratch")
        kept = _run(service, "churn")
        experiment = service.get_experiment("scratch")
        deleted = service.delete_experiment("scratch")
        assert (deleted.id, deleted.lifecycle_stage) == (experiment.id, "deleted")
        assert [e.name for e in service.list_experiments().experiments] == ["churn"]
        listed = service.list_experiments(include_deleted=True).experiments
        assert [(e.name, e.lifecycle_stage) for e in listed] == [
            ("churn", "active"),
            ("scratch", "deleted"),
        ]
        assert service.get_experiment("scratch").lifecycle_stage == "deleted"
        assert self._search(service) == {kept}
        assert self._search(service, [experiment.id]) == set()
        # The run is still there, and says it is deleted, as in MLflow.
        assert service.get_run(gone).lifecycle_stage == "deleted"
        assert service.get_run(kept).lifecycle_stage == "active"

    def test_a_deleted_experiment_takes_no_run_and_keeps_its_name(
        self, service: BaseTrackingService
    ) -> None:
        experiment = service.create_experiment("scratch")
        service.delete_experiment(experiment.id)
        with pytest.raises(InvalidInput, match="'scratch'.*deleted.*restore") as caught:
            service.create_run(experiment.id)
        assert caught.value.details["experiment"] == "scratch"
        with pytest.raises(AlreadyExists, match="deleted.*restore.*rename"):
            service.create_experiment("scratch")
        assert self._search(service) == set()
        # Renaming it frees the name.
        service.rename_experiment("scratch", "scratch-old")
        assert service.create_experiment("scratch").lifecycle_stage == "active"

    def test_restore_brings_back_exactly_the_active_runs(
        self, service: BaseTrackingService
    ) -> None:
        deleted_before = _run(service, "e")
        active = _run(service, "e")
        service.delete_run(deleted_before)
        service.delete_experiment("e")
        restored = service.restore_experiment("e")
        assert restored.lifecycle_stage == "active"
        assert [e.name for e in service.list_experiments().experiments] == ["e"]
        assert self._search(service) == {active}
        assert service.get_run(active).lifecycle_stage == "active"
        assert service.get_run(deleted_before).lifecycle_stage == "deleted"
        assert service.create_run(restored.id).experiment == "e"

    def test_delete_and_restore_are_idempotent(self, service: BaseTrackingService) -> None:
        experiment = service.create_experiment("e")
        assert service.restore_experiment("e") == experiment
        assert service.delete_experiment("e").lifecycle_stage == "deleted"
        assert service.delete_experiment(experiment.id).lifecycle_stage == "deleted"
        assert service.restore_experiment(experiment.id) == experiment

    def test_the_default_experiment_cannot_be_deleted(self, service: BaseTrackingService) -> None:
        run_id = _run(service, DEFAULT_EXPERIMENT)
        with pytest.raises(InvalidInput, match="default experiment"):
            service.delete_experiment(DEFAULT_EXPERIMENT)
        assert service.get_experiment(DEFAULT_EXPERIMENT).lifecycle_stage == "active"
        assert self._search(service) == {run_id}
        # Renamed, it is an ordinary experiment; a deleted one cannot take the default's name.
        service.rename_experiment(DEFAULT_EXPERIMENT, "old-default")
        service.delete_experiment("old-default")
        with pytest.raises(InvalidInput, match="default experiment"):
            service.rename_experiment("old-default", DEFAULT_EXPERIMENT)

    def test_purge_removes_the_runs_of_deleted_experiments(
        self, service: BaseTrackingService
    ) -> None:
        gone = _run(service, "scratch")
        kept = _run(service, "churn")
        service.delete_experiment("scratch")
        assert service.purge_deleted_runs(dry_run=True) == 1
        assert service.get_run(gone).lifecycle_stage == "deleted"
        assert service.purge_deleted_runs() == 1
        with pytest.raises(NotFound):
            service.get_run(gone)
        assert service.get_run(kept).lifecycle_stage == "active"
        # The experiment stays, deleted; restored, it comes back empty.
        assert service.restore_experiment("scratch").lifecycle_stage == "active"
        assert self._search(service, [service.get_experiment("scratch").id]) == set()

    def test_list_pages_with_deleted_ones(self, service: BaseTrackingService) -> None:
        for name in ["c", "a", "b", "d"]:
            service.create_experiment(name)
        service.delete_experiment("b")
        first = service.list_experiments(limit=2, include_deleted=True)
        assert [e.name for e in first.experiments] == ["a", "b"]
        second = service.list_experiments(
            limit=2, page_token=first.next_page_token, include_deleted=True
        )
        assert [e.name for e in second.experiments] == ["c", "d"]
        assert second.next_page_token is None
        with pytest.raises(InvalidInput, match="page_token"):
            service.list_experiments(limit=2, page_token=first.next_page_token)


class TrackingContract(
    ExperimentContract,
    ExperimentLifecycleContract,
    RunContract,
    MetricContract,
    ArtifactContract,
    SearchContract,
):
    """Every tracking contract at once."""
