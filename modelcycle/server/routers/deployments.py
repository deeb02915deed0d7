"""``/api/v1/deployments``: a deployment's routing (A/B splits, shadows, canaries), its history
and live status, through :class:`~modelcycle.serving.deployments.DeploymentService`.

Every change is one ``POST`` that the service applies as one compare-and-set revision, so two
people splitting the same deployment at once both land, one after the other. The server only
records and answers: serving processes (``modelcycle serve --deployment NAME``) poll the store
and swap the new routing in. Reads need ``viewer``, changes ``editor``; the actor recorded in the
history is the token's user (see ``routers/models.py`` for the ``--no-auth`` exception), and the
audit middleware logs every change with its outcome.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam

from modelcycle.server._json import RecordResponse
from modelcycle.server._pages import page_of
from modelcycle.server.deps import ServicesDep, role_by_method
from modelcycle.server.routers import PageToken, page_limit
from modelcycle.server.routers.models import ActorDep
from modelcycle.server.schemas.deployments import (
    CanaryBody,
    DeploymentCreate,
    DeploymentPage,
    PromoteBody,
    RevisionList,
    RollbackBody,
    ShadowBody,
    SplitBody,
)
from modelcycle.serving._deploy_entities import Deployment, DeploymentStatus
from modelcycle.serving._deploy_spec import check_deployment_name
from modelcycle.serving.deployments import DEFAULT_WINDOW_S, MAX_LIST, DeploymentService

router = APIRouter(prefix="/deployments", tags=["deployments"], dependencies=[role_by_method])


def deployment_service(services: ServicesDep) -> DeploymentService:
    """The deployment service over the server's store (thin: one per request costs nothing)."""
    return DeploymentService(services.tracking.store)


def deployment_name(name: Annotated[str, PathParam(max_length=100)]) -> str:
    return check_deployment_name(name)


DeploymentsDep = Annotated[DeploymentService, Depends(deployment_service)]
DeploymentName = Annotated[str, Depends(deployment_name)]


@router.get("", response_model=DeploymentPage, summary="Deployments, by name")
def list_deployments(
    service: DeploymentsDep,
    limit: page_limit(MAX_LIST) = 100,  # type: ignore[valid-type]
    page_token: PageToken = None,
) -> RecordResponse:
    found = service.list_deployments(limit=MAX_LIST)
    items, token = page_of(found, limit, page_token, "deployments")
    return RecordResponse({"deployments": items, "next_page_token": token})


@router.post(
    "",
    response_model=Deployment,
    status_code=201,
    summary="Create a deployment sending all its traffic to one model (revision 1)",
)
def create(body: DeploymentCreate, service: DeploymentsDep, who: ActorDep) -> RecordResponse:
    return RecordResponse(service.create(body.name, body.model, actor=who), status_code=201)


@router.get("/{name}", response_model=Deployment, summary="A deployment and its routing now")
def get(name: DeploymentName, service: DeploymentsDep) -> RecordResponse:
    return RecordResponse(service.get(name))


@router.post(
    "/{name}/split",
    response_model=Deployment,
    summary="Send a share of the traffic to another model (A/B); percent 0 removes the split",
)
def split(
    name: DeploymentName, body: SplitBody, service: DeploymentsDep, who: ActorDep
) -> RecordResponse:
    changed = service.split(
        name, body.target, body.percent, sticky_header=body.sticky_header, actor=who
    )
    return RecordResponse(changed)


@router.post(
    "/{name}/shadow",
    response_model=Deployment,
    summary="Mirror every request to another model too (or stop, with remove)",
)
def shadow(
    name: DeploymentName, body: ShadowBody, service: DeploymentsDep, who: ActorDep
) -> RecordResponse:
    return RecordResponse(service.shadow(name, body.target, remove=body.remove, actor=who))


@router.post(
    "/{name}/canary",
    response_model=Deployment,
    summary="Roll a model out in steps, gated on its error rate and p99 latency",
)
def canary(
    name: DeploymentName, body: CanaryBody, service: DeploymentsDep, who: ActorDep
) -> RecordResponse:
    changed = service.canary(
        name,
        body.target,
        steps=body.steps,
        interval_s=body.interval_s,
        max_error_rate=body.max_error_rate,
        max_p99_ms=body.max_p99_ms,
        min_requests=body.min_requests,
        actor=who,
    )
    return RecordResponse(changed)


@router.post(
    "/{name}/promote",
    response_model=Deployment,
    summary="Make the canary's or the split's model the primary",
)
def promote(
    name: DeploymentName, service: DeploymentsDep, who: ActorDep, body: PromoteBody | None = None
) -> RecordResponse:
    target = body.target if body else None
    return RecordResponse(service.promote(name, target=target, actor=who))


@router.post(
    "/{name}/rollback",
    response_model=Deployment,
    summary="Return to the previous routing (or a given revision's), as a new revision",
)
def rollback(
    name: DeploymentName,
    service: DeploymentsDep,
    who: ActorDep,
    body: RollbackBody | None = None,
) -> RecordResponse:
    revision = body.revision if body else None
    return RecordResponse(service.rollback(name, revision=revision, actor=who))


@router.get(
    "/{name}/history", response_model=RevisionList, summary="Routing changes, newest first"
)
def history(
    name: DeploymentName,
    service: DeploymentsDep,
    limit: page_limit(MAX_LIST) = 50,  # type: ignore[valid-type]
) -> RecordResponse:
    return RecordResponse({"revisions": service.history(name, limit=limit)})


@router.get(
    "/{name}/status",
    response_model=DeploymentStatus,
    summary="Routing, resolved versions, live traffic per version, canary progress, history",
)
def status(
    name: DeploymentName,
    service: DeploymentsDep,
    window_s: Annotated[
        float, Query(gt=0, le=30 * 86400, description="Live figures over this last span, seconds.")
    ] = DEFAULT_WINDOW_S,
) -> RecordResponse:
    return RecordResponse(service.status(name, window_s=window_s))
