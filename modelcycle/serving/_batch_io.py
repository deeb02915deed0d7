"""Reading and writing the files of a batch-scoring job, one Arrow record batch at a time.

Readers never hold more than one batch of a file: Parquet through ``ParquetFile.iter_batches``
(one row group decoded at a time), CSV through ``pyarrow.csv.open_csv`` (one block at a time),
both cut to ``chunk_rows`` rows. Whatever pyarrow raises for a truncated or ragged file becomes
``InvalidInput`` naming the file, so a job over a thousand files says which one is bad.

Writers open on their first batch and write Parquet or CSV. Parquet output skips dictionary
encoding for numeric columns: on floats it almost never pays and it makes writing ten times
slower (it is the slowest step of the job otherwise).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from modelcycle._internal.tabular import TABULAR_SUFFIXES
from modelcycle.errors import InvalidInput

if TYPE_CHECKING:
    import pyarrow as pa

Format = Literal["parquet", "csv"]

INPUT_SUFFIXES: Mapping[str, Format] = {
    suffix: cast(Format, kind)
    for suffix, kind in TABULAR_SUFFIXES.items()
    if kind in ("parquet", "csv")
}
"""File ending → format of what batch scoring reads: the project's tables but Arrow files."""

OUTPUT_SUFFIXES: Mapping[Format, str] = {"parquet": ".parquet", "csv": ".csv"}

_PARQUET_BUFFER_BYTES = 1 << 20

_CSV_BLOCK_BYTES = 4 << 20
"""Bytes pyarrow parses per CSV block: large enough that parsing runs at full speed, small enough
that memory stays flat."""


@dataclass(frozen=True)
class InputFile:
    """One file to score: where it is, its path relative to the job's input, its format and,
    for Parquet, its row count (read from the footer, so the progress bar knows the total)."""

    path: Path
    relative: str
    format: Format
    rows: int | None


def input_format(path: Path) -> Format | None:
    """The format of a file batch scoring reads, by its ending; None for anything else."""
    return INPUT_SUFFIXES.get(path.suffix.lower())


def parquet_rows(path: Path) -> int:
    """Rows in a Parquet file, from its footer alone."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return int(pq.read_metadata(path).num_rows)
    except (pa.ArrowException, OSError) as exc:
        raise _unreadable(path, "parquet", exc) from exc


def read_schema(item: InputFile, column_types: Mapping[str, Any]) -> pa.Schema:
    """The file's Arrow schema: the Parquet footer, or the types of a CSV's first block."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        if item.format == "parquet":
            return pq.read_schema(item.path)
        with _open_csv(item.path, column_types) as reader:
            return reader.schema
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise _unreadable(item.path, item.format, exc) from exc


def iter_batches(
    item: InputFile, chunk_rows: int, column_types: Mapping[str, Any]
) -> Iterator[pa.RecordBatch]:
    """The file's rows as record batches of at most ``chunk_rows`` rows.

    Args:
        column_types: Arrow types to parse CSV columns as (the model's numeric inputs), so a
            column that starts with whole numbers is not fixed as integers by the first block.

    Raises:
        InvalidInput: the file is unreadable or a CSV value does not parse; names the file.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        if item.format == "parquet":
            # Buffered, not pre-buffered, reads: a column chunk is read a buffer at a time, not
            # whole, so memory follows chunk_rows rather than the file's row-group size (3× faster
            # too, as decoding starts before a whole row group is in memory).
            with pq.ParquetFile(
                item.path, buffer_size=_PARQUET_BUFFER_BYTES, pre_buffer=False
            ) as parquet:
                yield from parquet.iter_batches(batch_size=chunk_rows)
            return
        with _open_csv(item.path, column_types) as reader:
            for block in reader:
                for start in range(0, block.num_rows, chunk_rows):
                    yield block.slice(start, chunk_rows)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise _unreadable(item.path, item.format, exc) from exc


def _open_csv(path: Path, column_types: Mapping[str, Any]) -> Any:
    import pyarrow.csv as pa_csv

    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    return pa_csv.open_csv(
        path,
        read_options=pa_csv.ReadOptions(block_size=_CSV_BLOCK_BYTES),
        parse_options=pa_csv.ParseOptions(delimiter=delimiter),
        convert_options=pa_csv.ConvertOptions(column_types=dict(column_types)),
    )


def _unreadable(path: Path, kind: str, exc: BaseException) -> InvalidInput:
    return InvalidInput(
        f"{str(path)!r} is not a readable {kind} file: {exc}",
        details={"path": str(path), "format": kind},
    )


class BatchWriter:
    """Writes record batches to one Parquet or CSV file; the schema is fixed by the first batch.

    Use as a context manager, or call :meth:`close`. A batch whose columns do not match the
    first one's types is cast when it can be (a prediction column that came out ``int32`` in
    one chunk and ``int64`` in another), else refused naming the file.
    """

    def __init__(self, path: Path, output_format: Format, source: Path) -> None:
        self._path = path
        self._format = output_format
        self._source = source
        self._writer: Any = None
        self._schema: pa.Schema | None = None

    def __enter__(self) -> BatchWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def open(self, schema: pa.Schema) -> None:
        """Create the file with ``schema``; a no-op once open."""
        if self._writer is not None:
            return
        import pyarrow as pa
        import pyarrow.csv as pa_csv
        import pyarrow.parquet as pq

        self._schema = schema
        if self._format == "csv":
            self._writer = pa_csv.CSVWriter(self._path, schema)
            return
        dictionary = [
            field.name
            for field in schema
            if not (pa.types.is_integer(field.type) or pa.types.is_floating(field.type))
        ]
        self._writer = pq.ParquetWriter(
            self._path, schema, compression="snappy", use_dictionary=dictionary
        )

    def write(self, batch: pa.RecordBatch) -> None:
        """Append ``batch`` (opening the file with its schema if needed)."""
        import pyarrow as pa

        self.open(batch.schema)
        assert self._schema is not None
        if not batch.schema.equals(self._schema):
            try:
                batch = batch.cast(self._schema)
            except (pa.ArrowException, ValueError) as exc:
                raise InvalidInput(
                    f"scoring {str(self._source)!r} gave columns of other types in a later "
                    f"chunk ({batch.schema.types}) than in the first ({self._schema.types}): "
                    f"{exc}",
                    details={"path": str(self._source)},
                ) from exc
        self._writer.write_batch(batch)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
