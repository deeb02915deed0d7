"""``/api/v1/models``: registered models, versions and their files, aliases, policy, stages,
evaluations, history and cards; ``/api/v1/transition-requests``: approvals.

Registering a version moves no model through one request body. The client uploads each file as a
blob (``PUT /models/{name}/blobs/{digest}``, streamed and re-hashed; ``POST …/blobs/missing``
first says which the server already holds), then ``POST /models/{name}/versions`` lists them by
path and digest. The server writes them into a scratch directory from verified reads and hands it
to ``RegistryService.register_model_version``, which checks every file against ``model.json`` as
it does for a local directory. A version's files come back one by one from
``GET …/versions/{v}/files/{path}``, streamed with their digest.

Who acts is always the authenticated user: the request, approval, alias move or evaluation is
recorded under the token's user, never under a name from the body, so the service's rule that a
requester cannot approve their own request holds over HTTP. Only a server run with ``--no-auth``
(loopback only, where nobody is authenticated) takes the caller's word from ``X-Modelcycle-User``,
as the embedded SDK takes ``MODELCYCLE_USER``. Setting the promotion policy needs ``admin``: an
editor who could drop the approval rule could approve their own promotions.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import StreamingResponse

from modelcycle.auth import Role
from modelcycle.errors import IntegrityError, InvalidInput, NotFound
from modelcycle.registry._uris import check_alias, check_model_name
from modelcycle.registry.entities import (
    ModelEvaluation,
    ModelVersion,
    ModelVersionPage,
    RegisteredModel,
    RegisteredModelPage,
    RequestStatus,
    TransitionRequest,
)
from modelcycle.registry.service import MAX_PAGE, RegistryService
from modelcycle.server._idempotency import HEADER as IDEMPOTENCY_HEADER
from modelcycle.server._idempotency import as_json
from modelcycle.server._json import RecordResponse
from modelcycle.server._pages import page_of
from modelcycle.server.deps import PrincipalDep, ServicesDep, require, role_by_method
from modelcycle.server.routers import PageToken, page_limit
from modelcycle.server.routers._blobs import (
    UPLOAD_BODY,
    materialise,
    missing,
    receive_blob,
    stream_object,
)
from modelcycle.server.schemas.registry import (
    AliasSet,
    Decision,
    DigestList,
    EvaluationCreate,
    EvaluationList,
    EventPage,
    FileList,
    GateList,
    MissingBlobs,
    ModelCreate,
    ModelUpdate,
    PolicySet,
    RequestList,
    TransitionCreate,
    VersionCreate,
)

ACTOR_HEADER = "X-Modelcycle-User"

models = APIRouter(prefix="/models", tags=["models"])
requests = APIRouter(prefix="/transition-requests", tags=["models"])


def registry(services: ServicesDep) -> RegistryService:
    """The registry over the server's store (a thin object: one per request costs nothing)."""
    return RegistryService(services.tracking.store)


def actor(
    services: ServicesDep,
    who: PrincipalDep,
    claimed: Annotated[
        str | None,
        Header(
            alias=ACTOR_HEADER,
            max_length=64,
            pattern=r"^[^\x00]*$",
            description="Who acts, honoured only by a server run with --no-auth.",
        ),
    ] = None,
) -> str:
    if services.auth_enabled or not claimed or not claimed.strip():
        return who.user
    return claimed.strip()


def model_name(name: Annotated[str, PathParam(max_length=300)]) -> str:
    return check_model_name(name)


RegistryDep = Annotated[RegistryService, Depends(registry)]
ActorDep = Annotated[str, Depends(actor)]
ModelName = Annotated[str, Depends(model_name)]
VersionNumber = Annotated[int, PathParam(ge=1, le=2**31 - 1)]
Alias = Annotated[str, PathParam(max_length=100)]
IdempotencyKey = Annotated[str | None, Header(alias=IDEMPOTENCY_HEADER)]


# -- models ------------------------------------------------------------------------------------


@models.get("", response_model=RegisteredModelPage, summary="Registered models, by name")
def list_models(
    service: RegistryDep,
    limit: page_limit(MAX_PAGE) = 100,  # type: ignore[valid-type]
    page_token: PageToken = None,
) -> RecordResponse:
    return RecordResponse(service.list_registered_models(limit=limit, page_token=page_token))


