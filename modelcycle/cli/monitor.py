"""``modelcycle monitor …``: read the prediction log, attach labels, see its counts per day.

The inference server (``modelcycle serve``) logs every answered request; these commands read that
log from the store the current settings point at (``MODELCYCLE_URI``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from modelcycle.cli._output import JsonFlag, console, format_value, plain, print_json

if TYPE_CHECKING:
    import pandas as pd

app = typer.Typer(
    help=(
        "Monitor served models: the prediction log (every request a server answered), labels "
        "that arrive later, and the log's counts per deployment and day."
    ),
    no_args_is_help=True,
)

DeploymentOption = Annotated[
    str | None,
    typer.Option("--deployment", "-d", help="Only this deployment (default: all of them)."),
]
SinceOption = Annotated[
    str | None,
    typer.Option(
        "--since",
        metavar="ISO",
        help="From this time on (ISO 8601, e.g. 2026-05-01 or 2026-05-01T12:00:00Z; UTC if no "
        "offset).",
    ),
]
UntilOption = Annotated[
    str | None,
    typer.Option("--until", metavar="ISO", help="Before this time (ISO 8601, exclusive)."),
]
_SHOWN_INPUTS = 4


@app.command("predictions")
def show_predictions(
    deployment: DeploymentOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, help="Show the N most recent rows.")
    ] = 20,
    as_json: JsonFlag = False,
) -> None:
    """Show the most recent logged predictions, oldest first, with their labels.

    JSON: {"predictions": [{"request_id", "row", "time", "deployment", "model_name",
    "model_version", "latency_ms", <input columns>, "prediction", "label"}, …]}.
    """
    import modelcycle as mc

    frame = mc.monitoring.predictions(deployment, since, until, with_labels=True, limit=limit)
    if as_json:
        print_json({"predictions": _records(frame)})
        return
    if frame.empty:
        console().print("No predictions logged in this range.")
        return
    from rich.table import Table

    from modelcycle.monitoring.service import LOG_COLUMNS

    logged = {*LOG_COLUMNS, "prediction", "label"}
    inputs = [c for c in frame.columns if c not in logged]
    table = Table(show_lines=False)
    for header in ("time (UTC)", "request", "row", "deployment", "model", "ms", "inputs"):
        table.add_column(header, overflow="fold")
    table.add_column("prediction")
    table.add_column("label")
    for record in _records(frame):
        shown = ", ".join(f"{c}={format_value(record[c])}" for c in inputs[:_SHOWN_INPUTS])
        if len(inputs) > _SHOWN_INPUTS:
            shown += f", … (+{len(inputs) - _SHOWN_INPUTS})"
        table.add_row(
            plain(str(record["time"]).replace("T", " ")[:23]),
            plain(record["request_id"]),
            plain(record["row"]),
            plain(record["deployment"]),
            plain(f"{record['model_name']}:{record['model_version']}"),
            plain(record["latency_ms"]),
            plain(shown),
            plain(record["prediction"]),
            plain(record.get("label")),
        )
    console().print(table)


@app.command("labels")
def attach_labels(
    file: Annotated[Path, typer.Argument(help="A CSV or Parquet file with one label per row.")],
    id_column: Annotated[
        str,
        typer.Option("--id-column", help="Column of request ids (the X-Request-Id answers)."),
    ],
    label_column: Annotated[str, typer.Option("--label-column", help="Column of the labels.")],
    row_column: Annotated[
        str | None,
        typer.Option(
            "--row-column",
            help="Column of row numbers within multi-row requests (default: row 0 of each).",
        ),
    ] = None,
    deployment: DeploymentOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Attach ground truth that arrived after the predictions, from a CSV or Parquet file.

    A request already labelled gets the new label. Without --deployment a label applies to
    the request id in whichever deployment served it. All labels are stored or none are.

    JSON: {"file", "labelled"}.
    """
    import modelcycle as mc

    frame = _read_table(file, id_column)
    wanted = [id_column, label_column] + ([row_column] if row_column else [])
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        from modelcycle.errors import InvalidInput

        raise InvalidInput(
            f"{file} has no column {missing[0]!r}; its columns are {list(frame.columns)}",
            details={"missing": missing},
        )
    blank = frame[id_column].isna()
    if blank.any():
        from modelcycle.errors import InvalidInput

        raise InvalidInput(
            f"{file}: row {int(blank.to_numpy().argmax())} has no request id in {id_column!r}",
            details={"column": id_column},
        )
    ids: Any = frame[id_column].astype(str).tolist()
    if row_column:
        ids = list(zip(ids, frame[row_column].tolist(), strict=True))
    labelled = mc.monitoring.log_labels(ids, frame[label_column], deployment=deployment)
    if as_json:
        print_json({"file": str(file), "labelled": labelled})
    else:
        console().print(f"Attached {labelled} labels from {file}.", highlight=False)


@app.command("stats")
def show_stats(
    deployment: DeploymentOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Rows, requests, files and labelled fraction of the prediction log per deployment and day.

    JSON: {"days": [{"deployment", "day", "files", "requests", "rows", "labelled_rows",
    "labelled_fraction", "first_time", "last_time", "model_versions"}, …]}.
    """
    import modelcycle as mc

    frame = mc.monitoring.prediction_stats(deployment, since, until)
    if as_json:
        print_json({"days": _records(frame)})
        return
    if frame.empty:
        console().print("No predictions logged in this range.")
        return
    from rich.table import Table

    table = Table()
    for header in ("deployment", "day", "files", "requests", "rows", "labelled", "versions"):
        table.add_column(header, justify="right" if header in _NUMERIC else "left")
    for record in _records(frame):
        table.add_row(
            plain(record["deployment"]),
            plain(record["day"]),
            plain(record["files"]),
            plain(record["requests"]),
            plain(record["rows"]),
            plain(f"{record['labelled_rows']} ({record['labelled_fraction']:.1%})"),
            plain(record["model_versions"]),
        )
    console().print(table)


_NUMERIC = frozenset(("files", "requests", "rows", "labelled"))


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts: times in ISO 8601 (UTC), missing values as null, arrays as
    lists; pandas' own writer does all of it in one pass."""
    records: list[dict[str, Any]] = json.loads(
        frame.to_json(orient="records", date_format="iso", date_unit="ms")
    )
    return records


def _read_table(path: Path, id_column: str) -> pd.DataFrame:
    import pandas as pd

    from modelcycle.errors import InvalidInput, NotFound

    if not path.is_file():
        raise NotFound(f"no such file: {path}", details={"path": str(path)})
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        if suffix in (".csv", ".txt"):
            # Ids stay text: "007" must not become the number 7.
            return pd.read_csv(path, dtype={id_column: str})
    except (ValueError, OSError) as exc:
        raise InvalidInput(f"cannot read {path}: {exc}", details={"path": str(path)}) from exc
    raise InvalidInput(
        f"{path} is neither a CSV (.csv) nor a Parquet (.parquet) file",
        details={"path": str(path)},
    )
