"""Content-addressed object store: artifacts and dataset blobs, named by their blake3 digest.

The map::

    open_object_store(url) ─► ObjectStore   LocalObjectStore (paths, file://)
                               │            FsspecObjectStore (s3://, gs://, memory://, ...)
                               ├─ put_file / put_bytes ─► ObjectInfo(digest, size)
                               ├─ get_bytes / copy_to / open   verified: a changed byte
                               │                               raises IntegrityError
                               └─ gc.sweep(store, referenced) ─► GcResult

Example:
    >>> store = open_object_store("memory://doctest-init/objects")
    >>> info = store.put_bytes(b"weights")
    >>> store.exists(info.digest), store.size(info.digest)
    (True, 7)
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from typing import Final, cast

from modelcycle.store.objects._base import ObjectInfo, ObjectStore

__all__ = ["OBJECT_STORES", "ObjectInfo", "ObjectStore", "open_object_store"]

OBJECT_STORES: dict[str, str] = {
    "file": "modelcycle.store.objects.local:LocalObjectStore",
    "local": "modelcycle.store.objects.local:LocalObjectStore",
}
"""URL scheme → ``"module:Class"`` of its object store, imported on first use. The class is
called with the URL (or plain path) as its only argument. Other schemes go to the fsspec store."""

_FSSPEC_STORE: Final = "modelcycle.store.objects.fsspec_store:FsspecObjectStore"
"""Every other scheme: fsspec knows dozens, and says itself which ones it cannot handle."""


def open_object_store(root: str | os.PathLike[str], *, fsync: bool = True) -> ObjectStore:
    """Open the object store at ``root``, choosing the implementation from its URL scheme.

    Args:
        root: a local path or ``file://`` URL (plain files on this machine), or any URL fsspec
            handles, e.g. ``s3://bucket/objects``. Credentials come from the backend's usual
            sources (environment, config files); pass storage options explicitly by constructing
            :class:`~modelcycle.store.objects.fsspec_store.FsspecObjectStore` instead.
        fsync: for local files, flush each new object to disk before renaming it into place
            (see :class:`~modelcycle.store.objects.local.LocalObjectStore`). A remote store's
            put is durable once acknowledged, so it has no such choice.

    Returns:
        The store. Nothing is created until the first write.

    Raises:
        InvalidInput: the scheme is unknown, or the package implementing it is not installed (the
            message names it, e.g. ``s3fs`` for ``s3://``).

    Example:
        >>> import tempfile
        >>> type(open_object_store(tempfile.mkdtemp())).__name__
        'LocalObjectStore'
    """
    root = os.fspath(root)
    scheme, separator, _ = root.partition("://")
    # No "://" means a path; this also keeps Windows drive letters ("C:\\...") from reading as
    # schemes.
    if not separator:
        scheme = "file"
    target = OBJECT_STORES.get(scheme.lower(), _FSSPEC_STORE)
    module_name, _, class_name = target.partition(":")
    factory = cast(
        Callable[..., ObjectStore], getattr(importlib.import_module(module_name), class_name)
    )
    if target == OBJECT_STORES["file"]:
        return factory(root, fsync=fsync)
    return factory(root)
