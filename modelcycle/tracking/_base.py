"""The tracking contract: what every implementation (embedded store, HTTP client) must do.

The conformance suite in ``modelcycle.testing.tracking`` runs against each implementation.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from modelcycle.tracking.entities import (
    ArtifactInfo,
    Experiment,
    ExperimentPage,
    MetricHistory,
    Run,
    RunInput,
    RunPage,
    RunStatus,
)

MetricPoint = tuple[str, float, int, int]
"""``(key, value, step, timestamp_ms)``: the unit of metric logging, kept as a plain tuple because
millions of them pass through the buffer."""

DEFAULT_EXPERIMENT = "Default"
"""Where ``start_run()`` without an experiment logs; created on first use, never deleted."""


class BaseTrackingService(abc.ABC):
    """Experiments, runs, params, metrics, tags, artifacts and inputs."""

    @abc.abstractmethod
    def create_experiment(self, name: str, tags: Mapping[str, str] | None = None) -> Experiment:
        """Create an experiment.

        Raises:
            InvalidInput: the name is empty or too long.
            AlreadyExists: an experiment has this name.
        """

    @abc.abstractmethod
    def get_experiment(self, name_or_id: str | int) -> Experiment:
        """An experiment by name (str) or id (int).

        Raises:
            NotFound: no such experiment.
        """

    @abc.abstractmethod
    def get_or_create_experiment(self, name: str) -> Experiment:
        """The experiment with this name, created if it does not exist (safe under races)."""

    @abc.abstractmethod
    def list_experiments(
        self, *, limit: int = 100, page_token: str | None = None, include_deleted: bool = False
    ) -> ExperimentPage:
        """Experiments by name, one page at a time: the active ones, and the deleted ones too
        with ``include_deleted`` (their ``lifecycle_stage`` says which)."""

    @abc.abstractmethod
    def rename_experiment(self, name_or_id: str | int, new_name: str) -> Experiment:
        """Give an experiment (active or deleted) a new name; its runs follow it.

        Renaming to the name it already has changes nothing, so a retried rename succeeds.

        Args:
            name_or_id: the experiment's current name (str) or id (int).
            new_name: checked as by :meth:`create_experiment`.

        Returns:
            The experiment under its new name.

        Raises:
            NotFound: no such experiment.
            InvalidInput: the new name is empty or too long, or it is the default experiment's
                name and the experiment is deleted.
            AlreadyExists: another experiment, active or deleted, has the new name.

        Example:
            >>> service.rename_experiment("churn", "churn-v1")  # doctest: +SKIP
        """

    @abc.abstractmethod
    def delete_experiment(self, name_or_id: str | int) -> Experiment:
        """Soft-delete an experiment: its ``lifecycle_stage`` becomes ``deleted``.

        It leaves :meth:`list_experiments`, its runs leave :meth:`search_runs` and read as
        ``deleted`` in :meth:`get_run`, and it accepts no new run, until
        :meth:`restore_experiment`. Nothing is removed: :meth:`purge_deleted_runs` removes its
        runs for good. The runs' own lifecycle is not touched, so a restore brings back exactly
        the runs that were active. Deleting a deleted experiment changes nothing.

        Returns:
            The experiment, deleted.

        Raises:
            NotFound: no such experiment.
            InvalidInput: it is the default experiment (``"Default"``), where ``start_run()``
                without an experiment logs.

        Example:
            >>> service.delete_experiment("scratch").lifecycle_stage  # doctest: +SKIP
            'deleted'
        """

    @abc.abstractmethod
    def restore_experiment(self, name_or_id: str | int) -> Experiment:
        """Make a deleted experiment active again, with every run that was active in it.

        Restoring an active experiment changes nothing.

        Returns:
            The experiment, active.

        Raises:
            NotFound: no such experiment.

        Example:
            >>> service.restore_experiment("scratch").lifecycle_stage  # doctest: +SKIP
            'active'
        """

    @abc.abstractmethod
    def create_run(
        self,
        experiment_id: int,
        *,
        name: str | None = None,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        parent_run_id: str | None = None,
        environment: Mapping[str, Any] | None = None,
    ) -> Run:
        """Start a RUNNING run with its first params and tags, in one transaction.

        Raises:
            NotFound: the experiment or the parent run does not exist.
            InvalidInput: a key or value is malformed, or the experiment is deleted.
        """

    @abc.abstractmethod
    def get_run(self, run_id: str) -> Run:
        """A run with its params, latest metrics, tags, environment and inputs.

        Its ``lifecycle_stage`` is ``deleted`` when the run or its experiment is deleted.

        Raises:
            NotFound: no such run.
        """

    @abc.abstractmethod
    def end_run(
        self,
        run_id: str,
        status: RunStatus = RunStatus.FINISHED,
        *,
        metrics: Sequence[MetricPoint] = (),
    ) -> None:
        """Write the run's last metric points and end it, in one transaction.

        Raises:
            NotFound: no such run.
            InvalidInput: the run has already ended, or ``status`` is RUNNING.
        """

    @abc.abstractmethod
    def delete_run(self, run_id: str) -> None:
        """Hide a run from searches; its rows are kept until :meth:`purge_deleted_runs`.

        Raises:
            NotFound: no such run.
        """

    @abc.abstractmethod
    def purge_deleted_runs(self, *, dry_run: bool = False) -> int:
        """Remove deleted runs, and every run of a deleted experiment, with everything they
        logged, for good; returns how many. The deleted experiments themselves stay (restoring
        one gives it back empty).

        With ``dry_run`` nothing is removed and the count says how many would be.

        Their artifacts' objects become unreferenced, for ``modelcycle gc`` to sweep.
        """

    @abc.abstractmethod
    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        """Record params. A param, once logged, never changes.

        Raises:
            InvalidInput: the run has ended, or a key was logged before with another value.
        """

    @abc.abstractmethod
    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        """Set or overwrite tags (allowed on ended runs, as annotations)."""

    @abc.abstractmethod
    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove a tag.

        Raises:
            NotFound: the run has no such tag.
        """

    @abc.abstractmethod
    def log_metrics(self, run_id: str, points: Sequence[MetricPoint]) -> None:
        """Append metric points in one transaction and update each key's latest value.

        Raises:
            InvalidInput: the run has ended, or a point is malformed.
        """

    @abc.abstractmethod
    def get_metric_history(self, run_id: str, key: str) -> MetricHistory:
        """Every point of a metric, ordered by step then time.

        Raises:
            NotFound: no such run, or the run never logged this metric.
        """

    @abc.abstractmethod
    def log_artifact(
        self, run_id: str, local_path: str | Path, artifact_path: str | None = None
    ) -> list[ArtifactInfo]:
        """Store a file, or a directory tree, under the run; returns what was indexed.

        Raises:
            NotFound: the run or the local path does not exist.
            InvalidInput: ``artifact_path`` is absolute or escapes the run (``..``).
        """

    @abc.abstractmethod
    def list_artifacts(self, run_id: str, prefix: str | None = None) -> list[ArtifactInfo]:
        """The run's artifacts, optionally under a directory prefix, by path."""

    @abc.abstractmethod
    def download_artifacts(self, run_id: str, path: str, dest: str | Path) -> Path:
        """Copy an artifact file or directory to ``dest``, verifying every byte.

        Raises:
            NotFound: the run has no artifact at ``path``.
            IntegrityError: stored bytes changed; nothing is written for that file.
        """

    @abc.abstractmethod
    def log_inputs(self, run_id: str, inputs: Sequence[RunInput]) -> None:
        """Record which dataset versions the run read (lineage edges)."""

    @abc.abstractmethod
    def search_runs(
        self,
        experiment_ids: Sequence[int] | None,
        *,
        filter: str | None = None,
        order_by: Sequence[str] | None = None,
        limit: int = 1000,
        page_token: str | None = None,
    ) -> RunPage:
        """Runs matching a filter, ordered, one page at a time (see docs/tracking.md).

        ``experiment_ids=None`` searches every experiment. Deleted runs, and the runs of
        deleted experiments, are never found.

        Raises:
            InvalidInput: the filter or order is malformed (the message points at the token),
                the limit is out of range, or the page token belongs to another query.
        """
