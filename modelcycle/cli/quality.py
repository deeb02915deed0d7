"""``modelcycle quality …``: drift, profile, schema and validation of tabular files.

Each command reads Parquet, CSV or Arrow files (a missing file exits 3, an unreadable one 2) and
calls the pure functions of :mod:`modelcycle.quality`, imported from their modules: the package
attribute ``validate`` (or ``profile``, ``drift``) is the module, not the function, once the module
of that name has been imported. ``drift`` and ``validate`` exit 1 when they
find drift or violations, so a CI step fails on bad data without parsing any output.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from modelcycle.cli._output import JsonFlag, console, err_console, plain, print_json, progress

if TYPE_CHECKING:
    from modelcycle.quality._drift import DriftReport
    from modelcycle.quality._schema import Schema

app = typer.Typer(
    help="Check tabular data: drift between two files, quality profiles, schemas, validation.",
    no_args_is_help=True,
)

DataArgument = Annotated[
    Path, typer.Argument(metavar="DATA", help="A Parquet, CSV or Arrow/Feather file.")
]
HtmlOption = Annotated[
    Path | None,
    typer.Option("--html", metavar="OUT", help="Also write a self-contained HTML report here."),
]

FOUND_PROBLEMS_EXIT_CODE = 1
"""Exit code of ``drift`` and ``validate`` when the data fails the check (not an error)."""


@app.command("drift")
def drift(
    reference: Annotated[
        Path, typer.Argument(metavar="REF", help="The reference file (e.g. training data).")
    ],
    current: Annotated[
        Path, typer.Argument(metavar="CUR", help="The current file (e.g. recent inputs).")
    ],
    html: HtmlOption = None,
    column: Annotated[
        list[str] | None,
        typer.Option(
            "--column",
            "-c",
            metavar="C",
            help="Only this column; repeat for several. All shared columns by default.",
        ),
    ] = None,
    test: Annotated[
        list[str] | None,
        typer.Option(
            "--test",
            "-t",
            metavar="NAME | COL=NAME",
            help="The drift test for every column (NAME) or for one column (COL=NAME), e.g. "
            "ks, wasserstein, chi2, jensen_shannon, psi; repeat for several columns.",
        ),
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            "--threshold",
            metavar="X",
            help="The p-value or distance at which a column counts as drifted; each test's "
            "default otherwise.",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Compare two files column by column; exit 1 when the dataset drifted (half of the tested
    columns or more), 0 otherwise."""
    from modelcycle._internal.tabular import read_frame
    from modelcycle.quality._drift import drift as detect_drift

    tests = parse_tests(test or [])
    with working(f"Reading {reference}"):
        reference_frame = read_frame(reference)
    with working(f"Reading {current}"):
        current_frame = read_frame(current)
    with working("Testing for drift"):
        report = detect_drift(
            reference_frame,
            current_frame,
            columns=column or None,
            tests=tests,
            threshold=threshold,
        )
    if html is not None:
        report.save_html(html)
        _wrote(html)
    if as_json:
        print_json(report.to_dict())
    else:
        _print_drift(report)
    if report.dataset_drift:
        raise typer.Exit(FOUND_PROBLEMS_EXIT_CODE)


@app.command("profile")
def profile(data: DataArgument, html: HtmlOption = None, as_json: JsonFlag = False) -> None:
    """Profile a file: missing values, duplicates, constant columns, outliers, statistics."""
    from modelcycle._internal.tabular import read_frame
    from modelcycle.quality._profile import profile as build_profile

    with working(f"Reading {data}"):
        frame = read_frame(data)
    with working("Profiling"):
        report = build_profile(frame)
    if html is not None:
        report.save_html(html, title=f"Data-quality profile of {data.name}")
        _wrote(html)
    if as_json:
        print_json(report.to_dict())
        return
    overview = report.dataset
    console().print(
        f"{overview.rows} rows, {overview.columns} columns, {overview.duplicate_rows} duplicate "
        f"rows, {overview.missing_cells} missing cells",
        highlight=False,
    )
    table = Table(
        "column",
        "kind",
        "missing",
        "distinct",
        "constant",
        "type mismatches",
        "outliers |z|>3",
        "outliers IQR",
        "mean",
        "min",
        "max",
    )
    for column in report.columns:
        table.add_row(
            plain(column.name),
            column.kind,
            f"{column.missing} ({column.missing_share:.1%})",
            str(column.distinct),
            "yes" if column.constant else "",
            str(column.type_mismatches),
            plain(column.outliers_zscore),
            plain(column.outliers_iqr),
            plain(column.stats.get("mean")),
            plain(column.stats.get("min")),
            plain(column.stats.get("max")),
        )
    console().print(table)


