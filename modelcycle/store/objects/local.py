"""The object store on the local disk: the default, and the hot path of artifact logging.

Plain ``os`` calls, because every layer in between costs throughput. A put of an ordinary file
reads the source once in 1 MiB chunks, feeding each chunk to multithreaded blake3 and to the temp
file, then fsyncs (unless told not to) and renames. A large file is copied by the kernel while it
is hashed, memory-mapped, on another core: one pass that on a 1 GiB file costs little more than
the hash alone.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from modelcycle._internal.hashing import (
    Source,
    copy_hashing,
    hash_bytes,
    is_digest,
    kernel_copy_hashing,
)
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

__all__ = ["LocalObjectStore"]

_URL_SCHEMES = ("file", "local")
_KERNEL_COPY_MIN_SIZE = 64 * 1024 * 1024
"""From this size on, the kernel copy beside the hash beats one pass through Python's buffers."""


class LocalObjectStore:
    """Content-addressed objects as plain files under one directory.

    Args:
        root: the store's directory, or a ``file://`` URL of it; created on the first write.
        fsync: flush each new object to disk before renaming it into place. Without it a power
            cut shortly after a put can lose the object's bytes while the metadata that
            references it survives; reads still verify the hash, so the loss is reported, never
            served. Off, a 1 GiB put runs at page-cache speed, as DVC and MLflow write.

    Example:
        >>> import tempfile
        >>> store = LocalObjectStore(tempfile.mkdtemp())
        >>> info = store.put_bytes(b"weights")
        >>> store.get_bytes(info.digest)
        b'weights'
    """

    def __init__(self, root: str | os.PathLike[str], *, fsync: bool = True) -> None:
        text = os.fspath(root)
        scheme, separator, path = text.partition("://")
        if separator and scheme.lower() in _URL_SCHEMES:
            text = path
        self.root = Path(text).absolute()
        self._temp_dir = self.root / TEMP_DIR
        self._where = str(self.root)
        self.fsync = fsync

    def __repr__(self) -> str:
        return f"LocalObjectStore({self._where!r})"

    # -- writing ------------------------------------------------------------------------------

    def put_file(self, path: str | os.PathLike[str]) -> ObjectInfo:
        """Store a file's content. See :meth:`ObjectStore.put_file`."""
        source = open_source_file(path)
        with source, self._errors(f"store {path}"):
            if os.fstat(source.fileno()).st_size >= _KERNEL_COPY_MIN_SIZE:
                return self._put_large(source)
            return self._store(lambda out: ObjectInfo(*copy_hashing(source, out)))

    def _put_large(self, source: io.FileIO) -> ObjectInfo:
        """Store a large file: the kernel copies it while it is hashed, in one pass.

        The name is the hash of the source's bytes as they were read; a source whose size or
        modification time changed during the copy is refused, so the name matches the stored
        bytes (and every read verifies it again). Content already stored is detected after the
        pass and the copy dropped.
        """
        before = os.fstat(source.fileno())

        def write(out: BinaryIO) -> ObjectInfo:
            digest = kernel_copy_hashing(source.fileno(), out.fileno(), before.st_size)
            after = os.fstat(source.fileno())
            if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
                raise InvalidInput(
                    f"{source.name} changed while it was being stored; add it again once "
                    "nothing writes to it.",
                    details={"path": source.name},
                )
            return ObjectInfo(digest, before.st_size)

        return self._store(write)

    def put_bytes(self, data: bytes) -> ObjectInfo:
        """Store an in-memory buffer. See :meth:`ObjectStore.put_bytes`."""
        info = ObjectInfo(hash_bytes(data), len(data))
        with self._errors("store bytes"):
            # The digest is known before writing, so content already stored costs no write at all.
            if self._refresh(self._path(info.digest), info.size):
                return info

            def write(out: BinaryIO) -> ObjectInfo:
                out.write(data)
                return info

            return self._store(write)

    def delete(self, digest: str) -> None:
        """Remove an object; a missing one is not an error. See :meth:`ObjectStore.delete`."""
        path = self._path(digest)
        with self._errors(f"delete object {digest}"):
            path.unlink(missing_ok=True)

    def delete_temp(self, name: str) -> None:
        """Remove an abandoned temp file. See :meth:`ObjectStore.delete_temp`."""
        path = self._temp_dir / check_temp_name(name)
        with self._errors(f"delete temp file {name}"):
            path.unlink(missing_ok=True)

    # -- reading ------------------------------------------------------------------------------

    def get_bytes(self, digest: str) -> bytes:
        """Read a whole object, verified. See :meth:`ObjectStore.get_bytes`."""
        path = self._path(digest)
        with self._errors(f"read object {digest}"):
            try:
                data = path.read_bytes()
            except FileNotFoundError as exc:
                raise self._missing(digest) from exc
        actual = hash_bytes(data)
        if actual != digest:
            raise corrupted(digest, actual, self._where)
        return data

    def copy_to(self, digest: str, dest_path: str | os.PathLike[str]) -> None:
        """Write an object to a local file once verified. See :meth:`ObjectStore.copy_to`."""
        with contextlib.closing(self._open(digest)) as source:
            copy_verified(source, digest, dest_path, self._where)

    def open(self, digest: str) -> VerifiedReader:
        """Stream an object, verified at its end. See :meth:`ObjectStore.open`."""
        return VerifiedReader(self._open(digest), digest, self._where)

    def exists(self, digest: str) -> bool:
        """Tell whether an object is stored. See :meth:`ObjectStore.exists`."""
        return self._path(digest).is_file()

    def size(self, digest: str) -> int:
        """Return an object's length in bytes. See :meth:`ObjectStore.size`."""
        path = self._path(digest)
        with self._errors(f"stat object {digest}"):
            try:
                return path.stat().st_size
            except FileNotFoundError as exc:
                raise self._missing(digest) from exc

    def iter_objects(self) -> Iterator[tuple[str, float]]:
        """List stored objects with their modified times. See :meth:`ObjectStore.iter_objects`."""
        with self._errors("list objects"):
            for shard in _scan(self.root):
                # Two-character names only: this skips tmp/ and anything else left in the root.
                if len(shard.name) != 2 or not shard.is_dir():
                    continue
                for entry in _scan(Path(shard.path)):
                    digest = shard.name + entry.name
                    mtime = _mtime(entry)
                    if is_digest(digest) and mtime is not None:
                        yield digest, mtime

    def iter_temp(self) -> Iterator[tuple[str, float]]:
        """List temp files of writes in progress. See :meth:`ObjectStore.iter_temp`."""
        with self._errors("list temp files"):
            for entry in _scan(self._temp_dir):
                mtime = _mtime(entry)
                if is_temp_name(entry.name) and mtime is not None:
                    yield entry.name, mtime

    # -- internals ----------------------------------------------------------------------------

    def _path(self, digest: str) -> Path:
        digest = check_digest(digest)
        return self.root / digest[:2] / digest[2:]

    def _open(self, digest: str) -> Source:
        path = self._path(digest)
        with self._errors(f"open object {digest}"):
            try:
                return open(path, "rb", buffering=0)
            except FileNotFoundError as exc:
                raise self._missing(digest) from exc

    def _store(self, write: Callable[[BinaryIO], ObjectInfo]) -> ObjectInfo:
        """Let ``write`` fill a fresh temp file, make it durable, and move it to its digest."""
        self._temp_dir.mkdir(parents=True, exist_ok=True)
        temp = self._temp_dir / new_temp_name()
        try:
            with open(temp, "xb") as out:
                info = write(out)
                out.flush()
                if self.fsync:
                    # Data first, rename second: otherwise a crash can leave an empty file under
                    # a digest that the metadata database already references.
                    os.fsync(out.fileno())
            final = self._path(info.digest)
            if self._refresh(final, info.size):
                temp.unlink()
            else:
                final.parent.mkdir(exist_ok=True)
                os.replace(temp, final)
                if self.fsync:
                    _fsync_dir(final.parent)
            return info
        except BaseException:
            with contextlib.suppress(OSError):
                temp.unlink(missing_ok=True)
            raise

    @staticmethod
    def _refresh(final: Path, size: int) -> bool:
        """Tell whether ``final`` already holds the content, and if so restart its gc grace period.

        The caller is about to reference the object, so a sweep that started earlier must see
        it as young. A file of the wrong size is a damaged copy: returning False lets the new,
        verified content replace it.
        """
        try:
            if final.stat().st_size != size:
                return False
            os.utime(final)
        except FileNotFoundError:
            return False
        return True

    def _missing(self, digest: str) -> NotFound:
        return NotFound(
            f"object {digest} not found in {self._where}",
            details={"digest": digest, "store": self._where},
        )

    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Translate OS errors into the platform's error tree, naming what was being done."""
        try:
            yield
        except OSError as exc:
            raise StoreUnavailable(
                f"object store {self._where}: cannot {action}: {exc}",
                details={"store": self._where},
            ) from exc


def _scan(directory: Path) -> Iterator[os.DirEntry[str]]:
    """Entries of ``directory``; none if it does not exist yet (nothing was ever written)."""
    try:
        entries = os.scandir(directory)
    except FileNotFoundError:
        return
    with entries:
        yield from entries


def _mtime(entry: os.DirEntry[str]) -> float | None:
    """Modified time of a regular file; None if it is not one or vanished since the listing."""
    try:
        if not entry.is_file(follow_symlinks=False):
            return None
        return entry.stat(follow_symlinks=False).st_mtime
    except FileNotFoundError:
        return None


def _fsync_dir(directory: Path) -> None:
    """Make a rename durable: on POSIX a new directory entry survives a crash only once the
    directory itself is flushed. Windows cannot open a directory, and NTFS journals renames."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
