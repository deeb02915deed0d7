"""Rows of the deployment tables as records, and the errors the service raises about them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, select

from modelcycle.errors import AlreadyExists, InvalidInput, NotFound
from modelcycle.serving._deploy_entities import Deployment, DeploymentRevision
from modelcycle.serving._deploy_spec import Routing
from modelcycle.store.tables.deployments import (
    ACTOR_LENGTH,
    deployment_revisions,
    deployments,
)


def deployment_row(connection: Connection, name: str) -> Row[Any]:
    row = connection.execute(select(deployments).where(deployments.c.name == name)).first()
    if row is None:
        raise not_found(name)
    return row


def revision_row(connection: Connection, deployment_id: int, revision: int) -> Row[Any]:
    row = connection.execute(
        select(deployment_revisions).where(
            deployment_revisions.c.deployment_id == deployment_id,
            deployment_revisions.c.revision == revision,
        )
    ).first()
    if row is None:
        raise NotFound(
            f"the deployment has no revision {revision}", details={"revision": revision}
        )
    return row


def append_revision(
    connection: Connection,
    deployment_id: int,
    revision: int,
    previous: int | None,
    action: str,
    routing: Routing,
    actor: str,
    at: int,
    details: dict[str, Any],
) -> None:
    connection.execute(
        insert(deployment_revisions).values(
            deployment_id=deployment_id, revision=revision, previous=previous, action=action,
            routing=routing.to_json(), actor=actor, at=at, details=details,
        )
    )  # fmt: skip


def deployment_record(row: Row[Any]) -> Deployment:
    return Deployment(
        name=row.name,
        revision=row.revision,
        routing=Routing.model_validate(row.routing),
        created_by=row.created_by,
        created_at=to_time(row.created_at),
        updated_at=to_time(row.updated_at),
    )


def revision_record(row: Row[Any]) -> DeploymentRevision:
    return DeploymentRevision(
        revision=row.revision,
        previous=row.previous,
        action=row.action,
        routing=Routing.model_validate(row.routing),
        actor=row.actor,
        at=to_time(row.at),
        details=row.details,
    )


def versions_of(resolved: dict[str, tuple[str, int]]) -> dict[str, int]:
    return {uri: version for uri, (_, version) in resolved.items()}


def to_time(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def not_found(name: str) -> NotFound:
    return NotFound(
        f"no deployment {name!r}; create it with "
        f"modelcycle deploy create {name} --model models:/NAME@ALIAS",
        details={"name": name},
    )


def moved(name: str, expected: int, current: int) -> AlreadyExists:
    return AlreadyExists(
        f"deployment {name!r} changed meanwhile: revision {expected} was expected, "
        f"{current} is current",
        details={"name": name, "expected": expected, "current": current},
    )


def busy(name: str) -> AlreadyExists:
    return AlreadyExists(
        f"deployment {name!r} kept changing while this change was applied; try again",
        details={"name": name},
    )


def check_actor(actor: str) -> str:
    if not isinstance(actor, str) or not actor.strip() or len(actor) > ACTOR_LENGTH:
        raise InvalidInput(f"actor must be 1 to {ACTOR_LENGTH} characters, got {actor!r}")
    return actor
