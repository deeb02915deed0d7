"""``modelcycle predict MODEL_URI INPUT OUTPUT``: batch scoring of Parquet or CSV files.

A thin adapter over :func:`modelcycle.serving.batch.score_files`: it draws a progress bar of
rows on stderr, then prints one summary line (or the ``--json`` document) on stdout. Errors rise
to the root group, which prints them and exits with their class's code (a missing column is
``InvalidInput``, exit 2; an existing output ``AlreadyExists``, exit 4).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from modelcycle.cli._output import JsonFlag, console, format_duration, print_json, progress


def predict_batch(
    model_uri: Annotated[
        str,
        typer.Argument(
            metavar="MODEL_URI",
            help="A registry URI (models:/NAME/VERSION, models:/NAME@ALIAS, models:/NAME/STAGE, "
            "runs:/RUN_ID/PATH) or a model directory written by save_model.",
        ),
    ],
    input_path: Annotated[
        Path,
        typer.Argument(
            metavar="INPUT",
            help="A Parquet (.parquet, .pq) or CSV (.csv, .tsv) file, or a directory of them "
            "(read recursively; one format per directory).",
        ),
    ],
    output_path: Annotated[
        Path,
        typer.Argument(
            metavar="OUTPUT",
            help="The output file (Parquet, or CSV when it ends in .csv), or the output "
            "directory when INPUT is one (the same relative paths).",
        ),
    ],
    proba: Annotated[
        bool,
        typer.Option("--proba", help="Add one proba_<class> column per class."),
    ] = False,
    chunk_rows: Annotated[
        int,
        typer.Option(
            "--chunk-rows",
            min=1,
            help="Rows read, scored and written at a time; memory grows with it, not with the "
            "input's size.",
        ),
    ] = 131_072,
    keep: Annotated[
        list[str] | None,
        typer.Option(
            "--keep",
            metavar="COL",
            help="An input column to copy to the output; repeat for several. Default: all.",
        ),
    ] = None,
    output_column: Annotated[
        str, typer.Option("--output-column", help="The prediction column's name.")
    ] = "prediction",
    output_format: Annotated[
        str | None,
        typer.Option(
            "--format",
            metavar="parquet|csv",
            help="The output format; by default CSV when OUTPUT ends in .csv, else Parquet.",
        ),
    ] = None,
    overwrite: Annotated[
        bool,
        typer.Option("--overwrite", help="Replace OUTPUT if it exists (once scoring succeeded)."),
    ] = False,
    trusted: Annotated[
        bool,
        typer.Option(
            "--trusted",
            help="Allow model formats that run code when loaded (pyfunc, pickled estimators). "
            "Only for models whose source you trust.",
        ),
    ] = False,
    dask: Annotated[
        str | None,
        typer.Option(
            "--dask",
            metavar="ADDRESS",
            help="Run on a Dask distributed scheduler (tcp://host:8786), one task per file. "
            "Workers must see the model, INPUT and OUTPUT at the same paths.",
        ),
    ] = None,
    runtime: Annotated[
        Literal["native", "onnx"],
        typer.Option(
            "--runtime",
            help="native scores with the model's own library; onnx with the ONNX twin saved "
            "with it (onnx=True), without importing scikit-learn.",
        ),
    ] = "native",
    as_json: JsonFlag = False,
) -> None:
    """Score every row of INPUT with a model and write the rows with their predictions to OUTPUT.

    Files are streamed in chunks, so memory stays flat whatever their size. OUTPUT appears only
    once every file is scored: a failure leaves nothing behind, and an existing OUTPUT is kept
    unless --overwrite is given.

    Examples:

        modelcycle predict models:/churn@champion data/customers.parquet scored.parquet

        modelcycle predict ./model data/ scored/ --proba --keep customer_id

    JSON: {"rows", "files", "seconds", "rows_per_second", "outputs", "model"}.
    """
    from modelcycle.serving.batch import score_files

    if dask is not None:
        _require_dask()
    with progress() as bar:
        task = bar.add_task("Scoring rows", total=None)

        def advance(rows: int, total: int | None) -> None:
            bar.update(task, advance=rows, total=total)

        result = score_files(
            model_uri, input_path, output_path,
            output_column=output_column, proba=proba, chunk_rows=chunk_rows,
            keep_columns=keep, progress=advance, overwrite=overwrite,
            output_format=output_format,  # type: ignore[arg-type]  # checked by score_files
            trusted=trusted, dask=dask, runtime=runtime,
        )  # fmt: skip
    if as_json:
        print_json({**result.to_dict(), "model": model_uri})
        return
    files = f"{result.files} file{'s' if result.files != 1 else ''}"
    console().print(
        f"Scored {result.rows:,} rows in {files} in {format_duration(result.seconds)} "
        f"({result.rows_per_second:,.0f} rows/s) → {output_path}",
        markup=False,
        highlight=False,
    )


def _require_dask() -> None:
    from modelcycle.cli._errors import missing_dependency

    try:
        import distributed  # noqa: F401
    except ImportError as error:
        missing_dependency(error, extra="dask", purpose="--dask")
