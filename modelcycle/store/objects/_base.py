"""The object-store contract and the pieces every implementation shares.

An object store keeps immutable blobs under the blake3 digest of their bytes. The digest is the
only name an object has, so identical content is stored once, and every read checks the bytes
against the name: a changed byte surfaces as :class:`~modelcycle.errors.IntegrityError`, never as
a silent load.

Layout, the same on every backend::

    <root>/<first 2 hex>/<remaining 62 hex>     one file per object
    <root>/tmp/<32 hex>                         writes in progress, moved into place when done
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol, TypeGuard, runtime_checkable

from modelcycle._internal.hashing import CHUNK_SIZE, Hasher, Source, copy_hashing, is_digest
from modelcycle.errors import IntegrityError, InvalidInput, NotFound, StoreUnavailable

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

__all__ = [
    "TEMP_DIR",
    "ObjectInfo",
    "ObjectStore",
    "VerifiedReader",
    "check_digest",
    "check_temp_name",
    "copy_verified",
    "corrupted",
    "is_temp_name",
    "new_temp_name",
    "open_source_file",
]

TEMP_DIR: Final = "tmp"
"""Directory under the root for writes in progress: on the same filesystem, so renames are
atomic, and outside the two-character shards, so a listing never takes a partial write for an
object."""

_TEMP_NAME_RE: Final = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """What a write stored.

    Attributes:
        digest: blake3 digest of the content, 64 lowercase hex characters; the object's only name.
        size: length of the content in bytes.
    """

    digest: str
    size: int


@runtime_checkable
class ObjectStore(Protocol):
    """Content-addressed storage of immutable blobs, verified on every read.

    Implementations: :class:`~modelcycle.store.objects.local.LocalObjectStore` (the default, plain
    files) and :class:`~modelcycle.store.objects.fsspec_store.FsspecObjectStore` (any fsspec URL).
    Every method that takes a digest raises :class:`InvalidInput` unless it is 64 lowercase hex
    characters, so a caller-supplied string can never name a path outside the store.

    Example:
        >>> from modelcycle.store.objects import open_object_store
        >>> store = open_object_store("memory://doctest/objects")
        >>> info = store.put_bytes(b"weights")
        >>> store.get_bytes(info.digest)
        b'weights'
    """

    def put_file(self, path: str | os.PathLike[str]) -> ObjectInfo:
        """Store a file's content, reading it once and never whole into memory.

        Args:
            path: the local file to store.

        Returns:
            The digest and size of what was stored.

        Raises:
            NotFound: ``path`` does not exist.
            InvalidInput: ``path`` is a directory or cannot be read.
            StoreUnavailable: the store cannot be written.
        """
        ...

    def put_bytes(self, data: bytes) -> ObjectInfo:
        """Store an in-memory buffer.

        Args:
            data: the content.

        Returns:
            The digest and size of what was stored.

        Raises:
            StoreUnavailable: the store cannot be written.
        """
        ...

    def get_bytes(self, digest: str) -> bytes:
        """Read a whole object into memory, verified.

        Args:
            digest: the object's digest.

        Returns:
            The content.

        Raises:
            InvalidInput: ``digest`` is malformed.
            NotFound: no object has this digest.
            IntegrityError: the stored bytes no longer hash to ``digest``.
            StoreUnavailable: the store cannot be read.
        """
        ...

    def copy_to(self, digest: str, dest_path: str | os.PathLike[str]) -> None:
        """Write an object to a local file, replacing ``dest_path`` only once it is verified.

        Args:
            digest: the object's digest.
            dest_path: the file to create or replace; missing parent directories are created.

        Raises:
            InvalidInput: ``digest`` is malformed, or ``dest_path`` cannot be written.
            NotFound: no object has this digest.
            IntegrityError: the stored bytes no longer hash to ``digest``; ``dest_path`` is left
                as it was.
            StoreUnavailable: the store cannot be read.
        """
        ...

    def open(self, digest: str) -> VerifiedReader:
        """Open an object for streaming; the hash is checked when the stream reaches its end.

        Bytes are handed out before they are verified, so a consumer must read to the end (and not
        swallow the error raised there) before it trusts what it has received.

        Args:
            digest: the object's digest.

        Returns:
            A readable binary stream; close it, or use it as a context manager.

        Raises:
            InvalidInput: ``digest`` is malformed.
            NotFound: no object has this digest.
            IntegrityError: from a read, at the end of the stream, if the bytes do not hash to
                ``digest``.
            StoreUnavailable: the store cannot be read.
        """
        ...

    def exists(self, digest: str) -> bool:
        """Tell whether an object is stored, without reading or verifying it.

        Raises:
            InvalidInput: ``digest`` is malformed.
            StoreUnavailable: the store cannot be read.
        """
        ...

    def size(self, digest: str) -> int:
        """Return an object's length in bytes, without reading it.

        Raises:
            InvalidInput: ``digest`` is malformed.
            NotFound: no object has this digest.
            StoreUnavailable: the store cannot be read.
        """
        ...

    def delete(self, digest: str) -> None:
        """Remove an object. Removing a missing object is not an error: two sweeps may race, and
        object stores such as S3 cannot tell a deleted key from one that never existed.

        Raises:
            InvalidInput: ``digest`` is malformed.
            StoreUnavailable: the store cannot be written.
        """
        ...

    def iter_objects(self) -> Iterator[tuple[str, float]]:
        """List every stored object, never the writes still in progress.

        Returns:
            An iterator of ``(digest, modified time in epoch seconds)``, in no particular order.
            Storing content that already exists refreshes its modified time.

        Raises:
            StoreUnavailable: the store cannot be listed.
        """
        ...

    def iter_temp(self) -> Iterator[tuple[str, float]]:
        """List the temporary files of writes in progress or abandoned by a crash.

        Returns:
            An iterator of ``(temp name, modified time in epoch seconds)``.

        Raises:
            StoreUnavailable: the store cannot be listed.
        """
        ...

    def delete_temp(self, name: str) -> None:
        """Remove a temporary file named by :meth:`iter_temp`; a missing one is not an error.

        Raises:
            InvalidInput: ``name`` is not a temp name this store creates.
            StoreUnavailable: the store cannot be written.
        """
        ...


def check_digest(digest: object) -> str:
    """Return ``digest`` if it is well formed, so it is safe to build a path from it.

    Raises:
        InvalidInput: ``digest`` is not 64 lowercase hex characters.
    """
    if is_digest(digest):
        return digest
    raise InvalidInput(
        f"invalid object digest {digest!r}: expected 64 lowercase hex characters "
        "(a blake3 digest)",
        details={"digest": repr(digest)},
    )


def new_temp_name() -> str:
    """A fresh, collision-free name for a write in progress."""
    return uuid.uuid4().hex


def is_temp_name(name: object) -> TypeGuard[str]:
    """Tell whether ``name`` is one :func:`new_temp_name` could have made."""
    return isinstance(name, str) and _TEMP_NAME_RE.fullmatch(name) is not None


def check_temp_name(name: object) -> str:
    """Return ``name`` if it is a temp name, so it is safe to build a path from it.

    Raises:
        InvalidInput: ``name`` is anything else, such as a path.
    """
    if is_temp_name(name):
        return name
    raise InvalidInput(
        f"invalid temp name {name!r}: expected 32 lowercase hex characters",
        details={"name": repr(name)},
    )


def corrupted(digest: str, actual: str, where: str) -> IntegrityError:
    """The error for stored bytes that no longer hash to their name."""
    return IntegrityError(
        f"object {digest} in {where} is corrupted: its bytes hash to {actual}. "
        "Restore it from a replica or store the original file again.",
        details={"digest": digest, "actual": actual, "store": where},
    )


def open_source_file(path: str | os.PathLike[str]) -> io.FileIO:
    """Open a file the caller asked to store, translating the errors that are the caller's.

    Raises:
        NotFound: ``path`` does not exist.
        InvalidInput: ``path`` is a directory or cannot be read.
    """
    try:
        return open(path, "rb", buffering=0)
    except FileNotFoundError as exc:
        raise NotFound(f"cannot store {path}: no such file", details={"path": str(path)}) from exc
    except IsADirectoryError as exc:
        raise InvalidInput(
            f"cannot store {path}: it is a directory; store its files one by one",
            details={"path": str(path)},
        ) from exc
    except OSError as exc:
        raise InvalidInput(
            f"cannot read {path}: {exc.strerror}", details={"path": str(path)}
        ) from exc


def copy_verified(source: Source, digest: str, dest: str | os.PathLike[str], where: str) -> None:
    """Stream ``source`` into a temp file beside ``dest`` while hashing, and rename it onto
    ``dest`` only when the hash matches: a reader of ``dest`` sees the old file or the verified new
    one, never a partial or corrupted copy.

    Args:
        source: the object's bytes, read until exhausted.
        digest: what the bytes must hash to.
        dest: the local file to create or replace.
        where: the store, for error messages.

    Raises:
        IntegrityError: the bytes do not hash to ``digest``; ``dest`` is untouched.
        InvalidInput: ``dest`` cannot be written.
        StoreUnavailable: ``source`` cannot be read.
    """
    dest = Path(dest)
    temp = dest.with_name(f".{dest.name}.{new_temp_name()}.tmp")
    try:
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            out = open(temp, "xb")
        except OSError as exc:
            raise InvalidInput(f"cannot write {dest}: {exc.strerror}") from exc
        with out:
            try:
                actual, _ = copy_hashing(source, out)
                out.flush()
                # The rename must not reach the disk before the data, or a crash could empty dest.
                os.fsync(out.fileno())
            except OSError as exc:
                raise StoreUnavailable(
                    f"cannot copy object {digest} from {where} to {dest}: {exc}"
                ) from exc
        if actual != digest:
            raise corrupted(digest, actual, where)
        try:
            os.replace(temp, dest)
        except OSError as exc:
            raise InvalidInput(f"cannot write {dest}: {exc.strerror}") from exc
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink(missing_ok=True)
        raise


class VerifiedReader(io.RawIOBase):
    """A read-only stream over an object that hashes what passes through it and raises
    :class:`IntegrityError` at the end of the stream if the bytes do not match their digest.

    Args:
        source: the object's raw bytes; closed with this reader.
        digest: what the bytes must hash to.
        where: the store, for error messages.
    """

    def __init__(self, source: Source, digest: str, where: str) -> None:
        super().__init__()
        self._source = source
        self._digest = digest
        self._where = where
        self._hasher = Hasher()
        self._verified = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed object stream")
        if self._verified:
            return 0
        with memoryview(buffer) as raw, raw.cast("B") as view:
            try:
                n = self._source.readinto(view) or 0
            except OSError as exc:
                raise StoreUnavailable(
                    f"cannot read object {self._digest} from {self._where}: {exc}"
                ) from exc
            if n:
                self._hasher.update(view[:n])
                return n
        actual = self._hasher.hexdigest()
        if actual != self._digest:
            raise corrupted(self._digest, actual, self._where)
        self._verified = True
        return 0

    def readall(self) -> bytes:
        # The inherited readall reads in 8 KiB steps; whole-object reads deserve full chunks.
        chunks = []
        buffer = bytearray(CHUNK_SIZE)
        while n := self.readinto(buffer):
            chunks.append(bytes(buffer[:n]))
        return b"".join(chunks)

    def close(self) -> None:
        if not self.closed:
            self._source.close()
        super().close()
