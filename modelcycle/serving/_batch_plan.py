"""What a batch-scoring job reads and writes, decided before any row is scored.

The plan lists the input files (one file, or every Parquet or CSV file under a directory,
recursively and sorted), refuses what cannot work (no such input, no files, mixed formats, an
output that exists or sits inside the input), and names each file's output inside a *staging*
location beside the destination:

    out.parquet   ◄─ rename ─  .out.parquet.tmp-<uuid>          (one input file)
    out/          ◄─ rename ─  .out.tmp-<uuid>/a/b.parquet …    (a directory: relative paths kept)

Everything is written into staging and renamed into place only once every file is complete, so
a failure (a bad column in file 900 of 1,000, a crash) leaves no output at all, and an existing
output is replaced only when the caller asked to overwrite it.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from modelcycle.errors import AlreadyExists, InvalidInput, NotFound
from modelcycle.serving._batch_io import (
    INPUT_SUFFIXES,
    OUTPUT_SUFFIXES,
    Format,
    InputFile,
    input_format,
    parquet_rows,
)


@dataclass(frozen=True)
class Plan:
    """The job's files. ``staged[i]`` is where ``inputs[i]`` is scored to; ``staging`` is the
    temporary file or directory renamed to ``destination`` by :func:`commit`."""

    source: Path
    destination: Path
    output_format: Format
    inputs: tuple[InputFile, ...]
    staging: Path
    staged: tuple[Path, ...]
    is_directory: bool

    @property
    def total_rows(self) -> int | None:
        """Rows to score when every file's count is known (Parquet footers), else None."""
        counts = [item.rows for item in self.inputs]
        return None if any(count is None for count in counts) else sum(counts)  # type: ignore[misc]

    def final_path(self, staged: Path) -> Path:
        """Where a staged file will be once the job is committed."""
        if not self.is_directory:
            return self.destination
        return self.destination / staged.relative_to(self.staging)


def plan_job(
    source: str | os.PathLike[str],
    destination: str | os.PathLike[str],
    *,
    output_format: Format | None = None,
    overwrite: bool = False,
) -> Plan:
    """Check the paths and list the files of a job.

    Args:
        output_format: ``"parquet"`` or ``"csv"``; by default CSV when ``destination`` ends in
            ``.csv``, else Parquet.
        overwrite: allow replacing an existing ``destination``.

    Raises:
        NotFound: ``source`` does not exist.
        InvalidInput: ``source`` holds no Parquet or CSV file, mixes the two, is of another
            format; ``destination`` is ``source`` or lies inside it.
        AlreadyExists: ``destination`` exists and ``overwrite`` is false.
    """
    src = Path(source).expanduser()
    dest = Path(destination).expanduser()
    if not src.exists():
        raise NotFound(f"no file or directory at {str(src)!r}", details={"path": str(src)})
    fmt = _output_format(dest, output_format)
    _check_destination(src, dest, overwrite)
    is_directory = src.is_dir()
    inputs = _list_directory(src) if is_directory else (_single_file(src),)
    staging = dest.parent / f".{dest.name}.tmp-{uuid.uuid4().hex[:12]}"
    if is_directory:
        suffix = OUTPUT_SUFFIXES[fmt]
        staged = tuple(staging / Path(item.relative).with_suffix(suffix) for item in inputs)
        _check_unique_outputs(inputs, staged, staging)
    else:
        staged = (staging,)
    return Plan(src, dest, fmt, inputs, staging, staged, is_directory)


def _output_format(dest: Path, given: str | None) -> Format:
    if given is None:
        return "csv" if dest.suffix.lower() == ".csv" else "parquet"
    if given not in OUTPUT_SUFFIXES:
        raise InvalidInput(
            f"unknown output format {given!r}; use parquet or csv", details={"format": given}
        )
    return given  # type: ignore[return-value]


