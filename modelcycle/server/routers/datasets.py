"""``/api/v1/datasets``: dataset versions, their manifests and diffs; ``/api/v1/lineage``.

Reads only: versions are added with ``modelcycle data add`` against the store; files download one
by one with their digest, which ``mc.data.checkout`` over HTTP verifies. A dataset's name may
hold ``/`` (``team/churn``), so routes take it as a path and the more specific routes are declared
first. ``GET /datasets/{name}`` answers the latest version, as ``mc.data.get("name")`` does.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from fastapi import Path as PathParam
from pydantic import BaseModel

from modelcycle.data._refs import check_name
from modelcycle.data.entities import (
    Dataset,
    DatasetDiff,
    DatasetFile,
    DatasetVersion,
    LineageGraph,
)
from modelcycle.data.service import DataService
from modelcycle.server._json import RecordResponse
from modelcycle.server._pages import page_of
from modelcycle.server.deps import ServicesDep, role_by_method
from modelcycle.server.routers import PageToken, page_limit
from modelcycle.server.routers._blobs import DIGEST_HEADER, stream_object

router = APIRouter(tags=["datasets"], dependencies=[role_by_method])

MAX_PAGE = 10_000


def data(services: ServicesDep) -> DataService:
    """The data service over the server's store (a thin object: one per request is free)."""
    return DataService(services.tracking.store)


def dataset_name(name: Annotated[str, PathParam(max_length=300)]) -> str:
    return check_name(name)


DataDep = Annotated[DataService, Depends(data)]
DatasetName = Annotated[str, Depends(dataset_name)]
VersionNumber = Annotated[int, PathParam(ge=1, le=2**31 - 1)]
Ref = Annotated[str, Query(min_length=1, max_length=300)]


class DatasetPage(BaseModel):
    datasets: list[Dataset]
    next_page_token: str | None = None


class VersionPage(BaseModel):
    versions: list[DatasetVersion]
    next_page_token: str | None = None


class FilePage(BaseModel):
    files: list[DatasetFile]
    next_page_token: str | None = None


@router.get("/datasets", response_model=DatasetPage, summary="Datasets, by name")
def list_datasets(
    service: DataDep,
    limit: page_limit(MAX_PAGE) = 1000,  # type: ignore[valid-type]
    page_token: PageToken = None,
) -> RecordResponse:
    items, token = page_of(service.list_datasets(), limit, page_token, "datasets")
    return RecordResponse({"datasets": items, "next_page_token": token})


@router.get(
    "/datasets/{name:path}/versions/{version}/files/{path:path}",
    summary="Download one file, with its blake3 digest in X-Content-Blake3",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def download_file(
    name: DatasetName, version: VersionNumber, path: str, service: DataDep
) -> Response:
    item = service.stored_file(f"{name}@{version}", path)
    if item.pack is None:
        return stream_object(service.store.objects, item.digest, item.size, path)
    # A small file lives in a pack: cut out and checked against its own digest.
    return Response(
        service.packed_bytes(item),
        media_type="application/octet-stream",
        headers={DIGEST_HEADER: item.digest},
    )


@router.get(
    "/datasets/{name:path}/versions/{version}/files",
    response_model=FilePage,
    summary="A version's manifest: path, blake3 digest and size of each file",
)
def list_files(
    name: DatasetName,
    version: VersionNumber,
    service: DataDep,
    limit: page_limit(MAX_PAGE) = 1000,  # type: ignore[valid-type]
    page_token: PageToken = None,
) -> RecordResponse:
    ref = f"{name}@{version}"
    items, token = page_of(service.files(ref), limit, page_token, "dataset_files", ref)
    return RecordResponse({"files": items, "next_page_token": token})


@router.get(
    "/datasets/{name:path}/versions/{version}/diff",
    response_model=DatasetDiff,
    summary="What changed from this version to another (files, rows, columns)",
)
def diff(name: DatasetName, version: VersionNumber, to: Ref, service: DataDep) -> RecordResponse:
    return RecordResponse(service.diff(f"{name}@{version}", to))


@router.get(
    "/datasets/{name:path}/versions/{version}",
    response_model=DatasetVersion,
    summary="One version: hash, schema, statistics, parents",
)
def get_version(name: DatasetName, version: VersionNumber, service: DataDep) -> RecordResponse:
    return RecordResponse(service.get(f"{name}@{version}"))


@router.get(
    "/datasets/{name:path}/versions",
    response_model=VersionPage,
    summary="A dataset's versions, oldest first",
)
def list_versions(
    name: DatasetName,
    service: DataDep,
    limit: page_limit(MAX_PAGE) = 1000,  # type: ignore[valid-type]
    page_token: PageToken = None,
) -> RecordResponse:
    items, token = page_of(service.list_versions(name), limit, page_token, "versions", name)
    return RecordResponse({"versions": items, "next_page_token": token})


@router.get(
    "/datasets/{name:path}", response_model=DatasetVersion, summary="A dataset's latest version"
)
def get_latest(name: DatasetName, service: DataDep) -> RecordResponse:
    return RecordResponse(service.get(name))


@router.get(
    "/lineage",
    response_model=LineageGraph,
    summary="The lineage graph around a dataset version (name@version) or a run id",
)
def lineage(target: Ref, service: DataDep) -> RecordResponse:
    return RecordResponse(service.lineage(target))