@models.post("", response_model=RegisteredModel, status_code=201, summary="Create a model")
def create_model(body: ModelCreate, service: RegistryDep, who: ActorDep) -> RecordResponse:
    created = service.create_registered_model(
        body.name, description=body.description, tags=body.tags, actor=who
    )
    return RecordResponse(created, status_code=201)


@models.get("/{name}", response_model=RegisteredModel, summary="A model: aliases, policy, tags")
def get_model(name: ModelName, service: RegistryDep) -> RecordResponse:
    return RecordResponse(service.get_registered_model(name))


@models.patch("/{name}", response_model=RegisteredModel, summary="Set description and tags")
def update_model(name: ModelName, body: ModelUpdate, service: RegistryDep) -> RecordResponse:
    return RecordResponse(
        service.update_registered_model(name, description=body.description, tags=body.tags)
    )


# -- files and versions ------------------------------------------------------------------------


@models.post(
    "/{name}/blobs/missing",
    response_model=MissingBlobs,
    summary="Which of these file digests still need uploading",
)
def missing_blobs(name: ModelName, body: DigestList, service: RegistryDep) -> MissingBlobs:
    return MissingBlobs(missing=missing(service.store.objects, body.digests))


@models.put(
    "/{name}/blobs/{digest}",
    status_code=201,
    summary="Upload one model file, streamed, verified against the digest in the URL",
    openapi_extra=UPLOAD_BODY,
)
async def upload_blob(
    name: ModelName, digest: str, request: Request, service: RegistryDep
) -> dict[str, object]:
    size = await receive_blob(request, service.store.objects, digest)
    return {"digest": digest, "size": size}


@models.get("/{name}/versions", response_model=ModelVersionPage, summary="Versions, newest first")
def list_versions(
    name: ModelName,
    service: RegistryDep,
    limit: page_limit(MAX_PAGE) = 100,  # type: ignore[valid-type]
    page_token: PageToken = None,
) -> RecordResponse:
    return RecordResponse(service.list_model_versions(name, limit=limit, page_token=page_token))


@models.post(
    "/{name}/versions",
    response_model=ModelVersion,
    status_code=201,
    summary="Register uploaded files as the next version (verified against model.json)",
)
def register_version(
    name: ModelName,
    body: VersionCreate,
    service: RegistryDep,
    services: ServicesDep,
    request: Request,
    who: PrincipalDep,
    acting: ActorDep,
    idempotency_key: IdempotencyKey = None,
) -> RecordResponse:
    if not any(f.path == "model.json" for f in body.files):
        raise InvalidInput(
            "a model version needs its manifest: list model.json among the files",
            details={"name": name},
        )

    def register() -> object:
        with tempfile.TemporaryDirectory(prefix="modelcycle-register-") as scratch:
            directory = Path(scratch) / "model"
            materialise(
                service.store.objects,
                [(f.path, f.digest, f.size) for f in body.files],
                directory,
            )
            _check_model_dir(directory)
            version = service.register_model_version(
                name,
                directory,
                run_id=body.run_id,
                datasets=None if body.datasets is None else [d.record() for d in body.datasets],
                code_commit=body.code_commit,
                description=body.description,
                tags=body.tags,
                created_by=acting,
            )
        return as_json(version)  # what a retry with the key is answered from the store

    scope = (who.user, request.method, request.url.path)
    created = services.idempotency.run(scope, idempotency_key, register)
    return RecordResponse(created, status_code=201)


def _check_model_dir(directory: Path) -> None:
    """Uploaded files that do not match their own manifest are the client's mistake (400), not
    damage to stored bytes; the message names files, not the server's scratch directory."""
    from modelcycle.registry.model_format import verify_model_dir

    try:
        verify_model_dir(directory)
    except IntegrityError as bad:
        message = bad.message.replace(f"{directory}/", "").replace(f" {directory}", "")
        raise InvalidInput(
            f"the uploaded files are not a consistent model directory: {message}",
            details=bad.details,
        ) from None


@models.get("/{name}/versions/{version}", response_model=ModelVersion, summary="One version")
def get_version(name: ModelName, version: VersionNumber, service: RegistryDep) -> RecordResponse:
    return RecordResponse(service.get_model_version(name, version))


