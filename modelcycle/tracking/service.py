"""``TrackingService``: the tracking contract over the local store (SQLite or PostgreSQL).

Every method opens its own short transaction and returns frozen records. The hot path is
``log_metrics``/``end_run`` with many points: one executemany for the history and one upsert for
the latest values, whatever the batch size.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)

from modelcycle._internal import page_tokens
from modelcycle._internal.clock import now_ms
from modelcycle.errors import AlreadyExists, InvalidInput, NotFound
from modelcycle.store import Store
from modelcycle.store._bulk import insert_rows, upsert_rows
from modelcycle.store.tables import (
    artifacts,
    experiments,
    latest_metrics,
    metrics,
    run_inputs,
    runs,
)
from modelcycle.store.tables import params as params_table
from modelcycle.store.tables import tags as tags_table
from modelcycle.tracking import _artifacts
from modelcycle.tracking._base import DEFAULT_EXPERIMENT, BaseTrackingService, MetricPoint
from modelcycle.tracking._rows import experiment_record, insert_metrics, insert_pairs, load_runs
from modelcycle.tracking._search import build_search_query
from modelcycle.tracking._validation import (
    check_key,
    check_name,
    metric_step,
    metric_value,
    param_values,
    tag_values,
)
from modelcycle.tracking.entities import (
    ArtifactInfo,
    Experiment,
    ExperimentPage,
    MetricHistory,
    Run,
    RunInput,
    RunPage,
    RunStatus,
    from_millis,
)

MAX_SEARCH_RESULTS = 50_000

# Statements on the run-creation and metric paths, built once: constructing a statement costs
# more than executing it on a handful of rows.
_SELECT_EXPERIMENT = select(experiments.c.name, experiments.c.lifecycle_stage).where(
    experiments.c.id == bindparam("experiment_id")
)
# A new run holds its experiment's row (FOR SHARE on PostgreSQL) until it commits, so a delete
# of the experiment waits for it, or it sees the delete: a run never lands in a deleted one.
_SELECT_EXPERIMENT_SHARED = _SELECT_EXPERIMENT.with_for_update(read=True)
_ACTIVE, _DELETED = "active", "deleted"
_DELETED_IDS = select(experiments.c.id).where(experiments.c.lifecycle_stage == _DELETED)
_ANY_DELETED_EXPERIMENT = _DELETED_IDS.limit(1)
_SELECT_STATUS = select(runs.c.status).where(runs.c.id == bindparam("run_id"))
_NEW_RUN_COLUMNS = (
    "id", "experiment_id", "name", "status", "start_time", "parent_run_id", "lifecycle_stage",
    "environment",
)  # fmt: skip
_END_RUN = (
    update(runs)
    .where(runs.c.id == bindparam("run_id"), runs.c.status == RunStatus.RUNNING.value)
    .values(status=bindparam("final_status"), end_time=bindparam("ended_at"))
)


class TrackingService(BaseTrackingService):
    """Tracking over a :class:`~modelcycle.store.Store`.

    >>> from modelcycle.config import resolve_uri
    >>> from modelcycle.store import open_store
    >>> service = TrackingService(open_store(resolve_uri("/tmp/mc-doctest")))
    >>> experiment = service.get_or_create_experiment("doctest")
    """

    def __init__(self, store: Store) -> None:
        self._store = store

    @property
    def store(self) -> Store:
        return self._store

    def close(self) -> None:
        """Release the database connections."""
        self._store.close()

    # -- experiments -------------------------------------------------------------------------

    def create_experiment(self, name: str, tags: Mapping[str, str] | None = None) -> Experiment:
        check_name("experiment", name)
        checked_tags = tag_values(tags or {})
        created = now_ms()
        with self._store.write() as connection:
            _require_free_name(connection, name)
            experiment_id = connection.execute(
                insert(experiments)
                .values(name=name, created_at=created, tags=checked_tags, lifecycle_stage="active")
                .returning(experiments.c.id)
            ).scalar_one()
        return Experiment(
            id=experiment_id, name=name, created_at=from_millis(created), tags=checked_tags
        )

    def get_experiment(self, name_or_id: str | int) -> Experiment:
        with self._store.read() as connection:
            return experiment_record(_experiment_row(connection, name_or_id))

    def get_or_create_experiment(self, name: str) -> Experiment:
        try:
            return self.get_experiment(name)
        except NotFound:
            pass
        try:
            return self.create_experiment(name)
        except AlreadyExists:  # another process created it between our read and our write
            return self.get_experiment(name)

    def list_experiments(
        self, *, limit: int = 100, page_token: str | None = None, include_deleted: bool = False
    ) -> ExperimentPage:
        _check_limit(limit)
        fingerprint = page_tokens.fingerprint("experiments", include_deleted)
        offset = page_tokens.decode(page_token, fingerprint)
        query = select(experiments).order_by(experiments.c.name).limit(limit + 1).offset(offset)
        if not include_deleted:
            query = query.where(experiments.c.lifecycle_stage == _ACTIVE)
        with self._store.read() as connection:
            rows = connection.execute(query).all()
        token = page_tokens.encode(offset + limit, fingerprint) if len(rows) > limit else None
        return ExperimentPage(
            experiments=[experiment_record(r) for r in rows[:limit]], next_page_token=token
        )

    def rename_experiment(self, name_or_id: str | int, new_name: str) -> Experiment:
        check_name("experiment", new_name)
        with self._store.write() as connection:
            row = _experiment_row(connection, name_or_id, for_update=True)
            if row.name == new_name:  # a retried rename, or nothing to do
                return experiment_record(row)
            _require_free_name(connection, new_name)
            if row.lifecycle_stage == _DELETED and new_name == DEFAULT_EXPERIMENT:
                raise _default_refused(f"deleted experiment {row.name!r} cannot take that name")
            connection.execute(
                update(experiments).where(experiments.c.id == row.id).values(name=new_name)
            )
        return experiment_record(row).model_copy(update={"name": new_name})

    def delete_experiment(self, name_or_id: str | int) -> Experiment:
        return self._set_experiment_stage(name_or_id, _DELETED)

    def restore_experiment(self, name_or_id: str | int) -> Experiment:
        return self._set_experiment_stage(name_or_id, _ACTIVE)

    def _set_experiment_stage(self, name_or_id: str | int, stage: str) -> Experiment:
        # Only the experiment's row changes: its runs keep their own stage, and are hidden
        # through it (search, get_run, purge), so a restore gives back exactly what was active.
        with self._store.write() as connection:
            row = _experiment_row(connection, name_or_id, for_update=True)
            if stage == _DELETED and row.name == DEFAULT_EXPERIMENT:
                raise _default_refused(f"experiment {row.name!r} cannot be deleted")
            if row.lifecycle_stage != stage:
                change = update(experiments).where(experiments.c.id == row.id)
                connection.execute(change.values(lifecycle_stage=stage))
        return experiment_record(row).model_copy(update={"lifecycle_stage": stage})

    # -- runs --------------------------------------------------------------------------------

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
        run_id = uuid.uuid4().hex
        run_name = check_name("run", name) if name is not None else f"run-{run_id[:8]}"
        checked_params = param_values(params or {})
        checked_tags = tag_values(tags or {})
        started = now_ms()
        with self._store.write() as connection:
            experiment = connection.execute(
                _SELECT_EXPERIMENT_SHARED, {"experiment_id": experiment_id}
            ).first()
            if experiment is None:
                raise NotFound(
                    f"experiment id {experiment_id} does not exist",
                    details={"experiment_id": experiment_id},
                )
            if experiment.lifecycle_stage != _ACTIVE:
                raise InvalidInput(
                    f"experiment {experiment.name!r} (id {experiment_id}) is deleted and "
                    "accepts no new run: restore it with `modelcycle experiments restore "
                    f"{experiment.name}` (mc.restore_experiment), or log to another experiment",
                    details={"experiment": experiment.name, "experiment_id": experiment_id},
                )
            if parent_run_id is not None:
                _require_run(connection, parent_run_id)
            insert_rows(
                connection,
                runs,
                _NEW_RUN_COLUMNS,
                [
                    (
                        run_id,
                        experiment_id,
                        run_name,
                        RunStatus.RUNNING.value,
                        started,
                        parent_run_id,
                        _ACTIVE,
                        json.dumps(dict(environment or {})),
                    )
                ],
            )
            insert_pairs(connection, params_table, run_id, checked_params)
            insert_pairs(connection, tags_table, run_id, checked_tags)
        return Run(
            id=run_id,
            experiment_id=experiment_id,
            experiment=experiment.name,
            name=run_name,
            status=RunStatus.RUNNING,
            start_time=from_millis(started),
            parent_run_id=parent_run_id,
            params=checked_params,
            tags=checked_tags,
            environment=dict(environment or {}),
        )

    def get_run(self, run_id: str) -> Run:
        with self._store.read() as connection:
            loaded = load_runs(connection, [run_id])
        if not loaded:
            raise _run_not_found(run_id)
        return loaded[0]

    def end_run(
        self,
        run_id: str,
        status: RunStatus = RunStatus.FINISHED,
        *,
        metrics: Sequence[MetricPoint] = (),
    ) -> None:
        final = _end_status(status)
        points = _checked_points(metrics)
        with self._store.write() as connection:
            # The guarded UPDATE both ends the run and checks it was running, in one statement.
            ended = connection.execute(
                _END_RUN, {"run_id": run_id, "final_status": final.value, "ended_at": now_ms()}
            ).rowcount
            if not ended:
                _require_running(connection, run_id)
            insert_metrics(connection, run_id, points)

    def delete_run(self, run_id: str) -> None:
        with self._store.write() as connection:
            _require_run(connection, run_id)
            connection.execute(
                update(runs).where(runs.c.id == run_id).values(lifecycle_stage="deleted")
            )

    def purge_deleted_runs(self, *, dry_run: bool = False) -> int:
        # A deleted experiment's runs go too (as MLflow's gc does), or deleting an experiment
        # could never free its artifacts; the experiment's row stays, restorable and empty.
        deleted = or_(runs.c.lifecycle_stage == _DELETED, runs.c.experiment_id.in_(_DELETED_IDS))
        if dry_run:
            with self._store.read() as connection:
                return int(
                    connection.execute(
                        select(func.count()).select_from(runs).where(deleted)
                    ).scalar_one()
                )
        with self._store.write() as connection:
            # Child rows go by ON DELETE CASCADE, in this same transaction.
            return int(connection.execute(delete(runs).where(deleted)).rowcount)

    # -- params and tags ---------------------------------------------------------------------

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        checked = param_values(params)
        if not checked:
            return
        with self._store.write() as connection:
            _require_running(connection, run_id)
            existing = dict(
                connection.execute(
                    select(params_table.c.key, params_table.c.value).where(
                        params_table.c.run_id == run_id, params_table.c.key.in_(checked)
                    )
                ).all()
            )
            for key, old in existing.items():
                if old != checked[key]:
                    raise InvalidInput(
                        f"param {key!r} of run {run_id} was logged as {old!r}; it cannot change "
                        f"to {checked[key]!r}. Params are fixed inputs: use a metric or a tag "
                        "for values that change.",
                        details={"key": key, "old": old, "new": checked[key]},
                    )
            new = {key: value for key, value in checked.items() if key not in existing}
            insert_pairs(connection, params_table, run_id, new)

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        checked = tag_values(tags)
        with self._store.write() as connection:
            _require_run(connection, run_id)
            upsert_rows(
                connection,
                tags_table,
                ("run_id", "key", "value"),
                [(run_id, k, v) for k, v in checked.items()],
                key_columns=["run_id", "key"],
                update_columns=["value"],
            )

    def delete_tag(self, run_id: str, key: str) -> None:
        with self._store.write() as connection:
            _require_run(connection, run_id)
            deleted = connection.execute(
                delete(tags_table).where(tags_table.c.run_id == run_id, tags_table.c.key == key)
            ).rowcount
        if not deleted:
            raise NotFound(f"run {run_id} has no tag {key!r}", details={"key": key})

    # -- metrics -----------------------------------------------------------------------------

    def log_metrics(self, run_id: str, points: Sequence[MetricPoint]) -> None:
        checked = _checked_points(points)
        if not checked:
            return
        with self._store.write() as connection:
            _require_running(connection, run_id)
            insert_metrics(connection, run_id, checked)

    def get_metric_history(self, run_id: str, key: str) -> MetricHistory:
        query = (
            select(metrics.c.step, metrics.c.value, metrics.c.timestamp)
            .where(metrics.c.run_id == run_id, metrics.c.key == key)
            .order_by(metrics.c.step, metrics.c.timestamp, metrics.c.id)
        )
        with self._store.read() as connection:
            rows = connection.execute(query).all()
            if not rows:
                _require_run(connection, run_id)
                known = list(
                    connection.scalars(
                        select(latest_metrics.c.key).where(latest_metrics.c.run_id == run_id)
                    )
                )
                raise NotFound(
                    f"run {run_id} has no metric {key!r}; its metrics are: "
                    f"{', '.join(sorted(known)) or '(none)'}",
                    details={"key": key, "known": sorted(known)},
                )
        steps, values, stamps = zip(*rows, strict=True)
        return MetricHistory(
            run_id=run_id,
            key=key,
            steps=list(steps),
            values=[math.nan if v is None else v for v in values],
            timestamps=list(stamps),
        )

    # -- artifacts and inputs ----------------------------------------------------------------

    def log_artifact(
        self, run_id: str, local_path: str | Path, artifact_path: str | None = None
    ) -> list[ArtifactInfo]:
        files = _artifacts.files_to_log(local_path, artifact_path)
        with self._store.read() as connection:
            _require_run(connection, run_id)
        # Objects go in first; an object whose index row never lands is swept by gc later.
        logged = []
        for source, path in files:
            info = self._store.objects.put_file(source)
            logged.append(ArtifactInfo(path=path, digest=info.digest, size=info.size))
        with self._store.write() as connection:
            _require_run(connection, run_id)
            upsert_rows(
                connection,
                artifacts,
                ("run_id", "path", "digest", "size"),
                [(run_id, item.path, item.digest, item.size) for item in logged],
                key_columns=["run_id", "path"],
                update_columns=["digest", "size"],
            )
        return logged

    def list_artifacts(self, run_id: str, prefix: str | None = None) -> list[ArtifactInfo]:
        with self._store.read() as connection:
            _require_run(connection, run_id)
            return _artifact_rows(connection, run_id, prefix)

    def download_artifacts(self, run_id: str, path: str, dest: str | Path) -> Path:
        requested = _artifacts.artifact_path(path) if path else ""
        with self._store.read() as connection:
            _require_run(connection, run_id)
            found = _artifact_rows(connection, run_id, requested or None)
        if not found:
            raise NotFound(
                f"run {run_id} has no artifact at {path!r}",
                details={"run_id": run_id, "path": path},
            )
        destination = Path(dest)
        single = len(found) == 1 and found[0].path == requested
        for item in found:
            target = _artifacts.download_target(
                requested, item.path, destination, single_file=single
            )
            self._store.objects.copy_to(item.digest, target)
        return (
            destination / Path(requested).name if single and destination.is_dir() else destination
        )

    def log_inputs(self, run_id: str, inputs: Sequence[RunInput]) -> None:
        for item in inputs:
            check_name("dataset", item.dataset)
            check_key("input role", item.role)
        with self._store.write() as connection:
            _require_run(connection, run_id)
            upsert_rows(
                connection,
                run_inputs,
                ("run_id", "dataset", "version", "role", "digest"),
                [(run_id, i.dataset, i.version, i.role, i.digest) for i in inputs],
                key_columns=["run_id", "dataset", "version", "role"],
                update_columns=["digest"],
            )

    # -- search ------------------------------------------------------------------------------

    def search_runs(
        self,
        experiment_ids: Sequence[int] | None,
        *,
        filter: str | None = None,
        order_by: Sequence[str] | None = None,
        limit: int = 1000,
        page_token: str | None = None,
    ) -> RunPage:
        _check_limit(limit)
        ids = None if experiment_ids is None else sorted(int(i) for i in experiment_ids)
        fingerprint = page_tokens.fingerprint("runs", ids, filter or "", list(order_by or []))
        offset = page_tokens.decode(page_token, fingerprint)
        query = build_search_query(ids, filter, order_by, limit + 1, offset)
        with self._store.read() as connection:
            # Runs of deleted experiments are hidden; with none (usual), the query is untouched.
            if connection.execute(_ANY_DELETED_EXPERIMENT).first() is not None:
                query = query.where(runs.c.experiment_id.not_in(_DELETED_IDS))
            found = list(connection.scalars(query))
            loaded = load_runs(connection, found[:limit])
        token = page_tokens.encode(offset + limit, fingerprint) if len(found) > limit else None
        return RunPage(runs=loaded, next_page_token=token)


def _check_limit(limit: int) -> None:
    if not isinstance(limit, int) or not 1 <= limit <= MAX_SEARCH_RESULTS:
        raise InvalidInput(
            f"limit must be an integer from 1 to {MAX_SEARCH_RESULTS}, got {limit!r}",
            details={"limit": limit},
        )


def _end_status(status: RunStatus | str) -> RunStatus:
    try:
        final = RunStatus(status)
    except ValueError:
        final = None
    if final is None or final is RunStatus.RUNNING:
        raise InvalidInput(
            f"a run ends as FINISHED, FAILED or KILLED, not {status!r}",
            details={"status": str(status)},
        )
    return final


def _checked_points(points: Iterable[MetricPoint]) -> list[MetricPoint]:
    """Validate points that may come from anywhere; plain floats and ints take the fast path."""
    checked: list[MetricPoint] = []
    seen_keys: set[str] = set()
    for key, value, step, stamp in points:
        if key not in seen_keys:
            check_key("metric", key)
            seen_keys.add(key)
        if type(value) is not float:
            value = metric_value(key, value)
        if type(step) is not int:
            step = metric_step(key, step)
        if type(stamp) is not int:
            stamp = metric_step(key, stamp)
        checked.append((key, value, step, stamp))
    return checked


def _experiment_row(
    connection: Connection, name_or_id: str | int, *, for_update: bool = False
) -> Any:
    """The ``experiments`` row named by its name (str) or id (int), whatever its stage.

    ``for_update`` locks it until the transaction ends (PostgreSQL; SQLite's writes are
    serialised anyway): a rename and a delete of one experiment at once then see each other,
    so "Default is never deleted" holds.
    """
    column = experiments.c.id if isinstance(name_or_id, int) else experiments.c.name
    row = None
    if _storable(name_or_id):  # a value no row can hold is no experiment, on every backend
        query = select(experiments).where(column == name_or_id)
        row = connection.execute(query.with_for_update() if for_update else query).first()
    if row is None:
        raise NotFound(
            f"experiment {name_or_id!r} does not exist; `modelcycle experiments list --all` "
            "shows the existing ones, and start_run(experiment=…) creates one.",
            details={"experiment": name_or_id},
        )
    return row


def _storable(name_or_id: str | int) -> bool:
    """Whether the value fits an experiment's id or name column (PostgreSQL refuses the others
    with an error where SQLite finds nothing)."""
    if isinstance(name_or_id, int):
        return -(2**31) <= name_or_id < 2**31
    return "\x00" not in name_or_id


def _require_free_name(connection: Connection, name: str) -> None:
    """Raise ``AlreadyExists`` when an experiment, active or deleted, has this name."""
    query = select(experiments.c.lifecycle_stage).where(experiments.c.name == name)
    stage = connection.execute(query).scalar()
    if stage == _DELETED:
        raise AlreadyExists(
            f"experiment {name!r} already exists and is deleted: restore it with `modelcycle "
            f"experiments restore {name}`, or rename it to free the name with `modelcycle "
            f"experiments rename {name} NEW_NAME`",
            details={"experiment": name, "lifecycle_stage": stage},
        )
    if stage is not None:
        raise AlreadyExists(f"experiment {name!r} already exists", details={"experiment": name})


def _default_refused(refusal: str) -> InvalidInput:
    return InvalidInput(
        f"{refusal}: {DEFAULT_EXPERIMENT!r} is the default experiment, where start_run() "
        "without an experiment logs, so it is never deleted (as in MLflow). Restore a deleted "
        "experiment first; to set the default one's runs aside, rename it (a new Default is "
        "made on first use) or delete the runs.",
        details={"default_experiment": DEFAULT_EXPERIMENT},
    )


def _run_not_found(run_id: str) -> NotFound:
    return NotFound(
        f"run {run_id!r} does not exist; `modelcycle runs list` shows existing runs",
        details={"run_id": run_id},
    )


def _require_run(connection: Connection, run_id: str) -> str:
    """The run's status; raises ``NotFound`` when there is no such run."""
    status = connection.execute(_SELECT_STATUS, {"run_id": run_id}).scalar()
    if status is None:
        raise _run_not_found(run_id)
    return str(status)


def _require_running(connection: Connection, run_id: str) -> None:
    status = _require_run(connection, run_id)
    if status != RunStatus.RUNNING.value:
        raise InvalidInput(
            f"run {run_id} has ended ({status}); it accepts no more params or metrics. "
            "Start a new run, or tag this one.",
            details={"run_id": run_id, "status": status},
        )


def _artifact_rows(connection: Connection, run_id: str, prefix: str | None) -> list[ArtifactInfo]:
    query = select(artifacts.c.path, artifacts.c.digest, artifacts.c.size).where(
        artifacts.c.run_id == run_id
    )
    if prefix:
        query = query.where(
            or_(
                artifacts.c.path == prefix,
                artifacts.c.path.like(_artifacts.like_prefix(prefix), escape="\\"),
            )
        )
    rows = connection.execute(query.order_by(artifacts.c.path)).all()
    return [ArtifactInfo(path=r.path, digest=r.digest, size=r.size) for r in rows]
