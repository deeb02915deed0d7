"""Artifact files over HTTP: streamed both ways, blake3-verified both ways.

Upload: the file is hashed first, then streamed as the body of ``PUT …/artifacts/{path}`` with
the digest in ``X-Content-Blake3``; the server re-hashes what it receives and stores nothing on a
mismatch. Download: the body is streamed into a temporary file beside the destination while it
is hashed; only when the digest matches both the server's header and the listing is the file
renamed into place, so a reader of the destination never sees a partial or corrupt file.

Which local files map to which artifact paths, and where a download lands, follow the embedded
service exactly (``tracking/_artifacts.py``); the rules are small and repeated here because that
module also validates against the store's limits, and the client never imports the store. The
server validates every path (400 for ``..``, absolute paths, NUL, backslashes).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import quote

from modelcycle._internal.hashing import Hasher
from modelcycle.errors import IntegrityError, InvalidInput, NotFound

if TYPE_CHECKING:
    from modelcycle.client._http import HttpSession

DIGEST_HEADER = "X-Content-Blake3"


def url_segment(value: str) -> str:
    """``value`` as one URL path segment: every ``/`` and ``.`` escaped, so no client or proxy
    can resolve ``..`` before the server sees (and refuses) it."""
    return quote(value, safe="").replace(".", "%2E")


def files_to_log(local_path: str | Path, destination: str | None) -> list[tuple[Path, str]]:
    """``(local file, artifact path)`` for a file or every file of a directory tree.

    Raises:
        NotFound: ``local_path`` does not exist.
        InvalidInput: the directory holds no files.
    """
    source = Path(local_path)
    prefix = destination or ""  # the server normalises it, or refuses it naming the problem
    if source.is_file():
        return [(source, _join(prefix, source.name))]
    if not source.is_dir():
        raise NotFound(
            f"no file or directory at {str(source)!r} to log as an artifact",
            details={"path": str(source)},
        )
    files = sorted(path for path in source.rglob("*") if path.is_file())
    if not files:
        raise InvalidInput(
            f"directory {str(source)!r} holds no files to log", details={"path": str(source)}
        )
    return [(path, _join(prefix, path.relative_to(source).as_posix())) for path in files]


def normalized(path: str) -> str:
    """An artifact path as the server normalises it (``a//b/`` → ``a/b``, ``.`` → ``""``)."""
    if not path:
        return ""
    text = str(PurePosixPath(path))
    return "" if text == "." else text


def download_target(requested: str, stored: str, dest: Path, *, single_file: bool) -> Path:
    """Where one stored file goes when ``requested`` (a file or a directory) is downloaded."""
    if single_file:
        return dest / PurePosixPath(stored).name if dest.is_dir() else dest
    relative = PurePosixPath(stored).relative_to(requested) if requested else PurePosixPath(stored)
    return dest.joinpath(*relative.parts)


class VerifyingWriter:
    """A temporary file beside ``target`` that hashes what is written and, on :meth:`commit`,
    replaces ``target`` only if the digest is the expected one."""

    def __init__(self, target: Path) -> None:
        self.target = target
        target.parent.mkdir(parents=True, exist_ok=True)
        self.temp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
        self._file = open(self.temp, "xb")
        self._hasher = Hasher()

    def write(self, chunk: bytes) -> None:
        self._hasher.update(chunk)
        self._file.write(chunk)

    def commit(self, expected: str, source: str) -> None:
        """Rename into place if the bytes hash to ``expected``.

        Raises:
            IntegrityError: they do not; ``target`` is left as it was.
        """
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        actual = self._hasher.hexdigest()
        if actual != expected:
            raise IntegrityError(
                f"{source} arrived with bytes hashing to {actual}, not {expected}: the stored "
                "object is corrupted or the transfer was damaged; nothing was written",
                details={"expected": expected, "actual": actual},
            )
        os.replace(self.temp, self.target)

    def discard(self) -> None:
        self._file.close()
        with contextlib.suppress(OSError):
            self.temp.unlink(missing_ok=True)


def fetch_verified(http: HttpSession, url: str, digest: str, target: Path, source: str) -> None:
    """Download ``url`` into ``target``, streamed into a temporary file that replaces ``target``
    only once its blake3 is ``digest`` and the server's ``X-Content-Blake3`` agrees; retried on
    connection errors and 5xx.

    Raises:
        IntegrityError: the bytes are not ``digest``; ``target`` is left as it was.
    """

    def attempt() -> None:
        writer = VerifyingWriter(target)
        try:
            with http.stream(url) as response:
                for chunk in response.iter_bytes():
                    writer.write(chunk)
                sent = response.headers.get(DIGEST_HEADER, digest)
            if sent != digest:
                writer.commit(sent, source)  # raises: the server sent other content
            writer.commit(digest, source)
        except BaseException:
            writer.discard()
            raise

    http.retrying("GET", None, attempt)


def _join(prefix: str, name: str) -> str:
    return f"{prefix}/{name}" if prefix else name