@models.patch(
    "/{name}/versions/{version}", response_model=ModelVersion, summary="Set description and tags"
)
def update_version(
    name: ModelName, version: VersionNumber, body: ModelUpdate, service: RegistryDep
) -> RecordResponse:
    return RecordResponse(
        service.update_model_version(name, version, description=body.description, tags=body.tags)
    )


@models.get(
    "/{name}/versions/{version}/files",
    response_model=FileList,
    summary="The files of a version's model directory, with digests",
)
def list_files(name: ModelName, version: VersionNumber, service: RegistryDep) -> RecordResponse:
    return RecordResponse({"files": service.model_version_files(name, version)})


@models.get(
    "/{name}/versions/{version}/files/{path:path}",
    summary="Download one file, streamed, with its blake3 digest in X-Content-Blake3",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def download_file(
    name: ModelName, version: VersionNumber, path: str, service: RegistryDep
) -> StreamingResponse:
    for item in service.model_version_files(name, version):
        if item.path == path:
            return stream_object(service.store.objects, item.digest, item.size, path)
    raise NotFound(
        f"model {name!r} version {version} has no file {path!r}; GET its files to list them",
        details={"name": name, "version": version, "path": path},
    )


# -- resolving -------------------------------------------------------------------------------


@models.get(
    "/{name}/aliases/{alias}", response_model=ModelVersion, summary="The version NAME@ALIAS names"
)
def resolve_alias(name: ModelName, alias: Alias, service: RegistryDep) -> RecordResponse:
    check_alias(alias)
    return RecordResponse(service.resolve(f"models:/{name}@{alias}"))


@models.get(
    "/{name}/stages/{stage}",
    response_model=ModelVersion,
    summary="The newest version in a stage (or 'latest': the newest of all)",
)
def resolve_stage(
    name: ModelName,
    stage: Literal["latest", "staging", "production", "archived"],
    service: RegistryDep,
) -> RecordResponse:
    return RecordResponse(service.resolve(f"models:/{name}/{stage}"))


# -- aliases, policy, transitions --------------------------------------------------------------


@models.put(
    "/{name}/aliases/{alias}", response_model=ModelVersion, summary="Point NAME@ALIAS at a version"
)
def set_alias(
    name: ModelName, alias: Alias, body: AliasSet, service: RegistryDep, who: ActorDep
) -> RecordResponse:
    return RecordResponse(service.set_alias(name, alias, body.version, actor=who))


@models.delete("/{name}/aliases/{alias}", status_code=204, summary="Remove an alias")
def delete_alias(name: ModelName, alias: Alias, service: RegistryDep, who: ActorDep) -> None:
    check_alias(alias)
    service.delete_alias(name, alias, actor=who)


@models.put(
    "/{name}/policy",
    response_model=RegisteredModel,
    summary="Set the rules for promotion to production (admin)",
    dependencies=[require(Role.ADMIN)],
)
def set_policy(
    name: ModelName, body: PolicySet, service: RegistryDep, who: ActorDep
) -> RecordResponse:
    return RecordResponse(service.set_policy(name, body.record(), actor=who))


@models.post(
    "/{name}/versions/{version}/transitions",
    response_model=TransitionRequest,
    status_code=201,
    summary="Move a version to a stage, or ask for approval where the policy wants it",
)
def request_transition(
    name: ModelName,
    version: VersionNumber,
    body: TransitionCreate,
    service: RegistryDep,
    who: ActorDep,
) -> RecordResponse:
    request = service.request_transition(
        name, version, body.stage, actor=who, comment=body.comment
    )
    return RecordResponse(request, status_code=201)


@models.get(
    "/{name}/versions/{version}/transitions/pending",
    response_model=TransitionRequest,
    summary="The version's pending transition request",
)
def pending_request(
    name: ModelName, version: VersionNumber, service: RegistryDep
) -> RecordResponse:
    return RecordResponse(service.pending_request(name, version))


@models.get(
    "/{name}/history",
    response_model=EventPage,
    summary="Alias moves, requests, approvals and stage changes, oldest first",
)
def history(
    name: ModelName,
    service: RegistryDep,
    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    limit: page_limit(MAX_PAGE) = 1000,  # type: ignore[valid-type]
    page_token: PageToken = None,
) -> RecordResponse:
    events = service.list_events(name, version=version, limit=MAX_PAGE)
    items, token = page_of(events, limit, page_token, "history", name, version)
    return RecordResponse({"events": items, "next_page_token": token})


@models.get(
    "/{name}/versions/{version}/gates",
    response_model=GateList,
    summary="How the version fares against the production gates now",
)
def gates(name: ModelName, version: VersionNumber, service: RegistryDep) -> RecordResponse:
    return RecordResponse({"gates": service.check_gates(name, version)})


@models.get(
    "/{name}/versions/{version}/card",
    summary="The model card, as Markdown or a self-contained HTML page",
    response_class=Response,
    responses={200: {"content": {"text/markdown": {}, "text/html": {}}}},
)
def card(
    name: ModelName,
    version: VersionNumber,
    service: RegistryDep,
    format: Literal["markdown", "html"] = "markdown",
) -> Response:
    from modelcycle.registry.model_card import collect, render

    text = render(collect(service, name, version), format)
    media = "text/html" if format == "html" else "text/markdown"
    return Response(text, media_type=f"{media}; charset=utf-8")


# -- evaluations -------------------------------------------------------------------------------


@models.post(
    "/{name}/versions/{version}/evaluations",
    response_model=ModelEvaluation,
    status_code=201,
    summary="Attach an evaluation computed by the client; gates read its metrics",
)
def attach_evaluation(
    name: ModelName,
    version: VersionNumber,
    body: EvaluationCreate,
    service: RegistryDep,
    who: ActorDep,
) -> RecordResponse:
    evaluation = service.attach_evaluation(
        name,
        version,
        metrics=body.metrics,
        result=body.result,
        run_id=body.run_id,
        dataset=body.dataset,
        actor=who,
    )
    return RecordResponse(evaluation, status_code=201)


@models.get(
    "/{name}/versions/{version}/evaluations",
    response_model=EvaluationList,
    summary="A version's evaluations, oldest first",
)
def list_evaluations(
    name: ModelName, version: VersionNumber, service: RegistryDep
) -> RecordResponse:
    return RecordResponse({"evaluations": service.list_evaluations(name, version)})


# -- transition requests -----------------------------------------------------------------------

RequestId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]


