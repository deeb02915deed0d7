"""Reading registry rows into records: lookups that raise the right ``NotFound`` and loaders
that fetch a page of versions with their aliases, tags and datasets in one query each."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, func, select

from modelcycle.errors import NotFound
from modelcycle.registry.entities import (
    ModelDatasetRef,
    ModelEvaluation,
    ModelPolicy,
    ModelVersion,
    RegisteredModel,
    RegistryEvent,
    RequestStatus,
    Stage,
    TransitionRequest,
)
from modelcycle.store.tables.registry import (
    model_aliases,
    model_evaluations,
    model_tags,
    model_version_datasets,
    model_version_tags,
    model_versions,
    registered_models,
    registry_events,
    transition_requests,
)
from modelcycle.store.tables.tracking import latest_metrics
from modelcycle.tracking.entities import from_millis


def model_row(connection: Connection, name: str, *, for_update: bool = False) -> Row[Any]:
    """The registered model's row.

    Raises:
        NotFound: no model has this name.
    """
    query = select(registered_models).where(registered_models.c.name == name)
    row = connection.execute(query.with_for_update() if for_update else query).first()
    if row is None:
        raise NotFound(
            f"registered model {name!r} does not exist; `modelcycle models list` shows the "
            "registered models, and run.log_model(…, name=…) registers one.",
            details={"name": name},
        )
    return row


def version_row(connection: Connection, name: str, version: int) -> Row[Any]:
    """The row of ``name`` version ``version`` (with ``name`` attached).

    Raises:
        NotFound: no such model or version (the message gives the model's latest version).
    """
    model = model_row(connection, name)
    row = connection.execute(
        select_versions().where(
            model_versions.c.model_id == model.id, model_versions.c.version == version
        )
    ).first()
    if row is None:
        latest = connection.scalar(
            select(func.max(model_versions.c.version)).where(model_versions.c.model_id == model.id)
        )
        raise NotFound(
            f"model {name!r} has no version {version}; its versions are "
            f"{'1 to ' + str(latest) if latest else 'none yet'}",
            details={"name": name, "version": version, "latest": latest},
        )
    return row


def version_in_stage(connection: Connection, name: str, stage: str) -> Row[Any]:
    """The newest version of ``name`` in ``stage`` (``latest``: the newest of all).

    Raises:
        NotFound: no version is in that stage.
    """
    model = model_row(connection, name)
    query = select_versions().where(model_versions.c.model_id == model.id)
    if stage != "latest":
        query = query.where(model_versions.c.stage == stage)
    row = connection.execute(query.order_by(model_versions.c.version.desc()).limit(1)).first()
    if row is None:
        raise NotFound(
            f"model {name!r} has no version in stage {stage!r}",
            details={"name": name, "stage": stage},
        )
    return row


def aliased_version(connection: Connection, name: str, alias: str) -> Row[Any]:
    """The version ``name@alias`` points to.

    Raises:
        NotFound: the model has no such alias (the message lists its aliases).
    """
    model = model_row(connection, name)
    row = connection.execute(
        select_versions()
        .join(model_aliases, model_aliases.c.version_id == model_versions.c.id)
        .where(model_aliases.c.model_id == model.id, model_aliases.c.alias == alias)
    ).first()
    if row is None:
        known = sorted(
            connection.scalars(
                select(model_aliases.c.alias).where(model_aliases.c.model_id == model.id)
            )
        )
        raise NotFound(
            f"model {name!r} has no alias {alias!r}; its aliases are: "
            f"{', '.join(known) or '(none)'}",
            details={"name": name, "alias": alias, "known": known},
        )
    return row


def versions(connection: Connection, rows: Sequence[Row[Any]]) -> list[ModelVersion]:
    """Records for version rows (from ``_select_versions``), with aliases, tags and datasets."""
    ids = [row.id for row in rows]
    aliases: dict[int, list[str]] = defaultdict(list)
    tags: dict[int, dict[str, str]] = defaultdict(dict)
    datasets: dict[int, list[ModelDatasetRef]] = defaultdict(list)
    if ids:
        for version_id, alias in connection.execute(
            select(model_aliases.c.version_id, model_aliases.c.alias)
            .where(model_aliases.c.version_id.in_(ids))
            .order_by(model_aliases.c.alias)
        ):
            aliases[version_id].append(alias)
        for version_id, key, value in connection.execute(
            select(model_version_tags).where(model_version_tags.c.version_id.in_(ids))
        ):
            tags[version_id][key] = value
        for item in connection.execute(
            select(model_version_datasets)
            .where(model_version_datasets.c.version_id.in_(ids))
            .order_by(model_version_datasets.c.role, model_version_datasets.c.dataset)
        ):
            datasets[item.version_id].append(
                ModelDatasetRef(dataset=item.dataset, version=item.dataset_version, role=item.role)
            )
    return [
        ModelVersion(
            name=row.name,
            version=row.version,
            stage=Stage(row.stage),
            status=row.status,
            flavor=row.flavor,
            manifest_digest=row.manifest_digest,
            run_id=row.run_id,
            code_commit=row.code_commit,
            signature=row.signature,
            description=row.description,
            created_by=row.created_by,
            created_at=from_millis(row.created_at),
            updated_at=from_millis(row.updated_at),
            aliases=tuple(aliases[row.id]),
            tags=tags[row.id],
            datasets=tuple(datasets[row.id]),
        )
        for row in rows
    ]


def models(connection: Connection, rows: Sequence[Row[Any]]) -> list[RegisteredModel]:
    """Records for registered-model rows, with latest/production versions, aliases and tags."""
    ids = [row.id for row in rows]
    latest: dict[int, int] = {}
    production: dict[int, int] = {}
    aliases: dict[int, dict[str, int]] = defaultdict(dict)
    tags: dict[int, dict[str, str]] = defaultdict(dict)
    if ids:
        latest = dict(
            connection.execute(
                select(model_versions.c.model_id, func.max(model_versions.c.version))
                .where(model_versions.c.model_id.in_(ids))
                .group_by(model_versions.c.model_id)
            ).all()
        )
        production = dict(
            connection.execute(
                select(model_versions.c.model_id, func.max(model_versions.c.version))
                .where(
                    model_versions.c.model_id.in_(ids),
                    model_versions.c.stage == Stage.PRODUCTION.value,
                )
                .group_by(model_versions.c.model_id)
            ).all()
        )
        for model_id, alias, number in connection.execute(
            select(model_aliases.c.model_id, model_aliases.c.alias, model_versions.c.version)
            .join(model_versions, model_versions.c.id == model_aliases.c.version_id)
            .where(model_aliases.c.model_id.in_(ids))
            .order_by(model_aliases.c.alias)
        ):
            aliases[model_id][alias] = number
        for model_id, key, value in connection.execute(
            select(model_tags).where(model_tags.c.model_id.in_(ids))
        ):
            tags[model_id][key] = value
    return [
        RegisteredModel(
            name=row.name,
            description=row.description,
            created_at=from_millis(row.created_at),
            updated_at=from_millis(row.updated_at),
            created_by=row.created_by,
            latest_version=latest.get(row.id),
            production_version=production.get(row.id),
            aliases=aliases[row.id],
            tags=tags[row.id],
            policy=None if row.policy is None else ModelPolicy.model_validate(row.policy),
        )
        for row in rows
    ]


def request_record(row: Row[Any]) -> TransitionRequest:
    """A record for a row of ``select_requests()``."""
    return TransitionRequest(
        id=row.id,
        name=row.name,
        version=row.version,
        from_stage=Stage(row.from_stage),
        to_stage=Stage(row.to_stage),
        status=RequestStatus(row.status),
        requested_by=row.requested_by,
        comment=row.comment,
        created_at=from_millis(row.created_at),
        decided_by=row.decided_by,
        decision_comment=row.decision_comment,
        decided_at=from_millis(row.decided_at),
    )


def select_requests() -> Any:
    """Transition requests with their model's name and version number."""
    return (
        select(
            transition_requests,
            registered_models.c.name,
            model_versions.c.version,
        )
        .join(model_versions, model_versions.c.id == transition_requests.c.version_id)
        .join(registered_models, registered_models.c.id == model_versions.c.model_id)
    )


def select_events() -> Any:
    """Registry events with their model's name and version number (if any)."""
    return (
        select(registry_events, registered_models.c.name, model_versions.c.version)
        .join(registered_models, registered_models.c.id == registry_events.c.model_id)
        .outerjoin(model_versions, model_versions.c.id == registry_events.c.version_id)
    )


def event_record(row: Row[Any]) -> RegistryEvent:
    return RegistryEvent(
        id=row.id,
        name=row.name,
        version=row.version,
        kind=row.kind,
        actor=row.actor,
        at=from_millis(row.at),
        details=row.details or {},
    )


def select_evaluations() -> Any:
    """Evaluations with their model's name and version number."""
    return (
        select(model_evaluations, registered_models.c.name, model_versions.c.version)
        .join(model_versions, model_versions.c.id == model_evaluations.c.version_id)
        .join(registered_models, registered_models.c.id == model_versions.c.model_id)
    )


def evaluation_record(row: Row[Any]) -> ModelEvaluation:
    return ModelEvaluation(
        id=row.id,
        name=row.name,
        version=row.version,
        run_id=row.run_id,
        dataset=row.dataset,
        metrics=row.metrics,
        result=row.result,
        created_by=row.created_by,
        created_at=from_millis(row.created_at),
    )


def version_metrics(connection: Connection, version_id: int, run_id: str | None) -> dict[str, Any]:
    """What gates read: the latest attached evaluation's metrics, else the run's latest metrics.

    Returns:
        ``{"metrics": {...}, "source": "evaluation <id>" | "run <id>" | "none"}``.
    """
    evaluation = connection.execute(
        select(model_evaluations.c.id, model_evaluations.c.metrics)
        .where(model_evaluations.c.version_id == version_id)
        .order_by(model_evaluations.c.id.desc())
        .limit(1)
    ).first()
    if evaluation is not None:
        return {"metrics": dict(evaluation.metrics), "source": f"evaluation {evaluation.id}"}
    if run_id is not None:
        found = {
            key: value
            for key, value in connection.execute(
                select(latest_metrics.c.key, latest_metrics.c.value).where(
                    latest_metrics.c.run_id == run_id
                )
            )
            if value is not None
        }
        if found:
            return {"metrics": found, "source": f"run {run_id}"}
    return {"metrics": {}, "source": "none"}


def select_versions() -> Any:
    return select(model_versions, registered_models.c.name).join(
        registered_models, registered_models.c.id == model_versions.c.model_id
    )
