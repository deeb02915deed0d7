"""``/api/v1/experiments``: create, get (by id or name), get-or-create, list, rename, delete and
restore.

Reads need ``viewer``, writes ``editor`` (the router's rule). Deleting is soft and undone by a
restore, like deleting a run, so it is an editor's write too; only the purge that removes runs
for good (``POST /runs/purge``) is an admin's. Rename, delete and restore are idempotent: a
retry finds the work done and changes nothing. Every one of them is audited by the middleware.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request

from modelcycle.server._idempotency import HEADER, as_json
from modelcycle.server._json import RecordResponse
from modelcycle.server.deps import PrincipalDep, ServicesDep, TrackingDep, role_by_method
from modelcycle.server.routers import ID_MAX, PageToken, page_limit
from modelcycle.server.schemas.tracking import ExperimentCreate, ExperimentUpdate
from modelcycle.tracking.entities import Experiment, ExperimentPage
from modelcycle.tracking.service import MAX_SEARCH_RESULTS

router = APIRouter(prefix="/experiments", tags=["experiments"], dependencies=[role_by_method])

ExperimentName = Annotated[str, Path(min_length=1, max_length=250)]
ExperimentId = Annotated[int, Path(ge=-ID_MAX, le=ID_MAX)]
Limit = page_limit(MAX_SEARCH_RESULTS)
IdempotencyKey = Annotated[
    str | None,
    Header(alias=HEADER, description="A retry with the same key is answered, not redone."),
]


@router.get("", response_model=ExperimentPage, summary="List experiments by name")
def list_experiments(
    tracking: TrackingDep,
    limit: Limit = 100,
    page_token: PageToken = None,
    include_deleted: Annotated[
        bool, Query(description="List deleted experiments too (lifecycle_stage says which).")
    ] = False,
) -> RecordResponse:
    return RecordResponse(
        tracking.list_experiments(
            limit=limit, page_token=page_token, include_deleted=include_deleted
        )
    )


@router.post("", response_model=Experiment, status_code=201, summary="Create an experiment")
def create_experiment(body: ExperimentCreate, tracking: TrackingDep) -> RecordResponse:
    return RecordResponse(tracking.create_experiment(body.name, body.tags), status_code=201)


@router.get("/{experiment_id}", response_model=Experiment, summary="An experiment by id")
def get_experiment(experiment_id: ExperimentId, tracking: TrackingDep) -> RecordResponse:
    return RecordResponse(tracking.get_experiment(experiment_id))


@router.patch("/{experiment_id}", response_model=Experiment, summary="Rename an experiment")
def rename_experiment(
    experiment_id: ExperimentId, body: ExperimentUpdate, tracking: TrackingDep
) -> RecordResponse:
    return RecordResponse(tracking.rename_experiment(experiment_id, body.name))


@router.delete(
    "/{experiment_id}",
    response_model=Experiment,
    summary="Delete an experiment (soft: hidden with its runs until restored or purged)",
)
def delete_experiment(experiment_id: ExperimentId, tracking: TrackingDep) -> RecordResponse:
    return RecordResponse(tracking.delete_experiment(experiment_id))


@router.post(
    "/{experiment_id}/restore",
    response_model=Experiment,
    summary="Restore a deleted experiment with its runs",
)
def restore_experiment(
    experiment_id: ExperimentId,
    services: ServicesDep,
    request: Request,
    who: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> RecordResponse:
    def restore() -> object:
        return as_json(services.tracking.restore_experiment(experiment_id))

    scope = (who.user, request.method, request.url.path)
    return RecordResponse(services.idempotency.run(scope, idempotency_key, restore))


@router.get("/by-name/{name:path}", response_model=Experiment, summary="An experiment by name")
def get_experiment_by_name(name: ExperimentName, tracking: TrackingDep) -> RecordResponse:
    return RecordResponse(tracking.get_experiment(name))


@router.put(
    "/by-name/{name:path}",
    response_model=Experiment,
    summary="The experiment with this name, created if missing (idempotent)",
)
def get_or_create_experiment(name: ExperimentName, tracking: TrackingDep) -> RecordResponse:
    return RecordResponse(tracking.get_or_create_experiment(name))