@app.command("schema")
def schema(
    data: DataArgument,
    max_categories: Annotated[
        int,
        typer.Option(
            "--max-categories",
            min=0,
            metavar="N",
            help="Text columns with at most N distinct values get an allowed set.",
        ),
    ] = 20,
    as_json: JsonFlag = False,
) -> None:
    """Infer and print a file's schema; save the --json output to validate other files."""
    from modelcycle._internal.tabular import read_frame
    from modelcycle.quality._schema import infer_schema

    with working(f"Reading {data}"):
        frame = read_frame(data)
    inferred = infer_schema(frame, max_categories=max_categories)
    if as_json:
        print_json(inferred.to_dict())
        return
    table = Table("column", "type", "nullable", "min", "max", "allowed values", "unique")
    for column in inferred.columns:
        table.add_row(
            plain(column.name),
            column.type,
            "yes" if column.nullable else "no",
            plain(column.min),
            plain(column.max),
            plain(", ".join(column.allowed_values) if column.allowed_values is not None else None),
            "yes" if column.unique else "",
        )
    console().print(f"{inferred.row_count} rows", highlight=False)
    console().print(table)


@app.command("validate")
def validate(
    data: DataArgument,
    schema_path: Annotated[
        Path,
        typer.Option(
            "--schema",
            "-s",
            metavar="SCHEMA.json",
            help="A schema written by `quality schema --json`.",
        ),
    ],
    as_json: JsonFlag = False,
) -> None:
    """Check a file against a schema; exit 1 when any rule is broken, 0 otherwise."""
    from modelcycle._internal.tabular import read_frame
    from modelcycle.quality._validate import validate as check

    expected = load_schema(schema_path)
    with working(f"Reading {data}"):
        frame = read_frame(data)
    with working("Validating"):
        result = check(frame, expected)
    if as_json:
        print_json(result.to_dict())
    elif result.valid:
        console().print(f"{data}: valid ({result.row_count} rows)", highlight=False)
    else:
        table = Table("column", "rule", "count", "examples (row: value)")
        for violation in result.violations:
            table.add_row(
                plain(violation.column),
                violation.rule,
                str(violation.count),
                plain(", ".join(f"{e.index}: {e.value!r}" for e in violation.examples)),
            )
        console().print(table)
    if not result.valid:
        raise typer.Exit(FOUND_PROBLEMS_EXIT_CODE)


def parse_tests(options: list[str]) -> str | dict[str, str] | None:
    """``--test`` values as the ``tests`` argument of ``drift``: one name for every column, or
    column → name.

    Raises:
        InvalidInput: a ``COL=NAME`` with an empty side, or more than one bare NAME, or a bare
            NAME mixed with ``COL=NAME``.
    """
    from modelcycle.errors import InvalidInput

    if not options:
        return None
    per_column: dict[str, str] = {}
    everywhere: list[str] = []
    for option in options:
        name, separator, test = option.partition("=")
        if not separator:
            everywhere.append(option.strip())
        elif name.strip() and test.strip():
            per_column[name.strip()] = test.strip()
        else:
            raise InvalidInput(f"--test {option!r} must be NAME or COLUMN=NAME")
    if everywhere and (per_column or len(everywhere) > 1):
        raise InvalidInput(
            "give one --test NAME for every column, or COLUMN=NAME per column, not both"
        )
    return everywhere[0] if everywhere else per_column


def load_schema(path: Path) -> Schema:
    """A schema from a JSON file.

    Raises:
        NotFound: there is no file at ``path``.
        InvalidInput: the file is not JSON or not a schema document.
    """
    import json

    from modelcycle.errors import InvalidInput, NotFound
    from modelcycle.quality._schema import Schema

    if not path.is_file():
        raise NotFound(f"no schema file at {str(path)!r}", details={"path": str(path)})
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"{str(path)!r} is not a JSON file: {exc}") from exc
    try:
        return Schema.from_dict(document)
    except InvalidInput as exc:
        raise InvalidInput(f"{str(path)!r}: {exc.message}") from exc


@contextmanager
def working(description: str) -> Iterator[None]:
    """A spinner on stderr while a step of unknown length runs; it disappears when done."""
    with progress() as bar:
        bar.add_task(description, total=None)
        yield


def _wrote(path: Path) -> None:
    err_console().print(f"Wrote {path}", highlight=False)


def _print_drift(report: DriftReport) -> None:
    table = Table("column", "kind", "test", "statistic", "p-value", "threshold", "drifted")
    for result in report.columns:
        table.add_row(
            plain(result.column),
            result.kind,
            result.test,
            plain(result.statistic),
            plain(result.p_value),
            plain(result.threshold),
            plain("yes" if result.drifted else "no", "bold red" if result.drifted else "green"),
        )
    console().print(table)
    for label, names in (
        ("Only in the reference", report.only_in_reference),
        ("Only in the current", report.only_in_current),
    ):
        if names:
            console().print(plain(f"{label}: {', '.join(names)}", "yellow"))
    for name, reason in report.skipped.items():
        console().print(plain(f"Not tested: {name}: {reason}", "yellow"))
    if report.dataset_drift:
        drifted = report.drifted_columns
        verdict = plain(
            f"Drift detected in {len(drifted)} column(s): {', '.join(drifted)}", "bold red"
        )
    else:
        verdict = plain(
            f"No dataset drift ({len(report.drifted_columns)} column(s) drifted)", "green"
        )
    console().print(verdict)