def _check_destination(src: Path, dest: Path, overwrite: bool) -> None:
    src_abs, dest_abs = src.resolve(), dest.resolve()
    if dest_abs == src_abs or (src.is_dir() and dest_abs.is_relative_to(src_abs)):
        raise InvalidInput(
            f"the output {str(dest)!r} is the input or lies inside it; write elsewhere",
            details={"path": str(dest)},
        )
    if (dest.exists() or dest.is_symlink()) and not overwrite:
        raise AlreadyExists(
            f"{str(dest)!r} already exists; choose another output or pass --overwrite "
            "(overwrite=True) to replace it",
            details={"path": str(dest)},
        )
    if dest.exists() and src.is_file() and dest.is_dir():
        raise InvalidInput(
            f"the output {str(dest)!r} is a directory but the input is one file; name a file",
            details={"path": str(dest)},
        )


def _single_file(path: Path) -> InputFile:
    kind = input_format(path)
    if kind is None:
        raise InvalidInput(
            f"{str(path)!r} is neither Parquet nor CSV; batch scoring reads files ending in "
            f"{', '.join(INPUT_SUFFIXES)}",
            details={"path": str(path)},
        )
    rows = parquet_rows(path) if kind == "parquet" else None
    return InputFile(path, path.name, kind, rows)


def _list_directory(root: Path) -> tuple[InputFile, ...]:
    """Every Parquet or CSV file under ``root``, sorted by relative path; hidden files and
    names starting with ``_`` (``_SUCCESS``, ``_metadata``) are not data."""
    found: list[InputFile] = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part.startswith((".", "_")) for part in relative.parts) or not path.is_file():
            continue
        kind = input_format(path)
        if kind is not None:
            rows = parquet_rows(path) if kind == "parquet" else None
            found.append(InputFile(path, relative.as_posix(), kind, rows))
    if not found:
        raise InvalidInput(
            f"the directory {str(root)!r} holds no Parquet or CSV file "
            f"({', '.join(INPUT_SUFFIXES)})",
            details={"path": str(root)},
        )
    formats = sorted({item.format for item in found})
    if len(formats) > 1:
        first = {fmt: next(i.relative for i in found if i.format == fmt) for fmt in formats}
        raise InvalidInput(
            f"the directory {str(root)!r} mixes Parquet and CSV files (e.g. {first['parquet']} "
            f"and {first['csv']}); score each format separately",
            details={"path": str(root), "formats": formats},
        )
    return tuple(found)


def _check_unique_outputs(
    inputs: tuple[InputFile, ...], staged: tuple[Path, ...], staging: Path
) -> None:
    """``a.csv`` and ``a.tsv`` would both be written to ``a.parquet``: refuse, naming both."""
    seen: dict[Path, str] = {}
    for item, path in zip(inputs, staged, strict=True):
        if path in seen:
            raise InvalidInput(
                f"{seen[path]} and {item.relative} would both be written to "
                f"{path.relative_to(staging).as_posix()}; rename one of them",
                details={"paths": [seen[path], item.relative]},
            )
        seen[path] = item.relative


def prepare(plan: Plan) -> None:
    """Create the staging directory (and the destination's parent) before files are written."""
    plan.destination.parent.mkdir(parents=True, exist_ok=True)
    if plan.is_directory:
        plan.staging.mkdir()
        for path in plan.staged:
            path.parent.mkdir(parents=True, exist_ok=True)


def commit(plan: Plan, *, overwrite: bool) -> None:
    """Move the staged output into place; an existing destination is replaced only with
    ``overwrite`` (checked again here: another process may have written it meanwhile)."""
    dest = plan.destination
    if dest.exists() or dest.is_symlink():
        if not overwrite:
            raise AlreadyExists(
                f"{str(dest)!r} appeared while scoring; nothing was replaced",
                details={"path": str(dest)},
            )
        if not dest.is_dir() or dest.is_symlink():
            if plan.is_directory:
                dest.unlink()  # a file where the output directory goes: rename cannot replace it
            os.replace(plan.staging, dest)
            return
        # A directory cannot be replaced in one rename: move it aside, rename, then delete it.
        old = dest.parent / f".{dest.name}.old-{uuid.uuid4().hex[:12]}"
        os.rename(dest, old)
        os.rename(plan.staging, dest)
        shutil.rmtree(old, ignore_errors=True)
        return
    os.rename(plan.staging, dest)


def discard(plan: Plan) -> None:
    """Remove whatever was staged: the job failed or was interrupted."""
    if plan.staging.is_dir():
        shutil.rmtree(plan.staging, ignore_errors=True)
    else:
        plan.staging.unlink(missing_ok=True)
