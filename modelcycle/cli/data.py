"""``modelcycle data …``: add, list, show, check out and compare dataset versions.

A version is named ``NAME@VERSION`` (``churn-train@3``); a bare ``NAME`` means its latest version
wherever one version is expected.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from modelcycle.cli._output import (
    JsonFlag,
    console,
    format_bytes,
    format_time,
    format_value,
    plain,
    print_json,
    progress,
)

if TYPE_CHECKING:
    from rich.console import Console

    from modelcycle.data.entities import DatasetDiff, DatasetVersion

app = typer.Typer(
    help="Version datasets: add files, directories or tables; list, show, check out, diff.",
    no_args_is_help=True,
)

RefArgument = Annotated[
    str,
    typer.Argument(metavar="NAME@VERSION", help="A dataset version; NAME alone is the latest."),
]
_SHOWN_FILES = 20


@app.command("add")
def add(
    path: Annotated[
        Path,
        typer.Argument(help="A file (Parquet, CSV and Arrow files are profiled) or a directory."),
    ],
    name: Annotated[str, typer.Option("--name", "-n", help="The dataset's name.")],
    parent: Annotated[
        list[str] | None,
        typer.Option(
            "--parent",
            "-p",
            metavar="NAME@VERSION",
            help="A version this one was derived from; repeat for several.",
        ),
    ] = None,
    description: Annotated[
        str | None, typer.Option("--description", "-d", help="Free text shown by `data show`.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Add a version of a dataset; identical content gives back the existing version.

    JSON: the version ({"name", "version", "hash", "row_count", "schema", …}) and "created"
    (false when identical content was already stored).
    """
    import modelcycle as mc
    from modelcycle.errors import NotFound

    try:
        latest_before = mc.data.get(name).version
    except NotFound:
        latest_before = 0
    with progress() as bar:
        task = bar.add_task(f"Adding {name}", total=None)

        def advance(size: int, total: int) -> None:
            bar.update(task, advance=size, total=total)

        version = mc.data.add(
            path, name, parents=parent or (), description=description, progress=advance
        )
    created = version.version > latest_before
    if as_json:
        print_json({**version.model_dump(mode="json"), "created": created})
        return
    summary = _summary(version)
    if created:
        console().print(f"Added {version.ref}: {summary}.", markup=False, highlight=False)
    else:
        console().print(
            f"Unchanged: the content is already stored as {version.ref} ({summary}).",
            markup=False,
            highlight=False,
        )


