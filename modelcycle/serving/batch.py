"""Batch scoring: a model over Parquet or CSV files, streamed, with nothing half-written.

The map::

    score_files(model, source, destination)            ─► BatchResult .rows .files .seconds
        │  plan: list input files, refuse bad paths    (_batch_plan)
        │  per file: read ─► check ─► predict ─► write  (_batch_run, _batch_io, _batch_predict)
        │            record batches of chunk_rows rows; reading, predicting and writing overlap
        │  everything into a staging name, renamed into place when every file is done
        └─ dask="tcp://host:8786": one task per file on a Dask cluster (_batch_dask)

``modelcycle predict MODEL_URI INPUT OUTPUT`` is the command-line face of :func:`score_files`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelcycle.errors import InvalidInput
from modelcycle.serving import _batch_plan
from modelcycle.serving._batch_io import Format

if TYPE_CHECKING:
    from modelcycle.registry.model_format import LoadedModel

__all__ = ["DEFAULT_CHUNK_ROWS", "BatchResult", "Progress", "score_files"]

DEFAULT_CHUNK_ROWS = 131_072
"""Rows per chunk: about 20 MiB for 20 float columns, large enough that per-chunk overhead
vanishes next to the work, small enough that three chunks in flight stay small."""

Progress = Callable[[int, "int | None"], None]
"""``progress(rows, total)``: ``rows`` were just scored; ``total`` is the job's row count when
every input's count is known up front (Parquet footers), else None."""


@dataclass(frozen=True)
class BatchResult:
    """What a scoring job did.

    Attributes:
        rows: rows scored, over all files.
        files: input files scored.
        seconds: wall-clock time of the job, from listing the files to the final rename.
        outputs: the files written, in the order of the inputs.
    """

    rows: int
    files: int
    seconds: float
    outputs: tuple[Path, ...]

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """The JSON form ``modelcycle predict --json`` prints."""
        return {
            "rows": self.rows,
            "files": self.files,
            "seconds": self.seconds,
            "rows_per_second": self.rows_per_second,
            "outputs": [str(path) for path in self.outputs],
        }


