"""Score one file: read, predict and write overlapped, with at most three chunks in memory.

Two helper threads run beside the caller's: one decodes the next chunk while the caller
predicts on the current one, the other writes the previous chunk's output. pyarrow's decoding
and encoding and numpy's matrix products release the GIL, so on two cores the three steps
really do run at once. Each step hands over one chunk at a time and waits for the one before,
so memory stays at about three chunks whatever the file's size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from modelcycle.serving._batch_io import BatchWriter, Format, InputFile, iter_batches, read_schema
from modelcycle.serving._batch_predict import BatchScorer

if TYPE_CHECKING:
    import pyarrow as pa

RowsCallback = Callable[[int], None]
"""Called with the number of rows just scored."""


def score_file(
    scorer: BatchScorer,
    item: InputFile,
    output: Path,
    output_format: Format,
    *,
    chunk_rows: int,
    on_rows: RowsCallback | None = None,
) -> int:
    """Score ``item`` into ``output`` (created; the caller owns its cleanup on failure).

    Returns:
        The number of rows scored.

    Raises:
        InvalidInput: the file is unreadable or does not fit the model; names the file.
    """
    column_types = scorer.column_types()
    schema = read_schema(item, column_types)
    scorer.check_schema(schema, item.path)
    rows = 0
    batches: Iterator[pa.RecordBatch] = iter_batches(item, chunk_rows, column_types)
    with BatchWriter(output, output_format, item.path) as writer:
        with ThreadPoolExecutor(2, thread_name_prefix="modelcycle-batch") as pool:
            reading: Future[pa.RecordBatch | None] = pool.submit(next, batches, None)
            writing: Future[None] | None = None
            try:
                while (batch := reading.result()) is not None:
                    reading = pool.submit(next, batches, None)
                    scored = scorer.score(batch, item.path, rows)
                    if writing is not None:
                        writing.result()
                    writing = pool.submit(writer.write, scored)
                    rows += batch.num_rows
                    if on_rows is not None:
                        on_rows(batch.num_rows)
                if writing is not None:
                    writing.result()
            finally:
                # Let the reader finish before the generator is closed under it.
                reading.cancel()
                _settle(reading)
                if writing is not None:
                    _settle(writing)
                batches.close()  # type: ignore[attr-defined]
        if rows == 0:
            writer.open(scorer.output_schema(schema))
    return rows


def _settle(future: Future[object]) -> None:
    """Wait for ``future`` whatever its outcome: its error, if any, was or will be raised by
    the step that failed first."""
    if not future.cancelled():
        future.exception()