@models.get(
    "/{name}/transitions", response_model=RequestList, summary="A model's requests, newest first"
)
def list_model_requests(
    name: ModelName,
    service: RegistryDep,
    status: RequestStatus | None = None,
    limit: page_limit(MAX_PAGE) = 100,  # type: ignore[valid-type]
) -> RecordResponse:
    return RecordResponse({"requests": service.list_requests(name, status=status, limit=limit)})


@requests.get("", response_model=RequestList, summary="Transition requests, newest first")
def list_requests(
    service: RegistryDep,
    status: RequestStatus | None = None,
    limit: page_limit(MAX_PAGE) = 100,  # type: ignore[valid-type]
) -> RecordResponse:
    return RecordResponse({"requests": service.list_requests(None, status=status, limit=limit)})


@requests.get("/{request_id}", response_model=TransitionRequest, summary="One request")
def get_request(request_id: RequestId, service: RegistryDep) -> RecordResponse:
    return RecordResponse(service.get_request(request_id))


@requests.post(
    "/{request_id}/approve",
    response_model=TransitionRequest,
    summary="Approve and apply a pending request, as the authenticated user (not its requester)",
)
def approve(
    request_id: RequestId, service: RegistryDep, who: ActorDep, body: Decision | None = None
) -> RecordResponse:
    comment = body.comment if body else None
    return RecordResponse(service.approve(request_id, actor=who, comment=comment))


@requests.post(
    "/{request_id}/reject",
    response_model=TransitionRequest,
    summary="Reject (or, as its requester, withdraw) a pending request",
)
def reject(
    request_id: RequestId, service: RegistryDep, who: ActorDep, body: Decision | None = None
) -> RecordResponse:
    comment = body.comment if body else None
    return RecordResponse(service.reject(request_id, actor=who, comment=comment))


router = APIRouter(dependencies=[role_by_method])
router.include_router(models)
router.include_router(requests)
