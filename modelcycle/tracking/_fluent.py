"""The module-level SDK: ``mc.start_run``, ``mc.log_metric``, ``mc.search_runs`` …

Each call finds the platform from the settings in force (``MODELCYCLE_URI``, or a
``config_context`` override) and keeps one service per location for the life of the process.
"""

from __future__ import annotations

import contextvars
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelcycle._internal.services import ServiceCache
from modelcycle.config import current_settings
from modelcycle.errors import InvalidInput, NotFound
from modelcycle.tracking._base import DEFAULT_EXPERIMENT

if TYPE_CHECKING:
    import pandas as pd

    from modelcycle.tracking._base import BaseTrackingService
    from modelcycle.tracking.entities import ArtifactInfo, Experiment, Run
    from modelcycle.tracking.run import ActiveRun, DatasetReference


def _embedded() -> BaseTrackingService:
    from modelcycle.store import current_store
    from modelcycle.tracking.service import TrackingService

    return TrackingService(current_store())


def _remote(url: str, token: str | None) -> BaseTrackingService:
    from modelcycle.client import HttpTrackingService

    return HttpTrackingService(url, token=token)


_services: ServiceCache[BaseTrackingService] = ServiceCache(_embedded, _remote)
# Experiment name → id per platform: start_run in a loop must not look the name up every time.
_experiment_ids: dict[tuple[BaseTrackingService, str], int] = {}
_active_runs: contextvars.ContextVar[tuple[ActiveRun, ...]] = contextvars.ContextVar(
    "modelcycle_active_runs", default=()
)


def tracking_service() -> BaseTrackingService:
    """The tracking service of the platform the current settings point at: the HTTP client for
    an ``http(s)://`` URI, else the service over the embedded store."""
    return _services.current()


def close_all() -> None:
    """End every active run and close every store and server connection this process opened
    (tests, notebooks)."""
    for run in reversed(_active_runs.get()):
        run.end()
    from modelcycle.store import close_current_stores

    _services.clear()
    _experiment_ids.clear()
    close_current_stores()


def start_run(
    experiment: str | None = None,
    *,
    name: str | None = None,
    params: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
    nested: bool = False,
    parent_run_id: str | None = None,
) -> ActiveRun:
    """Start a run; use it as a context manager so it ends FINISHED/FAILED/KILLED by itself.

    Args:
        experiment: its name; created on first use. Defaults to the parent's, else "Default".
        name: the run's name (``run-<id prefix>`` when omitted).
        params: params logged with the run's creation, in the same transaction.
        tags: tags set likewise.
        nested: make it a child of the active run (required while one is active).
        parent_run_id: make it a child of this run explicitly.

    Raises:
        InvalidInput: a run is already active and ``nested`` is false.

    >>> import modelcycle as mc
    >>> with mc.start_run(experiment="churn", params={"C": 1.0}) as run:  # doctest: +SKIP
    ...     run.log_metric("auc", 0.91)
    """
    from modelcycle.tracking._environment import capture_environment
    from modelcycle.tracking.run import ActiveRun

    stack = _active_runs.get()
    if stack and not nested and parent_run_id is None:
        raise InvalidInput(
            f"run {stack[-1].id} is already active; end it first, or pass nested=True to "
            "start a child run.",
            details={"active_run_id": stack[-1].id},
        )
    parent = parent_run_id or (stack[-1].id if stack and nested else None)
    service = tracking_service()
    settings = current_settings()
    experiment_name = experiment or (stack[-1].experiment if stack else DEFAULT_EXPERIMENT)
    environment = capture_environment() if settings.tracking.capture_environment else {}

    def create() -> Run:
        return service.create_run(
            _experiment_id(service, experiment_name),
            name=name,
            params=params,
            tags={k: str(v) for k, v in (tags or {}).items()},
            parent_run_id=parent,
            environment=environment,
        )

    key = (service, experiment_name)
    cached = key in _experiment_ids
    try:
        record = create()
    except (NotFound, InvalidInput):
        # The cached experiment was purged, or deleted, by another process: look the name up
        # again (it may name a new experiment now, or the same one, deleted: then it raises).
        if _experiment_ids.pop(key, None) is None:
            raise
        record = create()
    else:
        if cached and record.experiment != experiment_name:
            # Another process renamed the cached experiment: this run must not stay in it.
            service.delete_run(record.id)
            del _experiment_ids[key]
            record = create()
    run = ActiveRun(service, record, settings.tracking, on_end=_forget)
    _active_runs.set((*stack, run))
    return run


