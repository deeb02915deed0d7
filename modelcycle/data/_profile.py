"""Row count, schema and summary statistics of a tabular version, without loading it whole.

- The row count is exact. Parquet keeps it in the footer (nothing else is read); an Arrow IPC
  file is memory-mapped and its batch lengths summed; a CSV is parsed as a stream, batch by
  batch, which also proves every row has the right number of fields.
- The schema and the statistics come from ``modelcycle.quality`` (``infer_schema``,
  ``summary_statistics``) run on a sample: the first :data:`SAMPLE_ROWS` rows. A dataset of any
  size is then profiled in bounded memory and time. The cost: a column whose first rows are
  unlike the rest is described by its first rows (``docs/data.md`` says so).

Every failure of pyarrow to read the file becomes ``InvalidInput`` naming the file.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from modelcycle._internal.tabular import tabular_format
from modelcycle.errors import InvalidInput

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

SAMPLE_ROWS: Final = 100_000
"""Rows the schema and statistics are computed from."""

FRAME_FILE: Final = "data.parquet"
"""The file name a DataFrame or Arrow table is stored under."""


@dataclass(frozen=True, slots=True)
class TableProfile:
    row_count: int
    schema: dict[str, Any]
    statistics: dict[str, dict[str, Any]]


def is_tabular(path: Path) -> bool:
    """True for a single file whose name says Parquet, CSV/TSV or Arrow."""
    return path.is_file() and tabular_format(path) is not None


def write_frame(frame: Any, dest: Path) -> None:
    """Write a pandas DataFrame or pyarrow Table to ``dest`` as Parquet.

    Raises:
        InvalidInput: it is neither, has no columns, or has values Arrow cannot type.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = _as_arrow(frame)
    if table.num_columns == 0:
        raise InvalidInput("cannot add a table with no columns", details={})
    try:
        pq.write_table(table, dest)
    except (pa.ArrowException, ValueError) as exc:
        raise InvalidInput(f"cannot write the table as Parquet: {exc}", details={}) from exc


def _as_arrow(frame: Any) -> pa.Table:
    import pandas as pd
    import pyarrow as pa

    if isinstance(frame, pa.Table):
        return frame
    if isinstance(frame, pd.DataFrame):
        try:
            return pa.Table.from_pandas(frame)
        except (pa.ArrowException, ValueError, TypeError) as exc:
            raise InvalidInput(f"cannot convert the DataFrame to Arrow: {exc}",
                               details={}) from exc  # fmt: skip
    raise InvalidInput(
        f"add takes a path, a pandas DataFrame or a pyarrow Table, got {type(frame).__name__}",
        details={"type": type(frame).__name__},
    )


def profile(path: Path, display_name: str) -> TableProfile:
    """Profile the tabular file at ``path``; ``display_name`` is what errors call it.

    Raises:
        InvalidInput: the file is not readable as its format (truncated, ragged, empty).
    """

    kind = tabular_format(path)
    with _read_errors(display_name, kind or "table"):
        if kind == "parquet":
            row_count, sample = _parquet(path)
        elif kind == "arrow":
            row_count, sample = _arrow(path)
        else:
            row_count, sample = _csv(path)
        if sample.num_columns == 0:
            raise InvalidInput(f"{display_name!r} has no columns", details={"path": display_name})
        frame = sample.to_pandas()
    return _describe(frame, row_count)


def _describe(frame: pd.DataFrame, row_count: int) -> TableProfile:
    from modelcycle.quality import infer_schema, summary_statistics

    schema = infer_schema(frame).model_dump(mode="json")
    statistics = {str(k): dict(v) for k, v in summary_statistics(frame).items()}
    return TableProfile(row_count, schema, statistics)


def _parquet(path: Path) -> tuple[int, pa.Table]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
    batches = _first_rows(parquet.iter_batches(batch_size=min(SAMPLE_ROWS, 65_536)))
    return parquet.metadata.num_rows, pa.Table.from_batches(batches, parquet.schema_arrow)


def _arrow(path: Path) -> tuple[int, pa.Table]:
    import pyarrow as pa

    with pa.memory_map(str(path)) as source:
        try:
            file_reader = pa.ipc.open_file(source)
            schema = file_reader.schema
            batches = [file_reader.get_batch(i) for i in range(file_reader.num_record_batches)]
        except pa.ArrowInvalid:  # not the IPC file format: maybe the stream format
            source.seek(0)
            stream = pa.ipc.open_stream(source)
            schema = stream.schema
            batches = list(stream)
        row_count = sum(batch.num_rows for batch in batches)
        # Memory-mapped batches cost nothing until read; only the sample is copied out.
        sample = pa.Table.from_batches(_first_rows(iter(batches)), schema)
        return row_count, sample.combine_chunks()


def _csv(path: Path) -> tuple[int, pa.Table]:
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    reader = pa_csv.open_csv(path, parse_options=pa_csv.ParseOptions(delimiter=delimiter))
    sample: list[pa.RecordBatch] = []
    row_count = sampled = 0
    for batch in reader:
        row_count += batch.num_rows
        if sampled < SAMPLE_ROWS:
            sample.append(batch.slice(0, SAMPLE_ROWS - sampled))
            sampled += sample[-1].num_rows
    return row_count, pa.Table.from_batches(sample, reader.schema)


def _first_rows(batches: Iterator[pa.RecordBatch]) -> list[pa.RecordBatch]:
    taken: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        if count >= SAMPLE_ROWS:
            break
        taken.append(batch.slice(0, SAMPLE_ROWS - count))
        count += taken[-1].num_rows
    return taken


@contextlib.contextmanager
def _read_errors(name: str, kind: str) -> Iterator[None]:
    import pyarrow as pa

    try:
        yield
    except (pa.ArrowException, OSError, ValueError) as exc:
        if isinstance(exc, InvalidInput):
            raise
        raise InvalidInput(
            f"{name!r} is not a readable {kind} file: {exc}",
            details={"path": name, "format": kind},
        ) from exc
