"""The object store over any fsspec filesystem: ``s3://``, ``gs://``, ``az://``, ``memory://``, ...

Object stores cannot rename, and a key may only ever hold verified content. So a put streams the
input once into ``<root>/tmp/<name>`` while hashing it, and only then moves the temp object to its
digest key: a server-side copy on S3 and GCS, atomic per object. When the content is already stored
the move overwrites it with identical bytes, which is the only portable way to refresh its modified
time (object stores cannot touch a timestamp), and it costs no more than a first store would.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any, Final, TypeVar

import fsspec
from fsspec.registry import known_implementations
from fsspec.utils import get_protocol

from modelcycle._internal.hashing import Sink, Source, copy_hashing, hash_bytes, is_digest
from modelcycle.errors import InvalidInput, NotFound, StoreUnavailable
from modelcycle.store.objects._base import (
    TEMP_DIR,
    ObjectInfo,
    VerifiedReader,
    check_digest,
    check_temp_name,
    copy_verified,
    corrupted,
    is_temp_name,
    new_temp_name,
    open_source_file,
)

__all__ = ["FsspecObjectStore"]

_T = TypeVar("_T")

_TIME_KEYS: Final = ("mtime", "LastModified", "last_modified", "updated", "created", "timeCreated")
"""Where fsspec backends put a file's modified time in a listing: local and sftp, S3, Azure, GCS,
memory. Reading it from the listing saves one request per object when gc dates a whole store."""


class FsspecObjectStore:
    """Content-addressed objects under a prefix of any fsspec filesystem.

    Args:
        url: the store's root, e.g. ``s3://bucket/modelcycle/objects``.
        **storage_options: passed to the fsspec filesystem (credentials, endpoint, ...).

    Raises:
        InvalidInput: fsspec knows no filesystem for the URL's scheme, or the package that
            implements it is not installed (the message names the package to install).

    Example:
        >>> store = FsspecObjectStore("memory://doctest/objects")
        >>> info = store.put_bytes(b"weights")
        >>> store.get_bytes(info.digest)
        b'weights'
    """

    def __init__(self, url: str, **storage_options: Any) -> None:
        self.url = url
        self._fs, root = _filesystem(url, storage_options)
        self._root: str = root.rstrip("/")

    def __repr__(self) -> str:
        return f"FsspecObjectStore({self.url!r})"

    # -- writing ------------------------------------------------------------------------------

    def put_file(self, path: str | os.PathLike[str]) -> ObjectInfo:
        """Store a file's content. See :meth:`ObjectStore.put_file`."""
        with open_source_file(path) as source:
            return self._store(lambda out: ObjectInfo(*copy_hashing(source, out)), f"store {path}")

    def put_bytes(self, data: bytes) -> ObjectInfo:
        """Store an in-memory buffer. See :meth:`ObjectStore.put_bytes`."""
        info = ObjectInfo(hash_bytes(data), len(data))

        def write(out: Sink) -> ObjectInfo:
            out.write(memoryview(data))
            return info

        return self._store(write, "store bytes")

    def delete(self, digest: str) -> None:
        """Remove an object; a missing one is not an error. See :meth:`ObjectStore.delete`."""
        path = self._path(digest)
        with self._errors(f"delete object {digest}"), contextlib.suppress(FileNotFoundError):
            self._fs.rm_file(path)

    def delete_temp(self, name: str) -> None:
        """Remove an abandoned temp file. See :meth:`ObjectStore.delete_temp`."""
        path = self._temp_path(check_temp_name(name))
        with self._errors(f"delete temp file {name}"), contextlib.suppress(FileNotFoundError):
            self._fs.rm_file(path)

    # -- reading ------------------------------------------------------------------------------

    def get_bytes(self, digest: str) -> bytes:
        """Read a whole object, verified. See :meth:`ObjectStore.get_bytes`."""
        path = self._path(digest)
        with self._errors(f"read object {digest}"):
            try:
                data: bytes = self._fs.cat_file(path)
            except FileNotFoundError as exc:
                raise self._missing(digest) from exc
        actual = hash_bytes(data)
        if actual != digest:
            raise corrupted(digest, actual, self.url)
        return data

    def copy_to(self, digest: str, dest_path: str | os.PathLike[str]) -> None:
        """Write an object to a local file once verified. See :meth:`ObjectStore.copy_to`."""
        with contextlib.closing(self._open(digest)) as source:
            copy_verified(source, digest, dest_path, self.url)

    def open(self, digest: str) -> VerifiedReader:
        """Stream an object, verified at its end. See :meth:`ObjectStore.open`."""
        return VerifiedReader(self._open(digest), digest, self.url)

    def exists(self, digest: str) -> bool:
        """Tell whether an object is stored. See :meth:`ObjectStore.exists`."""
        path = self._path(digest)
        with self._errors(f"look up object {digest}"):
            return bool(self._fs.isfile(path))

    def size(self, digest: str) -> int:
        """Return an object's length in bytes. See :meth:`ObjectStore.size`."""
        path = self._path(digest)
        with self._errors(f"stat object {digest}"):
            try:
                return int(self._fs.size(path))
            except FileNotFoundError as exc:
                raise self._missing(digest) from exc

    def iter_objects(self) -> Iterator[tuple[str, float]]:
        """List stored objects with their modified times. See :meth:`ObjectStore.iter_objects`."""
        for relative, name, info in self._list(self._root):
            shard, _, rest = relative.partition("/")
            # Two-character shards only: this skips tmp/ and anything else under the root.
            if len(shard) == 2 and is_digest(shard + rest):
                yield shard + rest, self._mtime(name, info)

    def iter_temp(self) -> Iterator[tuple[str, float]]:
        """List temp files of writes in progress. See :meth:`ObjectStore.iter_temp`."""
        for relative, name, info in self._list(self._temp_path("")):
            if is_temp_name(relative):
                yield relative, self._mtime(name, info)

    # -- internals ----------------------------------------------------------------------------

    def _path(self, digest: str) -> str:
        digest = check_digest(digest)
        return f"{self._root}/{digest[:2]}/{digest[2:]}"

    def _temp_path(self, name: str) -> str:
        return f"{self._root}/{TEMP_DIR}/{name}"

    def _open(self, digest: str) -> Source:
        path = self._path(digest)
        with self._errors(f"open object {digest}"):
            try:
                source: Source = self._fs.open(path, "rb")
            except FileNotFoundError as exc:
                raise self._missing(digest) from exc
        return source

    def _store(self, write: Callable[[Sink], ObjectInfo], action: str) -> ObjectInfo:
        """Let ``write`` fill a fresh temp file, then move it to its digest key."""
        temp = self._temp_path(new_temp_name())
        try:
            with self._errors(action):
                with self._with_parent(temp, lambda: self._fs.open(temp, "wb")) as out:
                    info = write(out)
                final = self._path(info.digest)
                self._with_parent(final, lambda: self._fs.mv(temp, final))
            return info
        except BaseException:
            with contextlib.suppress(OSError):
                self._fs.rm_file(temp)
            raise

    def _with_parent(self, path: str, action: Callable[[], _T]) -> _T:
        """Run ``action``, creating the parent directory of ``path`` first if it turns out missing.

        Object stores have no directories, so this never triggers there; filesystems with real
        directories (local, sftp, hdfs) need the parent, and creating it only after a failure
        spares object stores a request per write.
        """
        try:
            return action()
        except FileNotFoundError:
            self._fs.makedirs(posixpath.dirname(path), exist_ok=True)
            return action()

    def _list(self, directory: str) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
        """``(path relative to directory, full path, info)`` of every file under ``directory``."""
        prefix = directory.rstrip("/") + "/"
        with self._errors("list objects"):
            try:
                listing: dict[str, Mapping[str, Any]] = self._fs.find(directory, detail=True)
            except FileNotFoundError:
                return
        for name, info in listing.items():
            if name.startswith(prefix) and info.get("type", "file") == "file":
                yield name[len(prefix) :], name, info

    def _mtime(self, name: str, info: Mapping[str, Any]) -> float:
        for key in _TIME_KEYS:
            value = info.get(key)
            if isinstance(value, int | float):
                return float(value)
            if isinstance(value, datetime):
                return value.timestamp()
            if isinstance(value, str):
                with contextlib.suppress(ValueError):
                    return datetime.fromisoformat(value).timestamp()
        with self._errors(f"read the modified time of {name}"):
            try:
                modified: datetime = self._fs.modified(name)
            except NotImplementedError:
                # An object whose age cannot be read counts as new, so gc never removes it.
                return time.time()
        return modified.timestamp()

    def _missing(self, digest: str) -> NotFound:
        return NotFound(
            f"object {digest} not found in {self.url}",
            details={"digest": digest, "store": self.url},
        )

    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Translate backend errors (fsspec raises OSError subclasses) into the error tree."""
        try:
            yield
        except OSError as exc:
            raise StoreUnavailable(
                f"object store {self.url}: cannot {action}: {exc}", details={"store": self.url}
            ) from exc


def _filesystem(url: str, options: dict[str, Any]) -> tuple[fsspec.AbstractFileSystem, str]:
    """Resolve ``url`` to a filesystem and the root path in it, with errors that say what to do."""
    for part in url.split("::"):  # fsspec chains filesystems as "simplecache::s3://..."
        protocol = get_protocol(part)
        try:
            fsspec.get_filesystem_class(protocol)
        except ValueError as exc:
            raise InvalidInput(
                f"unknown object store scheme {protocol!r} in {url!r}: use a local path, file://, "
                "or a URL of a filesystem fsspec supports (s3://, gs://, az://, ...)",
                details={"url": url, "scheme": protocol},
            ) from exc
        except ImportError as exc:
            raise InvalidInput(
                _missing_package(protocol, exc), details={"url": url, "scheme": protocol}
            ) from exc
    try:
        fs, root = fsspec.core.url_to_fs(url, **options)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"cannot open object store {url!r}: {exc}", details={"url": url}
        ) from exc
    except OSError as exc:
        raise StoreUnavailable(f"cannot open object store {url!r}: {exc}") from exc
    return fs, root


def _missing_package(protocol: str, exc: ImportError) -> str:
    """Name the pip package behind a scheme: the top-level module of its fsspec class, unless
    the class lives in fsspec itself and only a dependency is missing (fsspec's message names it).
    """
    package = str(known_implementations.get(protocol, {}).get("class", "")).partition(".")[0]
    if package and package != "fsspec":
        return (
            f"the {protocol}:// object store needs the {package} package: "
            f"install it with `pip install {package}`"
        )
    return f"the {protocol}:// object store needs a package that is not installed: {exc}"