def _experiment_id(service: BaseTrackingService, name: str) -> int:
    experiment_id = _experiment_ids.get((service, name))
    if experiment_id is None:
        experiment_id = _experiment_ids[(service, name)] = service.get_or_create_experiment(
            name
        ).id
    return experiment_id


def _forget(run: ActiveRun) -> None:
    _active_runs.set(tuple(r for r in _active_runs.get() if r is not run))


def active_run() -> ActiveRun | None:
    """The innermost run started in this context and not yet ended."""
    stack = _active_runs.get()
    return stack[-1] if stack else None


def _require_active() -> ActiveRun:
    run = active_run()
    if run is None:
        raise InvalidInput("no active run: call mc.start_run() first", details={})
    return run


def end_run(status: str = "FINISHED") -> None:
    """End the active run (MLflow's ``mlflow.end_run``)."""
    _require_active().end(status)


def log_param(key: str, value: Any) -> None:
    _require_active().log_param(key, value)


def log_params(params: Mapping[str, Any]) -> None:
    _require_active().log_params(params)


def log_metric(key: str, value: float, step: int | None = None) -> None:
    _require_active().log_metric(key, value, step=step)


def log_metrics(metrics: Mapping[str, float], step: int | None = None) -> None:
    _require_active().log_metrics(metrics, step=step)


def set_tag(key: str, value: Any) -> None:
    _require_active().set_tag(key, value)


def set_tags(tags: Mapping[str, Any]) -> None:
    _require_active().set_tags(tags)


def log_artifact(local_path: str | Path, artifact_path: str | None = None) -> list[ArtifactInfo]:
    return _require_active().log_artifact(local_path, artifact_path)


def log_input(dataset: DatasetReference | str, role: str = "train") -> None:
    _require_active().log_input(dataset, role)


def get_run(run_id: str) -> Run:
    """A run as stored: ``.id .experiment .status .params .metrics .tags`` (a frozen record)."""
    return tracking_service().get_run(run_id)


def get_experiment(name: str) -> Experiment:
    return tracking_service().get_experiment(name)


def list_experiments(*, include_deleted: bool = False) -> list[Experiment]:
    """Every active experiment, by name; with ``include_deleted``, the deleted ones too
    (``.lifecycle_stage`` is ``"active"`` or ``"deleted"``).

    >>> [e.name for e in mc.list_experiments(include_deleted=True)]  # doctest: +SKIP
    ['Default', 'churn', 'scratch']
    """
    service = tracking_service()
    found: list[Experiment] = []
    token: str | None = None
    while True:
        page = service.list_experiments(
            limit=1000, page_token=token, include_deleted=include_deleted
        )
        found.extend(page.experiments)
        token = page.next_page_token
        if token is None:
            return found


def rename_experiment(experiment: str | int, new_name: str) -> Experiment:
    """Rename an experiment (MLflow's ``MlflowClient.rename_experiment``); its runs follow it.

    Args:
        experiment: its current name, or its id (an int).
        new_name: 1–250 characters, not used by another experiment, deleted ones included.

    Returns:
        The experiment under its new name.

    Raises:
        NotFound: no such experiment.
        AlreadyExists: another experiment has ``new_name``.
        InvalidInput: ``new_name`` is empty or too long.

    >>> mc.rename_experiment("churn", "churn-2024")  # doctest: +SKIP
    """
    service = tracking_service()
    renamed = service.rename_experiment(experiment, new_name)
    # start_run(experiment=old name) must not find the renamed experiment in the cache.
    for key, experiment_id in list(_experiment_ids.items()):
        if key[0] is service and (experiment_id == renamed.id or key[1] == new_name):
            del _experiment_ids[key]
    return renamed


