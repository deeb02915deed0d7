"""Streamed, verified transfers of content-addressed blobs, shared by the registry, data and
artifact routes.

Upload: the request body is written to a temporary file while it is hashed; a body whose blake3
is not the digest it came with (in the URL or ``X-Content-Blake3``) is refused (400) and
nothing is stored. Only then is it put in the object store. The body is never held in memory,
whatever its size.

Materialise: a list of ``(path, digest)`` becomes a directory of verified reads (``copy_to``
re-hashes every object), which the domain services then register exactly as they register a
local directory: the server keeps no second copy of their rules.

Download: an object is streamed through the store's verifying reader, its digest sent first in
``X-Content-Blake3`` so the client can check the bytes before it trusts them.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import StreamingResponse

from modelcycle._internal.hashing import CHUNK_SIZE, Hasher, is_digest
from modelcycle.errors import InvalidInput, NotFound
from modelcycle.store.objects import ObjectStore

DIGEST_HEADER = "X-Content-Blake3"
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
        },
    }
}
"""OpenAPI of a raw streamed body (FastAPI cannot infer it from ``request.stream()``)."""


def check_digest(digest: str) -> str:
    if not is_digest(digest):
        raise InvalidInput(
            f"{digest[:80]!r} is not a blake3 digest: 64 lowercase hex characters",
            details={"digest": digest[:80]},
        )
    return digest


async def receive_blob(request: Request, objects: ObjectStore, digest: str) -> int:
    """Store the request body as the object ``digest``; returns its size.

    Raises:
        InvalidInput: the body does not hash to ``digest``; nothing was stored.
    """
    from starlette.concurrency import run_in_threadpool

    check_digest(digest)
    with tempfile.TemporaryDirectory(prefix="modelcycle-blob-") as scratch:
        local = Path(scratch) / "blob"
        size = await spool(request, local, digest, "the uploaded bytes", "the URL")
        await run_in_threadpool(objects.put_file, local)
    return size


async def spool(
    request: Request, local: Path, digest: str, what: str, claimed_by: str, **details: Any
) -> int:
    """Write the request body to ``local``, hashing it on the way; returns its size.

    Raises:
        InvalidInput: the body does not hash to ``digest`` (as ``claimed_by`` says it does);
            the caller stores nothing.
    """
    hasher = Hasher()
    size = 0
    with open(local, "wb") as out:
        async for chunk in request.stream():
            hasher.update(chunk)
            out.write(chunk)
            size += len(chunk)
    actual = hasher.hexdigest()
    if actual != digest:
        raise InvalidInput(
            f"{what} hash to {actual}, not {digest} as {claimed_by} says; they were changed "
            "or cut short on the way. Nothing was stored: upload again.",
            details={**details, "expected": digest, "actual": actual, "size": size},
        )
    return size


def missing(objects: ObjectStore, digests: Sequence[str]) -> list[str]:
    """The digests the object store does not hold, in the order given, without repeats."""
    return [d for d in dict.fromkeys(digests) if not objects.exists(d)]


def safe_path(path: str) -> tuple[str, ...]:
    """The parts of a relative POSIX path inside a directory.

    Raises:
        InvalidInput: absolute, empty, ``..``, ``.``, backslashes or empty segments.
    """
    parts = tuple(path.split("/"))
    if (
        not path
        or path.startswith("/")
        or "\\" in path
        or any(part in ("", ".", "..") for part in parts)
    ):
        raise InvalidInput(
            f"file path {path!r} must be relative, inside the directory, without '.', '..', "
            "empty segments or backslashes",
            details={"path": path},
        )
    return parts


def check_layout(paths: Sequence[str]) -> None:
    """No path twice, and no path both a file and the directory of another.

    Raises:
        InvalidInput: naming the clash.
    """
    seen: set[str] = set()
    for path in paths:
        safe_path(path)
        if path in seen:
            raise InvalidInput(f"file {path!r} is listed twice", details={"path": path})
        seen.add(path)
    for path in paths:
        for parent in PurePosixPath(path).parents:
            if str(parent) in seen:
                raise InvalidInput(
                    f"{str(parent)!r} is listed as a file and as the directory of {path!r}",
                    details={"path": path},
                )


def materialise(
    objects: ObjectStore, files: Sequence[tuple[str, str, int]], directory: Path
) -> None:
    """Write each ``(path, digest, size)`` under ``directory`` from verified reads.

    Raises:
        NotFound: blobs not uploaded yet (all of them listed).
        InvalidInput: a listed size is not the blob's.
        IntegrityError: a stored blob's bytes changed.
    """
    check_layout([path for path, _, _ in files])
    absent = missing(objects, [digest for _, digest, _ in files])
    if absent:
        raise NotFound(
            f"{len(absent)} file(s) are not uploaded yet; PUT each to its blobs/{{digest}} "
            "URL first",
            details={"missing": absent[:100]},
        )
    for path, digest, size in files:
        target = directory.joinpath(*safe_path(path))
        objects.copy_to(digest, target)
        actual = target.stat().st_size
        if actual != size:
            raise InvalidInput(
                f"file {path!r} is listed with {size} bytes but blob {digest} holds {actual}",
                details={"path": path, "size": size, "actual": actual},
            )


def stream_object(objects: ObjectStore, digest: str, size: int, name: str) -> StreamingResponse:
    """The object's bytes as a download, its digest in ``X-Content-Blake3``."""
    reader = objects.open(digest)
    return StreamingResponse(
        _chunks(reader),
        media_type="application/octet-stream",
        headers={
            DIGEST_HEADER: digest,
            "Content-Length": str(size),
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name, safe='')}",
        },
    )


def _chunks(reader: Any) -> Iterator[bytes]:
    """The object's bytes; the reader raises ``IntegrityError`` at the end if they changed,
    which aborts the response (the client checks the digest in any case)."""
    with reader:
        while chunk := reader.read(CHUNK_SIZE):
            yield chunk
