"""``/api/v1/experiments``: create, get by id or name, get-or-create, list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from modelcycle.server._json import RecordResponse
from modelcycle.server.deps import TrackingDep, role_by_method
from modelcycle.server.routers import ID_MAX, PageToken, page_limit
from modelcycle.server.schemas.tracking import ExperimentCreate
from modelcycle.tracking.entities import Experiment, ExperimentPage
from modelcycle.tracking.service import MAX_SEARCH_RESULTS

router = APIRouter(prefix="/experiments", tags=["experiments"], dependencies=[role_by_method])

ExperimentName = Annotated[str, Path(min_length=1, max_length=250)]
Limit = page_limit(MAX_SEARCH_RESULTS)


@router.get("", response_model=ExperimentPage, summary="List active experiments by name")
def list_experiments(
    tracking: TrackingDep,
    limit: Limit = 100,
    page_token: PageToken = None,
) -> RecordResponse:
    return RecordResponse(tracking.list_experiments(limit=limit, page_token=page_token))


@router.post("", response_model=Experiment, status_code=201, summary="Create an experiment")
def create_experiment(body: ExperimentCreate, tracking: TrackingDep) -> RecordResponse:
    return RecordResponse(tracking.create_experiment(body.name, body.tags), status_code=201)


@router.get("/{experiment_id}", response_model=Experiment, summary="An experiment by id")
def get_experiment(
    experiment_id: Annotated[int, Path(ge=-ID_MAX, le=ID_MAX)], tracking: TrackingDep
) -> RecordResponse:
    return RecordResponse(tracking.get_experiment(experiment_id))


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
