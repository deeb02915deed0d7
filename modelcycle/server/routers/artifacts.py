"""``/api/v1/runs/{run_id}/artifacts``: list, upload and download a run's files, streamed.

Upload (``PUT …/artifacts/{path}``): the body is streamed to a temporary file while it is hashed
with blake3; the client states the digest in ``X-Content-Blake3``, and a mismatch is a 400 with
nothing stored. Only then does the tracking service store the file (``log_artifact``), which puts
it in the object store and indexes it in one step.

Download (``GET …/artifacts/{path}``): the object is streamed from the object store through a
reader that re-hashes it; the digest goes out in ``X-Content-Blake3`` so the client verifies
before it renames the file into place.

A path is refused with 400 when it is absolute, climbs out of the run (``..``), or holds a NUL
or a backslash.
"""

from __future__ import annotations

import tempfile
from pathlib import Path, PurePosixPath
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from modelcycle._internal.hashing import is_digest
from modelcycle.errors import InvalidInput, NotFound
from modelcycle.server._json import RecordResponse
from modelcycle.server._pages import page_of
from modelcycle.server.deps import TrackingDep, role_by_method
from modelcycle.server.routers import PageToken, page_limit
from modelcycle.server.routers._blobs import DIGEST_HEADER, UPLOAD_BODY, spool, stream_object
from modelcycle.tracking._validation import artifact_path
from modelcycle.tracking.entities import ArtifactInfo
from modelcycle.tracking.service import TrackingService

router = APIRouter(
    prefix="/runs/{run_id}/artifacts", tags=["artifacts"], dependencies=[role_by_method]
)


class ArtifactPage(BaseModel):
    artifacts: list[ArtifactInfo]
    next_page_token: str | None = None


@router.get("", response_model=ArtifactPage, summary="A run's artifacts, by path")
def list_artifacts(
    run_id: str,
    tracking: TrackingDep,
    prefix: Annotated[str | None, Query(max_length=1024)] = None,
    limit: page_limit(10_000) = 1000,  # type: ignore[valid-type]
    page_token: PageToken = None,
) -> RecordResponse:
    checked = artifact_path(prefix) if prefix else None
    found = tracking.list_artifacts(run_id, checked or None)
    items, token = page_of(found, limit, page_token, "artifacts", run_id, checked)
    return RecordResponse({"artifacts": items, "next_page_token": token})


@router.put(
    "/{path:path}",
    response_model=ArtifactInfo,
    status_code=201,
    summary="Upload one file, streamed, verified against its blake3 digest",
    openapi_extra=UPLOAD_BODY,
)
async def upload_artifact(
    run_id: str,
    path: str,
    request: Request,
    tracking: TrackingDep,
    digest: Annotated[str, Header(alias=DIGEST_HEADER, description="blake3 of the body, hex")],
) -> RecordResponse:
    checked = _file_path(path)
    if not is_digest(digest):
        raise InvalidInput(
            f"{DIGEST_HEADER} must be the body's blake3 digest: 64 lowercase hex characters",
            details={"header": DIGEST_HEADER},
        )
    # An unknown run is refused before a byte of a possibly large body is read.
    await run_in_threadpool(tracking.get_run, run_id)
    directory, _, name = checked.rpartition("/")
    with tempfile.TemporaryDirectory(prefix="modelcycle-upload-") as scratch:
        local = Path(scratch) / name
        what = f"the uploaded bytes of {checked!r}"
        await spool(request, local, digest, what, DIGEST_HEADER, path=checked)
        logged = await run_in_threadpool(tracking.log_artifact, run_id, local, directory or None)
    return RecordResponse(logged[0], status_code=201)


@router.get(
    "/{path:path}",
    summary="Download one file, streamed, with its blake3 digest in X-Content-Blake3",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def download_artifact(run_id: str, path: str, tracking: TrackingDep) -> StreamingResponse:
    checked = _file_path(path)
    item = _find_file(tracking, run_id, checked)
    name = PurePosixPath(checked).name
    return stream_object(tracking.store.objects, item.digest, item.size, name)


def _file_path(path: str) -> str:
    checked = artifact_path(path)
    if not checked:
        raise InvalidInput(
            "an artifact path must name a file inside the run", details={"path": path}
        )
    return checked


def _find_file(tracking: TrackingService, run_id: str, path: str) -> ArtifactInfo:
    for item in tracking.list_artifacts(run_id, path):
        if item.path == path:
            return item
    raise NotFound(
        f"run {run_id} has no artifact file at {path!r} (a directory is downloaded file by "
        "file: list it first)",
        details={"run_id": run_id, "path": path},
    )
