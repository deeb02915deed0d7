"""Read a tabular file (Parquet, CSV, Arrow/Feather) with errors that name the file and the fault.

Used by the data domain (schema and statistics of a version) and by the command line (drift and
validation of files). Whatever pyarrow or pandas raise for a truncated Parquet file or a ragged
CSV becomes ``InvalidInput`` naming the path; a missing file is ``NotFound``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from modelcycle.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

TABULAR_SUFFIXES: dict[str, str] = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".tsv": "csv",
    ".arrow": "arrow",
    ".feather": "arrow",
    ".ipc": "arrow",
}
"""File ending → format, the one list of what counts as a table."""


def tabular_format(path: str | Path) -> str | None:
    """``"parquet"``, ``"csv"`` or ``"arrow"`` for a tabular file name, else ``None``."""
    return TABULAR_SUFFIXES.get(Path(path).suffix.lower())


def read_arrow(path: str | Path) -> pa.Table:
    """The file as an Arrow table.

    Raises:
        NotFound: there is no file at ``path``.
        InvalidInput: the format is unknown, or the file is not readable as that format
            (truncated, corrupted, rows of unequal length).
    """
    import pyarrow as pa
    import pyarrow.csv as pa_csv
    import pyarrow.feather as pa_feather
    import pyarrow.parquet as pq

    source = Path(path)
    if not source.is_file():
        raise NotFound(f"no file at {str(source)!r}", details={"path": str(source)})
    kind = tabular_format(source)
    if kind is None:
        raise InvalidInput(
            f"{str(source)!r} is not a table this reads; use one of "
            f"{', '.join(sorted(TABULAR_SUFFIXES))}",
            details={"path": str(source)},
        )
    try:
        if kind == "parquet":
            return pq.read_table(source)
        if kind == "arrow":
            return pa_feather.read_table(source)
        delimiter = "\t" if source.suffix.lower() == ".tsv" else ","
        return pa_csv.read_csv(source, parse_options=pa_csv.ParseOptions(delimiter=delimiter))
    except (pa.ArrowInvalid, pa.ArrowException, OSError, ValueError) as exc:
        raise InvalidInput(
            f"{str(source)!r} is not a readable {kind} file: {exc}",
            details={"path": str(source), "format": kind},
        ) from exc


def read_frame(path: str | Path) -> pd.DataFrame:
    """The file as a pandas DataFrame (see :func:`read_arrow` for the errors)."""
    return read_arrow(path).to_pandas()
