"""Mapping between local files and artifact paths inside a run."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from modelcycle.errors import InvalidInput, NotFound
from modelcycle.tracking._validation import artifact_path


def files_to_log(local_path: str | Path, destination: str | None) -> list[tuple[Path, str]]:
    """``(local file, artifact path)`` for a file or every file of a directory tree.

    A file lands at ``destination/<file name>``; a directory's contents land under
    ``destination`` (the run's root when it is ``None``), as MLflow's ``log_artifacts`` does.

    Raises:
        NotFound: ``local_path`` does not exist.
        InvalidInput: ``destination`` is absolute or escapes the run, or the directory is empty.
    """
    source = Path(local_path)
    prefix = artifact_path(destination) if destination else ""
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


def download_target(requested: str, stored: str, dest: Path, *, single_file: bool) -> Path:
    """Where one stored artifact goes when ``requested`` (a file or a directory) is downloaded.

    A single file goes to ``dest`` itself, or inside it when ``dest`` is a directory; a
    directory's files keep their paths relative to the requested directory.
    """
    if single_file:
        return dest / PurePosixPath(stored).name if dest.is_dir() else dest
    relative = PurePosixPath(stored).relative_to(requested) if requested else PurePosixPath(stored)
    return dest.joinpath(*relative.parts)


def like_prefix(prefix: str) -> str:
    """A LIKE pattern matching everything under a directory, with wildcards in it escaped."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}/%"


def _join(prefix: str, name: str) -> str:
    return f"{prefix}/{name}" if prefix else name