def delete_experiment(experiment: str | int) -> Experiment:
    """Delete an experiment softly (MLflow's ``delete_experiment``): it leaves
    :func:`list_experiments`, its runs leave :func:`search_runs`, and it takes no new run, until
    :func:`restore_experiment`. ``modelcycle gc`` purges its runs for good.

    Args:
        experiment: its name, or its id (an int).

    Returns:
        The experiment, its ``lifecycle_stage`` now ``"deleted"``.

    Raises:
        NotFound: no such experiment.
        InvalidInput: it is the default experiment, ``"Default"``.

    >>> mc.delete_experiment("scratch").lifecycle_stage  # doctest: +SKIP
    'deleted'
    """
    return tracking_service().delete_experiment(experiment)


def restore_experiment(experiment: str | int) -> Experiment:
    """Bring a deleted experiment back, with the runs that were active in it (MLflow's
    ``restore_experiment``). Restoring an active experiment changes nothing; one whose runs
    ``modelcycle gc`` purged comes back empty.

    Args:
        experiment: its name, or its id (an int).

    Returns:
        The experiment, its ``lifecycle_stage`` now ``"active"``.

    Raises:
        NotFound: no such experiment.

    >>> mc.restore_experiment("scratch").lifecycle_stage  # doctest: +SKIP
    'active'
    """
    return tracking_service().restore_experiment(experiment)


def search_runs(
    experiment: str | Sequence[str] | None = None,
    filter: str | None = None,
    order_by: Sequence[str] | None = None,
    limit: int = 1000,
    page_token: str | None = None,
) -> pd.DataFrame:
    """Runs matching ``filter`` as a DataFrame; the next page's token is in
    ``frame.attrs["next_page_token"]``.

    Args:
        experiment: a name or names; every experiment when omitted.
        filter: e.g. ``"metrics.auc > 0.8 and (params.C = '1.0' or tags.team LIKE 'risk%')"``.
        order_by: e.g. ``["metrics.auc DESC"]``; newest first by default.

    Raises:
        NotFound: an experiment name is unknown.
        InvalidInput: the filter or order is malformed (the message points at the token).
    """
    from modelcycle.tracking._frames import runs_frame

    service = tracking_service()
    experiment_ids: list[int] | None = None
    if experiment is not None:
        names = [experiment] if isinstance(experiment, str) else list(experiment)
        experiment_ids = [service.get_experiment(name).id for name in names]
    page = service.search_runs(
        experiment_ids, filter=filter, order_by=order_by, limit=limit, page_token=page_token
    )
    frame = runs_frame(page.runs)
    frame.attrs["next_page_token"] = page.next_page_token
    return frame


def get_metric_history(run_id: str, key: str) -> pd.DataFrame:
    """Every point of a metric: columns ``step``, ``value``, ``timestamp``."""
    from modelcycle.tracking._frames import history_frame

    return history_frame(tracking_service().get_metric_history(run_id, key))


def list_artifacts(run_id: str, path: str | None = None) -> list[ArtifactInfo]:
    """A run's artifacts (``path``, ``digest``, ``size``), optionally under a directory."""
    return tracking_service().list_artifacts(run_id, path)


def delete_run(run_id: str) -> None:
    """Hide a run from listings and searches; ``modelcycle gc`` removes it for good."""
    tracking_service().delete_run(run_id)


def download_artifacts(run_id: str, path: str, dest: str | Path) -> Path:
    """Copy a run's artifact file or directory to ``dest``, verifying every byte."""
    return tracking_service().download_artifacts(run_id, path, dest)
