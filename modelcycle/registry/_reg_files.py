"""Moving a model directory's bytes into the object store and back out into a local cache.

Upload reads each file once (``put_file`` hashes as it copies) and checks the digest against the
manifest ``verify_model_dir`` just read: a file changed between the check and the copy is
refused rather than registered under a digest that does not describe it.

A version is materialised under ``<cache>/<manifest digest>``: written to a temporary directory
from verified reads, then renamed into place, so a reader never sees half a model. A cached
directory is used only when its ``model.json`` still hashes to the digest the database holds;
``load_model`` then verifies every other file against that manifest.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from modelcycle._internal.hashing import hash_file
from modelcycle.errors import IntegrityError, InvalidInput
from modelcycle.registry.entities import ModelFile
from modelcycle.store import Store
from modelcycle.store.objects import ObjectStore

MANIFEST_FILE = "model.json"


def upload(objects: ObjectStore, model_dir: Path, expected: dict[str, str]) -> list[ModelFile]:
    """Store ``model.json`` and every file the manifest names.

    Args:
        expected: path inside the directory → blake3 digest, from the verified manifest.

    Raises:
        IntegrityError: a file's bytes changed since the manifest was verified.
    """
    stored = []
    for relative in [MANIFEST_FILE, *sorted(p for p in expected if p != MANIFEST_FILE)]:
        info = objects.put_file(model_dir / relative)
        wanted = expected.get(relative)
        if wanted is not None and info.digest != wanted:
            raise IntegrityError(
                f"{relative} in {model_dir} changed while it was being registered (its digest "
                f"is {info.digest}, the manifest says {wanted}); register it again.",
                details={"path": relative, "digest": info.digest, "expected": wanted},
            )
        stored.append(ModelFile(path=relative, digest=info.digest, size=info.size))
    return stored


def cache_root(store: Store) -> Path:
    """Where versions are materialised: beside a local object store, else the user's cache."""
    root = store.location.artifact_root or ""
    scheme, separator, path = root.partition("://")
    if not separator:
        return Path(root).parent / "cache" / "models"
    if scheme.lower() in ("file", "local"):
        return Path(path).parent / "cache" / "models"
    return Path.home() / ".cache" / "modelcycle" / "models"


def materialise(
    objects: ObjectStore, files: Sequence[ModelFile], manifest_digest: str, root: Path
) -> Path:
    """The version's directory under ``root``, written from verified reads when not cached.

    Raises:
        IntegrityError: a stored object's bytes no longer match its digest; nothing is left
            under ``root`` for this version.
        NotFound: an object is missing from the store.
    """
    final = root / manifest_digest
    if is_cached(final, manifest_digest):
        return final
    root.mkdir(parents=True, exist_ok=True)
    temp = root / f".tmp-{uuid.uuid4().hex}"
    try:
        for item in files:
            objects.copy_to(item.digest, temp.joinpath(*_safe_parts(item.path)))
        discard(final)
        try:
            os.rename(temp, final)
        except OSError:  # another process materialised it first
            if not is_cached(final, manifest_digest):
                raise
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    return final


def is_cached(directory: Path, manifest_digest: str) -> bool:
    manifest = directory / MANIFEST_FILE
    return manifest.is_file() and hash_file(manifest) == manifest_digest


def discard(directory: Path) -> None:
    """Remove a cached version (a stale or tampered copy), if there is one."""
    shutil.rmtree(directory, ignore_errors=True)


def _safe_parts(path: str) -> tuple[str, ...]:
    parts = PurePosixPath(path).parts
    if not parts or PurePosixPath(path).is_absolute() or ".." in parts:
        raise InvalidInput(
            f"model file path {path!r} escapes the model directory", details={"path": path}
        )
    return parts
