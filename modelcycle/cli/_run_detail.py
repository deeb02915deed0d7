"""``runs show`` output: one run's attributes, values, environment, inputs and artifacts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from modelcycle.cli._output import (
    format_bytes,
    format_duration,
    format_time,
    format_value,
    plain,
    run_duration,
    status_text,
)

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

    from modelcycle.tracking.entities import ArtifactInfo, Run

DIGEST_PREFIX = 12
"""Characters of a blake3 digest shown: enough to tell objects apart by eye."""

# Environment keys in the order people look for them; keys not listed follow, sorted.
_ENVIRONMENT_ORDER = (
    "git_commit", "git_dirty", "python_version", "python_implementation", "host", "platform",
    "cpu_count", "memory_bytes", "packages_digest", "entry_point",
)  # fmt: skip


def run_document(run: Run, artifacts: Sequence[ArtifactInfo]) -> dict[str, Any]:
    """The ``--json`` form: the run entity as the REST API sends it, plus its artifacts."""
    return {**run.model_dump(mode="json"), "artifacts": [a.model_dump() for a in artifacts]}


def render_run(out: Console, run: Run, artifacts: Sequence[ArtifactInfo]) -> None:
    """Print the run as a header and one small table per section."""
    from rich.table import Table

    header = Table.grid(padding=(0, 2))
    header.add_column(style="bold")
    header.add_column()
    rows: list[tuple[str, RenderableType]] = [
        ("Run", run.id),
        ("Name", plain(run.name)),
        ("Experiment", plain(f"{run.experiment} (id {run.experiment_id})")),
        ("Status", status_text(run.status.value)),
        ("Started", format_time(run.start_time)),
        ("Ended", format_time(run.end_time)),
        ("Duration", format_duration(run_duration(run.start_time, run.end_time))),
    ]
    if run.parent_run_id:
        rows.append(("Parent run", run.parent_run_id))
    if run.lifecycle_stage != "active":
        rows.append(("Lifecycle", plain(run.lifecycle_stage, "red")))
    for label, value in rows:
        header.add_row(label, value)
    out.print(header)
    _print_pairs(out, "Params", _sorted(run.params))
    _print_pairs(out, "Metrics (latest)", _sorted(run.metrics), value_style="cyan")
    _print_pairs(out, "Tags", _sorted(run.tags))
    _print_pairs(out, "Environment", _environment_rows(run.environment))
    _print_rows(
        out,
        "Inputs",
        ("dataset", "version", "role", "digest"),
        [
            (plain(i.dataset), plain(i.version), plain(i.role), (i.digest or "-")[:DIGEST_PREFIX])
            for i in run.inputs
        ],
    )
    _print_rows(
        out,
        "Artifacts",
        ("path", "size", "digest"),
        [(plain(a.path), format_bytes(a.size), a.digest[:DIGEST_PREFIX]) for a in artifacts],
    )


def _sorted(pairs: Mapping[str, Any]) -> dict[str, Any]:
    return dict(sorted(pairs.items()))


def _environment_rows(environment: Mapping[str, Any]) -> dict[str, str]:
    ordered = [key for key in _ENVIRONMENT_ORDER if key in environment]
    ordered += sorted(key for key in environment if key not in _ENVIRONMENT_ORDER)
    rows = {}
    for key in ordered:
        value = environment[key]
        if key == "memory_bytes" and isinstance(value, int):
            rows[key] = format_bytes(value)
        elif key == "packages_digest" and isinstance(value, str):
            rows[key] = value[:DIGEST_PREFIX]
        else:
            rows[key] = format_value(value)
    return rows


def _print_pairs(
    out: Console, title: str, pairs: Mapping[str, Any], value_style: str | None = None
) -> None:
    """A two-column table of ``pairs``, in the order given."""
    from rich.table import Table

    if not pairs:
        out.print(f"\n[bold]{title}[/]: none")
        return
    table = Table(title=title, title_justify="left", title_style="bold", show_header=False)
    table.add_column("key", style="bold")
    table.add_column("value", style=value_style, overflow="fold")
    for key in pairs:
        table.add_row(plain(key), plain(pairs[key]))
    out.print()
    out.print(table)


def _print_rows(
    out: Console, title: str, headers: Sequence[str], rows: Iterable[Sequence[RenderableType]]
) -> None:
    from rich.table import Table

    materialized = list(rows)
    if not materialized:
        out.print(f"\n[bold]{title}[/]: none")
        return
    table = Table(title=title, title_justify="left", title_style="bold", header_style="bold")
    for header in headers:
        table.add_column(header, overflow="fold", justify="right" if header == "size" else "left")
    for row in materialized:
        table.add_row(*row)
    out.print()
    out.print(table)