@app.command("list")
def list_datasets(
    name: Annotated[
        str | None, typer.Argument(help="List this dataset's versions instead of every dataset.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """List datasets, or the versions of one dataset.

    JSON: {"datasets": [{"name", "created_at", "latest_version", "version_count"}]}, or with a
    NAME, {"versions": [version, …]}.
    """
    from rich.table import Table

    import modelcycle as mc

    out = console()
    if name is None:
        datasets = mc.data.list()
        if as_json:
            print_json({"datasets": [d.model_dump(mode="json") for d in datasets]})
            return
        if not datasets:
            out.print("No datasets yet; add one with `modelcycle data add PATH --name NAME`.")
            return
        table = Table("name", "latest", "versions", "created")
        for dataset in datasets:
            table.add_row(
                plain(dataset.name),
                plain(dataset.latest_version),
                plain(dataset.version_count),
                format_time(dataset.created_at),
            )
        out.print(table)
        return
    versions = mc.data.list(name)
    if as_json:
        print_json({"versions": [v.model_dump(mode="json") for v in versions]})
        return
    table = Table("version", "hash", "files", "size", "rows", "created", "parents", "description")
    for v in versions:
        table.add_row(
            plain(v.ref), plain(v.hash[:12]), plain(v.file_count), format_bytes(v.total_size),
            plain(v.row_count), format_time(v.created_at), plain(", ".join(v.parents) or None),
            plain(v.description),
        )  # fmt: skip
    out.print(table)


@app.command("show")
def show(ref: RefArgument, as_json: JsonFlag = False) -> None:
    """Show a version: attributes, parents, columns with their statistics, and files.

    JSON: the version, with "files": [{"path", "digest", "size"}].
    """
    import modelcycle as mc

    version = mc.data.get(ref)
    files = version.files()
    if as_json:
        document = version.model_dump(mode="json")
        document["files"] = [f.model_dump(mode="json") for f in files]
        print_json(document)
        return
    out = console()
    out.print(f"{version.ref}  {_summary(version)}", markup=False, highlight=False)
    for label, value in (
        ("hash", version.hash),
        ("created", format_time(version.created_at)),
        ("parents", ", ".join(version.parents) or "-"),
        ("description", version.description or "-"),
    ):
        out.print(plain(f"  {label:<12} {value}"))
    if version.schema is not None:
        out.print(_columns_table(version))
    _print_files(out, [(f.path, f.size, f.digest) for f in files])


def _columns_table(version: DatasetVersion) -> Any:
    from rich.table import Table

    statistics = version.statistics or {}
    keys = list(dict.fromkeys(k for s in statistics.values() for k in s))
    table = Table("column", "type", "nullable", *keys, title="Columns")
    for column in (version.schema or {}).get("columns", []):
        stats = statistics.get(column["name"], {})
        table.add_row(
            plain(column["name"]), plain(column.get("type")), plain(column.get("nullable")),
            *(plain(format_value(stats.get(k))) for k in keys),
        )  # fmt: skip
    return table


def _print_files(out: Console, files: list[tuple[str, int, str]]) -> None:
    from rich.table import Table

    table = Table("path", "size", "digest", title=f"Files ({len(files)})")
    for path, size, digest in files[:_SHOWN_FILES]:
        table.add_row(plain(path), format_bytes(size), plain(digest[:12]))
    out.print(table)
    if len(files) > _SHOWN_FILES:
        out.print(f"[dim]… and {len(files) - _SHOWN_FILES} more (all are in --json)[/]")


@app.command("checkout")
def checkout(
    ref: RefArgument,
    dest: Annotated[Path, typer.Argument(help="A new or empty directory to restore into.")],
) -> None:
    """Restore a version's files into DEST, every byte verified against its hash.

    Nothing appears in DEST unless every file was restored and verified.
    """
    import modelcycle as mc

    version = mc.data.get(ref)
    with progress() as bar:
        task = bar.add_task(f"Checking out {version.ref}", total=version.file_count)
        restored = mc.data.checkout(
            version.ref, dest, progress=lambda count: bar.advance(task, count)
        )
    console().print(
        f"Checked out {version.ref} to {restored} ({_summary(version)}, verified).",
        markup=False,
        highlight=False,
    )


@app.command("diff")
def diff(
    a: Annotated[str, typer.Argument(metavar="NAME@A", help="The version to compare from.")],
    b: Annotated[str, typer.Argument(metavar="NAME@B", help="The version to compare to.")],
    as_json: JsonFlag = False,
) -> None:
    """Compare two versions: files added, removed and changed; for tables, the row count and
    each column whose type or statistics changed.

    JSON: {"a", "b", "added", "removed", "changed", "unchanged_count", "row_count_before",
    "row_count_after", "columns": [{"column", "change", "before", "after"}]}.
    """
    import modelcycle as mc

    result = mc.data.diff(a, b)
    if as_json:
        print_json(result.model_dump(mode="json"))
        return
    _print_diff(console(), result)


def _print_diff(out: Console, result: DatasetDiff) -> None:
    from rich.table import Table

    out.print(f"{result.a} → {result.b}", markup=False, highlight=False)
    if result.identical:
        out.print("No differences.")
        return
    for mark, style, paths in (
        ("+", "green", result.added),
        ("-", "red", result.removed),
        ("~", "yellow", result.changed),
    ):
        for path in paths:
            out.print(plain(f"  {mark} {path}", style=style))
    out.print(f"  {result.unchanged_count} file(s) unchanged", highlight=False)
    if result.row_count_before != result.row_count_after:
        out.print(
            f"  rows: {format_value(result.row_count_before)} → "
            f"{format_value(result.row_count_after)}",
            highlight=False,
        )
    if result.columns:
        table = Table("column", "change", "before", "after", title="Columns")
        for change in result.columns:
            table.add_row(
                plain(change.column), plain(change.change),
                plain(_brief(change.before)), plain(_brief(change.after)),
            )  # fmt: skip
        out.print(table)


def _brief(values: dict[str, Any] | None) -> str | None:
    if values is None:
        return None
    return ", ".join(f"{k}={format_value(v)}" for k, v in values.items() if k != "name")


def _summary(version: DatasetVersion) -> str:
    parts = [
        f"{version.file_count} file{'' if version.file_count == 1 else 's'}",
        format_bytes(version.total_size),
    ]
    if version.row_count is not None:
        parts.append(f"{version.row_count} rows")
    return ", ".join(parts)
