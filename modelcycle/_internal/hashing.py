"""blake3 content hashing: the one definition of a modelcycle digest.

A digest is the blake3 hash of the bytes, written as 64 lowercase hex characters. Everything
that addresses content (artifacts, dataset blobs, step-cache keys) computes it through this
module, so the algorithm, the encoding and the read-chunk size are decided in one place.

blake3 is used multithreaded (``max_threads=AUTO``): the Rust core splits each chunk across cores,
which roughly doubles throughput on large files, and it releases the GIL while hashing.
"""

from __future__ import annotations

import mmap
import os
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Final, Protocol, TypeGuard

import blake3

__all__ = [
    "CHUNK_SIZE",
    "DIGEST_LENGTH",
    "Hasher",
    "Sink",
    "Source",
    "copy_hashing",
    "hash_bytes",
    "hash_file",
    "is_digest",
    "kernel_copy_hashing",
]

CHUNK_SIZE: Final = 1 << 20
MMAP_WINDOW: Final = 64 << 20
"""Bytes of a file :func:`hash_file` and :func:`kernel_copy_hashing` map at once (a multiple of
the page size)."""
"""Bytes read per step when streaming. 1 MiB is large enough for multithreaded blake3 to pay off
and for the per-call overhead to vanish, and small enough to keep memory flat for any file size."""

DIGEST_LENGTH: Final = 64
"""Length of a hex digest: 32 bytes of blake3 output."""

_DIGEST_RE: Final = re.compile(r"[0-9a-f]{64}")


class Source(Protocol):
    """Bytes to read: a local file, or an fsspec file opened for reading."""

    def readinto(self, buffer: memoryview, /) -> int | None: ...

    def close(self) -> None: ...


class Sink(Protocol):
    """Where bytes go: a local file, or an fsspec file opened for writing."""

    def write(self, data: memoryview, /) -> int | None: ...


class Hasher:
    """Incremental blake3 hasher for data that arrives in pieces (streams, uploads).

    Example:
        >>> h = Hasher()
        >>> h.update(b"hello ")
        >>> h.update(b"world")
        >>> h.hexdigest() == hash_bytes(b"hello world")
        True
    """

    __slots__ = ("_hasher",)

    def __init__(self) -> None:
        self._hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)

    def update(self, data: bytes | bytearray | memoryview) -> None:
        """Feed the next piece of data.

        Args:
            data: any bytes-like object; a ``memoryview`` slice avoids copying a read buffer.
        """
        self._hasher.update(data)

    def hexdigest(self) -> str:
        """Return the digest of everything fed so far; more data may still be fed afterwards.

        Returns:
            64 lowercase hex characters.
        """
        return self._hasher.hexdigest()


def hash_bytes(data: bytes | bytearray | memoryview) -> str:
    """Hash an in-memory buffer.

    Args:
        data: the bytes to hash.

    Returns:
        The digest, 64 lowercase hex characters.

    Example:
        >>> len(hash_bytes(b""))
        64
    """
    hasher = Hasher()
    hasher.update(data)
    return hasher.hexdigest()


def hash_file(path: str | os.PathLike[str]) -> str:
    """Hash a file without loading it into memory.

    The file is memory-mapped one window at a time, which lets blake3 hash each window in
    parallel without copying it; unmapping each window before the next keeps the process's
    resident memory at one window (a whole-file mapping would count the whole file as resident).

    Args:
        path: the file to hash.

    Returns:
        The digest, 64 lowercase hex characters.

    Raises:
        OSError: the file cannot be opened or read (callers translate it at their boundary).
    """
    hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
    with open(path, "rb", buffering=0) as file:
        size = os.fstat(file.fileno()).st_size
        for offset in range(0, size, MMAP_WINDOW):
            length = min(MMAP_WINDOW, size - offset)
            with mmap.mmap(
                file.fileno(), length, offset=offset, access=mmap.ACCESS_READ
            ) as window:
                hasher.update(window)
    return hasher.hexdigest()


def kernel_copy_hashing(source_fd: int, sink_fd: int, size: int) -> str:
    """Copy ``size`` bytes from ``source_fd`` to ``sink_fd`` and hash them, in one pass.

    Window by window, the kernel copies the byte range (``sendfile``) on a worker thread while
    blake3 hashes the same range, memory-mapped, on this one; both release the GIL, so on two
    cores the copy costs little more than the hash alone. The hasher leaves one core to the copy.

    Returns:
        The digest of the source's bytes.

    Raises:
        OSError: a read or write fails (callers translate it at their boundary).
    """
    hasher = blake3.blake3(max_threads=max(1, (os.cpu_count() or 2) - 1))
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="modelcycle-copy") as copier:
        for offset in range(0, size, MMAP_WINDOW):
            length = min(MMAP_WINDOW, size - offset)
            copied = copier.submit(_send_range, source_fd, sink_fd, offset, length)
            try:
                with mmap.mmap(
                    source_fd, length, offset=offset, access=mmap.ACCESS_READ
                ) as window:
                    hasher.update(window)
            finally:
                copied.result()
    return hasher.hexdigest()


def _send_range(source_fd: int, sink_fd: int, offset: int, length: int) -> None:
    end = offset + length
    while offset < end:
        sent = os.sendfile(sink_fd, source_fd, offset, end - offset)
        if sent == 0:
            raise OSError(f"the source ended {end - offset} bytes early: it shrank while copied")
        offset += sent


def copy_hashing(source: Source, sink: Sink) -> tuple[str, int]:
    """Copy ``source`` into ``sink`` in one pass, hashing each chunk on its way through, so the
    input is read once and never more than one chunk of it is held in memory.

    Args:
        source: read until exhausted; not closed.
        sink: receives every byte; not flushed or closed.

    Returns:
        The digest of the bytes copied, and their count.
    """
    hasher = Hasher()
    buffer = bytearray(CHUNK_SIZE)
    view = memoryview(buffer)
    size = 0
    while n := source.readinto(view):
        chunk = view[:n]
        hasher.update(chunk)
        sink.write(chunk)
        size += n
    return hasher.hexdigest(), size


def is_digest(value: object) -> TypeGuard[str]:
    """Tell whether ``value`` is a well-formed digest: exactly 64 lowercase hex characters.

    Checking the form before building a path from a digest is what keeps a caller-supplied value
    such as ``"../etc/passwd"`` from reaching the filesystem.

    Args:
        value: anything; non-strings are never digests.

    Returns:
        True if ``value`` is a digest string.
    """
    return isinstance(value, str) and _DIGEST_RE.fullmatch(value) is not None