def score_files(
    model: LoadedModel | str | os.PathLike[str],
    source: str | os.PathLike[str],
    destination: str | os.PathLike[str],
    *,
    output_column: str = "prediction",
    proba: bool = False,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    keep_columns: Sequence[str] | None = None,
    progress: Progress | None = None,
    overwrite: bool = False,
    output_format: Format | None = None,
    trusted: bool = False,
    dask: str | None = None,
    runtime: str = "native",
) -> BatchResult:
    """Score every row of a Parquet or CSV file, or of a directory of them, into new files.

    Rows are read in chunks of ``chunk_rows``, so memory stays flat whatever the input's size.
    The output holds the input columns (or ``keep_columns``) then the prediction column, then
    with ``proba`` one ``proba_<class>`` column per class. A directory gives a directory with
    the same relative paths. Output is staged under a temporary name and renamed into place
    once every file is complete: on failure nothing is left behind.

    Args:
        model: a loaded model; a model URI (``models:/churn@champion``, ``runs:/ID/model``);
            or the path of a model directory. With ``dask``, a URI or a directory.
        source: a ``.parquet``/``.pq``/``.csv``/``.tsv`` file, or a directory scanned
            recursively (hidden and ``_``-prefixed names skipped) that holds one format.
        destination: the output file, or directory when ``source`` is one.
        output_column: the prediction column's name.
        proba: add class probabilities.
        chunk_rows: rows per chunk.
        keep_columns: input columns to copy to the output; None copies all, ``[]`` none.
        progress: called as rows are scored (see :data:`Progress`).
        overwrite: replace an existing ``destination``.
        output_format: ``"parquet"`` or ``"csv"``; by default CSV when ``destination`` ends
            in ``.csv``, else Parquet.
        trusted: allow loading models whose format runs code (see ``registry.load``).
        dask: the address of a Dask scheduler (``tcp://host:8786``); one task per file.
        runtime: ``native``, or ``onnx`` to score with the model's ONNX twin (no scikit-learn
            in the process or on the workers); ignored for an already loaded model.

    Returns:
        The rows, files, time and output paths.

    Raises:
        NotFound: ``source`` or the model does not exist.
        AlreadyExists: ``destination`` exists and ``overwrite`` is false.
        InvalidInput: bad paths or formats, or a file does not fit the model's signature;
            the message names the column and the file.
        IntegrityError: the model's files do not match their digests.
        StoreUnavailable: the Dask scheduler cannot be reached.

    Example:
        >>> from modelcycle.serving.batch import score_files
        >>> result = score_files("models:/churn@champion", "data/", "scored/")  # doctest: +SKIP
        >>> result.rows, round(result.rows_per_second)  # doctest: +SKIP
    """
    start = time.perf_counter()
    if chunk_rows < 1:
        raise InvalidInput(
            f"chunk_rows must be a positive number of rows, got {chunk_rows}",
            details={"chunk_rows": chunk_rows},
        )
    plan = _batch_plan.plan_job(
        source, destination, output_format=output_format, overwrite=overwrite
    )
    options = ScoreOptions(output_column, proba, keep_columns, chunk_rows)
    total = plan.total_rows

    def advance(rows: int) -> None:
        if progress is not None:
            progress(rows, total)

    run: Callable[[], list[int]]
    if dask is None:
        # Loaded before anything is created on disk: a bad model leaves no trace.
        loaded = _load(model, trusted=trusted, runtime=runtime)
        run = partial(_run_locally, loaded, plan, options, advance)
    else:
        from modelcycle.serving._batch_dask import run_on_dask

        run = partial(
            run_on_dask, dask, model, plan, options,
            trusted=trusted, runtime=runtime, on_rows=advance,
        )  # fmt: skip
    _batch_plan.prepare(plan)
    try:
        counts = run()
        _batch_plan.commit(plan, overwrite=overwrite)
    except BaseException:
        _batch_plan.discard(plan)
        raise
    return BatchResult(
        rows=sum(counts),
        files=len(plan.inputs),
        seconds=time.perf_counter() - start,
        outputs=tuple(plan.final_path(path) for path in plan.staged),
    )


@dataclass(frozen=True)
class ScoreOptions:
    """The per-row choices of a job, as sent to each Dask task."""

    output_column: str
    proba: bool
    keep_columns: Sequence[str] | None
    chunk_rows: int

    def scorer(self, model: LoadedModel) -> Any:
        from modelcycle.serving._batch_predict import BatchScorer

        return BatchScorer(
            model, output_column=self.output_column, proba=self.proba,
            keep_columns=self.keep_columns,
        )  # fmt: skip


def _run_locally(
    model: LoadedModel,
    plan: _batch_plan.Plan,
    options: ScoreOptions,
    advance: Callable[[int], None],
) -> list[int]:
    from modelcycle.serving._batch_run import score_file

    scorer = options.scorer(model)
    return [
        score_file(
            scorer,
            item,
            staged,
            plan.output_format,
            chunk_rows=options.chunk_rows,
            on_rows=advance,
        )  # fmt: skip
        for item, staged in zip(plan.inputs, plan.staged, strict=True)
    ]


def _load(
    model: LoadedModel | str | os.PathLike[str], *, trusted: bool, runtime: str
) -> LoadedModel:
    """The model itself, from the registry for a URI, else from a model directory."""
    from modelcycle.registry.model_format import LoadedModel, load_model

    if isinstance(model, LoadedModel):
        return model
    if isinstance(model, str) and is_model_uri(model):
        from modelcycle.registry import load

        return load(model, trusted=trusted, runtime=runtime)
    return load_model(Path(model), trusted=trusted, runtime=runtime)


def is_model_uri(value: str) -> bool:
    """Whether ``value`` is a registry URI rather than the path of a model directory."""
    return value.startswith(("models:/", "runs:/"))
