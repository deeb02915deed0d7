"""``/api/v1/runs``: runs, their params, tags, metrics and inputs, and search.

Writes that a client may retry after losing the answer (a metric batch, a run's creation, its
end) honour an ``Idempotency-Key`` header: the same key gets the first answer again instead of
a second write, on any worker process and after a restart (see ``_idempotency.py``). Batches
are bounded by ``server.max_batch``.
"""

from __future__ import annotations

from collections.abc import Callable, Sized
from typing import Annotated, TypeVar

from fastapi import APIRouter, Header, Query, Request
from pydantic import Field

from modelcycle.auth import Role
from modelcycle.errors import InvalidInput
from modelcycle.server._idempotency import HEADER, as_json
from modelcycle.server._json import RecordResponse
from modelcycle.server._pages import page_of
from modelcycle.server.deps import (
    PrincipalDep,
    Services,
    ServicesDep,
    TrackingDep,
    require,
    role_by_method,
)
from modelcycle.server.routers import ID_MAX, PageToken, page_limit
from modelcycle.server.schemas.tracking import (
    InputsCreate,
    MetricsBatch,
    ParamsUpdate,
    PurgeResult,
    RunCreate,
    RunEnd,
    TagsUpdate,
)
from modelcycle.tracking.entities import MetricHistory, Run, RunPage
from modelcycle.tracking.service import MAX_SEARCH_RESULTS

router = APIRouter(prefix="/runs", tags=["runs"], dependencies=[role_by_method])

MAX_HISTORY_PAGE = 1_000_000
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=HEADER,
        description="A fresh key per request; a retry with the same key is answered, not redone.",
    ),
]
T = TypeVar("T")


class MetricHistoryPage(MetricHistory):
    """A page of a metric's history; pass ``next_page_token`` back for the next."""

    next_page_token: str | None = None


def _once(
    services: ServicesDep,
    request: Request,
    who: PrincipalDep,
    key: str | None,
    call: Callable[[], T],
) -> T:
    scope = (who.user, request.method, request.url.path)
    return services.idempotency.run(scope, key, call)


def _check_batch(services: Services, what: str, batch: Sized) -> None:
    limit = services.settings.server.max_batch
    if len(batch) > limit:
        raise InvalidInput(
            f"{len(batch):,} {what} in one request; this server takes at most {limit:,} "
            "(MODELCYCLE_SERVER_MAX_BATCH): split the batch",
            details={"count": len(batch), "limit": limit},
        )


@router.post("", response_model=Run, status_code=201, summary="Start a run")
def create_run(
    body: RunCreate,
    services: ServicesDep,
    request: Request,
    who: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> RecordResponse:
    _check_batch(services, "params", body.params)
    _check_batch(services, "tags", body.tags)

    def create() -> object:
        run = services.tracking.create_run(
            body.experiment_id,
            name=body.name,
            params=body.params,
            tags=body.tags,
            parent_run_id=body.parent_run_id,
            environment=body.environment,
        )
        return as_json(run)  # what a retry with the key is answered from the store

    return RecordResponse(_once(services, request, who, idempotency_key, create), status_code=201)


@router.get("", response_model=RunPage, summary="Search runs")
def search_runs(
    tracking: TrackingDep,
    experiment_id: Annotated[
        list[Annotated[int, Field(ge=-ID_MAX, le=ID_MAX)]] | None,
        Query(description="Experiments to search; every one when omitted."),
    ] = None,
    filter: Annotated[
        str | None, Query(max_length=10_000, description="e.g. metrics.auc > 0.8")
    ] = None,
    order_by: Annotated[
        list[str] | None, Query(description="e.g. metrics.auc DESC (repeatable)")
    ] = None,
    limit: page_limit(MAX_SEARCH_RESULTS) = 1000,  # type: ignore[valid-type]
    page_token: PageToken = None,
) -> RecordResponse:
    page = tracking.search_runs(
        experiment_id, filter=filter, order_by=order_by, limit=limit, page_token=page_token
    )
    return RecordResponse(page)


@router.post(
    "/purge",
    response_model=PurgeResult,
    summary="Remove deleted runs for good (admin)",
    dependencies=[require(Role.ADMIN)],
)
def purge_deleted_runs(tracking: TrackingDep, dry_run: bool = False) -> PurgeResult:
    return PurgeResult(purged=tracking.purge_deleted_runs(dry_run=dry_run), dry_run=dry_run)


@router.get("/{run_id}", response_model=Run, summary="A run with everything it logged")
def get_run(run_id: str, tracking: TrackingDep) -> RecordResponse:
    return RecordResponse(tracking.get_run(run_id))


@router.delete("/{run_id}", status_code=204, summary="Hide a run (purge removes it)")
def delete_run(run_id: str, tracking: TrackingDep) -> None:
    tracking.delete_run(run_id)


@router.post("/{run_id}/end", status_code=204, summary="End a run with its last metric points")
def end_run(
    run_id: str,
    body: RunEnd,
    services: ServicesDep,
    request: Request,
    who: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> None:
    points = body.metrics.points() if body.metrics is not None else []
    _check_batch(services, "metric points", points)
    _once(
        services,
        request,
        who,
        idempotency_key,
        lambda: services.tracking.end_run(run_id, body.status, metrics=points),
    )


@router.post("/{run_id}/params", status_code=204, summary="Log params (fixed once logged)")
def log_params(run_id: str, body: ParamsUpdate, services: ServicesDep) -> None:
    _check_batch(services, "params", body.params)
    services.tracking.log_params(run_id, body.params)


@router.patch("/{run_id}/tags", status_code=204, summary="Set or overwrite tags")
def set_tags(run_id: str, body: TagsUpdate, services: ServicesDep) -> None:
    _check_batch(services, "tags", body.tags)
    services.tracking.set_tags(run_id, body.tags)


@router.delete("/{run_id}/tags/{key:path}", status_code=204, summary="Remove a tag")
def delete_tag(run_id: str, key: str, tracking: TrackingDep) -> None:
    tracking.delete_tag(run_id, key)


@router.post("/{run_id}/metrics", status_code=204, summary="Append a batch of metric points")
def log_metrics(
    run_id: str,
    body: MetricsBatch,
    services: ServicesDep,
    request: Request,
    who: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> None:
    _check_batch(services, "metric points", body)
    points = body.points()
    _once(
        services,
        request,
        who,
        idempotency_key,
        lambda: services.tracking.log_metrics(run_id, points),
    )


@router.get(
    "/{run_id}/metrics", response_model=MetricHistoryPage, summary="A metric's history, by step"
)
def get_metric_history(
    run_id: str,
    key: Annotated[str, Query(min_length=1, max_length=250)],
    tracking: TrackingDep,
    limit: page_limit(MAX_HISTORY_PAGE) = 100_000,  # type: ignore[valid-type]
    page_token: PageToken = None,
) -> RecordResponse:
    history = tracking.get_metric_history(run_id, key)
    indices, token = page_of(range(len(history.steps)), limit, page_token, "history", run_id, key)
    start, end = (indices[0], indices[-1] + 1) if indices else (0, 0)
    return RecordResponse(
        MetricHistoryPage(
            run_id=run_id,
            key=key,
            steps=history.steps[start:end],
            values=history.values[start:end],
            timestamps=history.timestamps[start:end],
            next_page_token=token,
        )
    )


@router.post("/{run_id}/inputs", status_code=204, summary="Record dataset versions the run read")
def log_inputs(run_id: str, body: InputsCreate, services: ServicesDep) -> None:
    _check_batch(services, "inputs", body.inputs)
    services.tracking.log_inputs(run_id, [item.record() for item in body.inputs])
